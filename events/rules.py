"""The words of the domain, and the errors its rules raise.

Values are plain strings in events (the library turns StrEnum back into str on
replay), so the vocabularies here are tuples of the allowed strings.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from datetime import date
from typing import TypeVar

GRADES = ("outstanding", "good", "requires_improvement", "inadequate")
GOOD_OR_BETTER = ("outstanding", "good")
RAGS = ("green", "amber", "red")
SERVICE_AREAS = (
    "front_door",
    "early_help",
    "assessment",
    "children_in_need",
    "child_protection",
    "children_looked_after",
    "care_leavers",
    "complex_needs",
    "lado",
    "proceedings",
    "private_fostering",
    "young_carers",
    "other",
)
AUDIT_TYPES = ("core", "thematic", "learning_week", "observation", "dip_sample")
ACTION_STATUSES = ("not_started", "in_progress", "completed", "cancelled")
CLOSED_STATUSES = ("completed", "cancelled")
RESPONDENTS = ("parent", "child", "young_person", "carer")
FINDING_KINDS = ("strength", "improvement")
ROLES = ("auditor", "manager", "inspector", "admin")
# The practice domains an audit judges: PRODUCT.md's six, and three the source audit
# tools also grade (supervision, direct work with the child, the chronology).
JUDGEMENT_DOMAINS = (
    "assessment",
    "planning",
    "voice_of_child",
    "management_oversight",
    "recording",
    "visits",
    "supervision",
    "direct_work",
    "chronology",
)

# A case reference is a pseudonymous case number: letters, digits and - or /,
# with at least one digit, so that a child's name is never accepted as one.
CASE_REF = re.compile(r"^(?=.*\d)[A-Za-z0-9][A-Za-z0-9/-]{2,31}$")
INITIALS = re.compile(r"^[A-Z][A-Za-z]{0,4}[0-9]?$")

# Which status an action may move to from each status. Reopening a completed or
# cancelled action moves it back to in_progress or not_started.
TRANSITIONS: Mapping[str, tuple[str, ...]] = {
    "not_started": ("in_progress", "completed", "cancelled"),
    "in_progress": ("not_started", "completed", "cancelled"),
    "completed": ("in_progress", "not_started"),
    "cancelled": ("in_progress", "not_started"),
}

T = TypeVar("T")


class DomainError(Exception):
    """Something the domain refused. Nothing was recorded."""


class InvalidInput(DomainError):
    """One or more fields break a rule: ``errors`` maps each field to its messages."""

    def __init__(self, errors: Mapping[str, list[str]]):
        self.errors = {field: list(messages) for field, messages in errors.items()}
        super().__init__("; ".join(f"{f}: {m}" for f, ms in self.errors.items() for m in ms))


class Refused(DomainError):
    """A valid request that the entity's current state does not allow (a conflict)."""


class Problems:
    """Collects rule breaches so a caller hears of all of them at once."""

    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        self.errors.setdefault(field, []).append(message)

    def check(self, condition: bool, field: str, message: str) -> bool:
        if not condition:
            self.add(field, message)
        return condition

    def one_of(self, value: object, allowed: Iterable[str], field: str) -> bool:
        allowed = tuple(allowed)
        return self.check(value in allowed, field, f"must be one of: {', '.join(allowed)}")

    def text(self, value: object, field: str, *, max_length: int = 10_000) -> bool:
        if not isinstance(value, str) or not value.strip():
            self.add(field, "must not be blank")
            return False
        return self.check(
            len(value) <= max_length, field, f"must be at most {max_length} characters"
        )

    def not_future(self, value: date, today: date, field: str) -> bool:
        return self.check(
            value <= today,
            field,
            f"{value.isoformat()} is in the future (today is {today.isoformat()})",
        )

    def raise_if_any(self) -> None:
        if self.errors:
            raise InvalidInput(self.errors)

    def collect(
        self, prefix: str, step: Callable[[], T], refused_field: str | None = None
    ) -> T | None:
        """Run one step of a larger command and gather its errors under ``prefix``
        (e.g. ``recommendations[3].``), so the caller hears of every step's errors at
        once. A refusal is gathered too, as ``refused_field``'s, if one is named.
        Returns the step's result, or None if it failed."""
        try:
            return step()
        except InvalidInput as error:
            for field, messages in error.errors.items():
                for message in messages:
                    self.add(f"{prefix}{field}", message)
        except Refused as error:
            if refused_field is None:
                raise
            self.add(f"{prefix}{refused_field}", str(error))
        return None
