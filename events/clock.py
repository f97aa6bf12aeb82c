"""When events are recorded, and by whom: the base of this domain's aggregates.

Every event carries ``timestamp``, the moment the service recorded it (``recorded_at``).
By default that is now (UTC). The application runs each command under its own clock,
so tests and the demo's simulated history can say when things were recorded.

Every event also carries ``actor`` and ``actor_role``, taken from ``events.context``
when the event is made (never passed by the caller). A stored event keeps the values it
was saved with: the library decodes a stored event's state straight into its
attributes, so replay never asks the context.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from eventsourcing.domain import Aggregate

from events.context import current_actor, current_role

_clock: ContextVar[Callable[[], datetime] | None] = ContextVar("recording_clock", default=None)

# The default of an event method's ``actor`` parameter, never used: see QAAggregate.
FROM_EVENT: Final = ""


def recorded_now() -> datetime:
    clock = _clock.get()
    moment = clock() if clock else datetime.now(UTC)
    return moment.astimezone(UTC)


@contextmanager
def recording_clock(clock: Callable[[], datetime]) -> Iterator[None]:
    token = _clock.set(clock)
    try:
        yield
    finally:
        _clock.reset(token)


class QAAggregate(Aggregate):
    """The base of this domain's aggregates: their events take the recording clock and
    the acting user.

    Each aggregate declares its event classes and their fields just above the method that
    ``@event(...)`` applies them (the library's explicit style, so that a type checker
    knows the fields the projections read); the method's parameters are the class's
    fields. No event class declares ``actor``: an event method that keeps who did it in
    the aggregate's state declares ``actor: str = FROM_EVENT``, and because the parameter
    has a default, the library keeps the event's own ``actor`` field (set from the
    context, not by the caller) and passes its value to the method, when the event is
    recorded and on replay alike. An ``__init__`` cannot (the library would hand the
    default to the created event), so who recorded an aggregate's first event is
    ``created_by``, as the library's ``created_on`` is when.
    """

    if TYPE_CHECKING:  # set by Created.apply; a class annotation would make a dataclass
        created_by: str

    class Event(Aggregate.Event):
        actor: str = field(default_factory=current_actor, init=False)
        actor_role: str = field(default_factory=current_role, init=False)

        @staticmethod
        def create_timestamp() -> datetime:
            return recorded_now()

    class Created(Event, Aggregate.Created):
        def apply(self, aggregate: Any) -> None:
            aggregate.created_by = self.actor
