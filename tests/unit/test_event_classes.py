"""Each event class declares exactly the fields its ``@event`` method takes.

The aggregates declare their event classes (so that the type checker knows the fields
the projections read) and the method that applies each one repeats them as its
parameters. The library drops a keyword the class does not declare, so a parameter
added to the method alone, with a default, would be silently lost: this says so first.
"""

from __future__ import annotations

import dataclasses
import inspect

import pytest
from eventsourcing.domain import CommandMethodDecorator

from events import Action, CaseAudit, ImprovementPlan, LearningWeek

# Every event has these from the library (and the clock); ``actor`` comes from the context.
SET_FOR_EVERY_EVENT = {"originator_id", "originator_version", "timestamp", "originator_topic"}
NOT_A_FIELD = {"self", "id", "actor"}

DECORATED = [
    pytest.param(decorator, id=f"{aggregate.__name__}.{decorator.given_event_cls.__name__}")
    for aggregate in (Action, CaseAudit, ImprovementPlan, LearningWeek)
    for decorator in vars(aggregate).values()
    if isinstance(decorator, CommandMethodDecorator)
]


def test_every_event_method_names_its_class():
    assert len(DECORATED) == 19
    assert all(param.values[0].given_event_cls is not None for param in DECORATED)


@pytest.mark.parametrize("decorator", DECORATED)
def test_an_event_class_declares_the_fields_its_method_takes(decorator):
    method = inspect.signature(decorator.decorated_func).parameters
    declared = {f.name for f in dataclasses.fields(decorator.given_event_cls) if f.init}
    assert declared - SET_FOR_EVERY_EVENT == set(method) - NOT_A_FIELD
