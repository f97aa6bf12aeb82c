"""An action: one thing someone must do by a date, raised by a plan or an audit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from events.clock import QAAggregate
from events.context import today
from events.rules import (
    ACTION_STATUSES,
    CLOSED_STATUSES,
    TRANSITIONS,
    Problems,
    Refused,
)

ORIGINS = ("plan", "audit")


def check_action_fields(
    problems: Problems,
    prefix: str,
    *,
    description: Any,
    owners: Any,
    due_on: date | None,
    due_required: bool,
    not_before: date | None = None,
) -> None:
    """The rules every action obeys, whichever way it is raised."""
    problems.text(description, f"{prefix}description", max_length=2000)
    check_owners(problems, f"{prefix}owners", owners)
    if due_on is None:
        problems.check(not due_required, f"{prefix}due_on", "a due date is required")
    elif not_before is not None:
        problems.check(
            due_on >= not_before,
            f"{prefix}due_on",
            f"must not be before {not_before.isoformat()}",
        )


def check_owners(problems: Problems, field: str, owners: Any) -> None:
    if not isinstance(owners, list | tuple) or not owners:
        problems.add(field, "at least one owner is required")
        return
    for owner in owners:
        if not isinstance(owner, str) or not owner.strip():
            problems.add(field, "an owner must not be blank")
            return
    if len(set(owners)) != len(owners):
        problems.add(field, "an owner is named twice")


class Action(QAAggregate):
    """The shared lifecycle of plan and audit actions.

    Personal content: ``description`` (free text) and ``case_ref`` on audit actions.
    """

    @classmethod
    def raise_action(
        cls,
        *,
        id: UUID,  # noqa: A002
        origin: str,
        description: str | None,
        owners: Sequence[str],
        due_on: date | None,
        effective_on: date,
        plan_id: UUID | None = None,
        recommendation: int | None = None,
        audit_id: UUID | None = None,
        case_ref: str | None = None,
        field_prefix: str = "",
    ) -> Action:
        problems = Problems()
        problems.one_of(origin, ORIGINS, "origin")
        problems.not_future(effective_on, today(), f"{field_prefix}effective_on")
        check_action_fields(
            problems,
            field_prefix,
            description=description,
            owners=owners,
            due_on=due_on,
            due_required=origin == "audit",
            not_before=effective_on if origin == "audit" else None,
        )
        if origin == "plan":
            problems.check(plan_id is not None, "plan_id", "a plan action names its plan")
            problems.check(
                recommendation is not None,
                "recommendation",
                "a plan action names its recommendation",
            )
        if origin == "audit":
            problems.check(audit_id is not None, "audit_id", "an audit action names its audit")
        problems.raise_if_any()
        assert description is not None  # a blank or missing description was refused above
        return cls(
            id=id,
            origin=origin,
            plan_id=plan_id,
            recommendation=recommendation,
            audit_id=audit_id,
            case_ref=case_ref,
            description=description.strip(),
            owners=list(owners),
            due_on=due_on,
            effective_on=effective_on,
        )

    class Raised(QAAggregate.Created):
        origin: str
        plan_id: UUID | None
        recommendation: int | None
        audit_id: UUID | None
        case_ref: str | None
        description: str
        owners: list[str]
        due_on: date | None
        effective_on: date

    @event(Raised)
    def __init__(
        self,
        id: UUID,  # noqa: A002
        origin: str,
        plan_id: UUID | None,
        recommendation: int | None,
        audit_id: UUID | None,
        case_ref: str | None,
        description: str,
        owners: list[str],
        due_on: date | None,
        effective_on: date,
    ) -> None:
        self.origin = origin
        self.plan_id = plan_id
        self.recommendation = recommendation
        self.audit_id = audit_id
        self.case_ref = case_ref
        self.description = description
        self.owners = list(owners)
        self.due_on = due_on
        self.raised_on = effective_on
        self.status = "not_started"
        self.status_since = effective_on
        self.status_reason: str | None = None
        self.due_since = effective_on
        self.owners_since = effective_on

    @property
    def raised_by(self) -> str:
        return self.created_by

    # Commands: check, then record one event.

    def change_status(self, *, status: str, effective_on: date, reason: str | None) -> None:
        problems = Problems()
        problems.one_of(status, ACTION_STATUSES, "status")
        problems.raise_if_any()
        if status == self.status:
            raise Refused(f"the action is already {status}")
        if status not in TRANSITIONS[self.status]:
            raise Refused(f"an action cannot move from {self.status} to {status}")
        self._check_effective_on(
            problems, effective_on, since=self.status_since, what="its status last changed"
        )
        if self.status in CLOSED_STATUSES:
            why = "reopening an action"
        elif status == "cancelled":
            why = "cancelling an action"
        elif status == "not_started":
            why = "moving an action back to not_started"
        else:
            why = None
        if why and not (isinstance(reason, str) and reason.strip()):
            problems.add("reason", f"a reason is required when {why}")
        problems.raise_if_any()
        self._status_changed(
            status=status,
            effective_on=effective_on,
            reason=_clean(reason),
        )

    def reschedule(self, *, due_on: date | None, effective_on: date, reason: str) -> None:
        problems = Problems()
        self._check_effective_on(
            problems, effective_on, since=self.due_since, what="its due date last changed"
        )
        problems.text(reason, "reason", max_length=2000)
        if due_on is None:
            problems.check(self.origin != "audit", "due_on", "a due date is required")
        elif self.origin == "audit":
            problems.check(
                due_on >= self.raised_on,
                "due_on",
                f"must not be before {self.raised_on.isoformat()}, when it was raised",
            )
        problems.raise_if_any()
        if due_on == self.due_on:
            raise Refused(f"the action is already due on {_show(due_on)}")
        self._rescheduled(
            due_on=due_on,
            previous_due_on=self.due_on,
            effective_on=effective_on,
            reason=reason.strip(),
        )

    def reassign(
        self,
        *,
        owners: Sequence[str],
        effective_on: date,
        reason: str,
        check: Problems | None = None,
    ) -> None:
        problems = check or Problems()
        self._check_effective_on(
            problems, effective_on, since=self.owners_since, what="its owners last changed"
        )
        problems.text(reason, "reason", max_length=2000)
        check_owners(problems, "owners", owners)
        problems.raise_if_any()
        if list(owners) == self.owners:
            raise Refused("the action already has exactly those owners")
        self._reassigned(
            owners=list(owners),
            previous_owners=list(self.owners),
            effective_on=effective_on,
            reason=reason.strip(),
        )

    def _check_effective_on(
        self, problems: Problems, effective_on: date, *, since: date, what: str
    ) -> None:
        if problems.not_future(effective_on, today(), "effective_on"):
            problems.check(
                effective_on >= since,
                "effective_on",
                f"must not be before {since.isoformat()}, when {what}",
            )

    # Events: they only change state, and run again on replay.

    class StatusChanged(QAAggregate.Event):
        status: str
        effective_on: date
        reason: str | None

    @event(StatusChanged)
    def _status_changed(self, status: str, effective_on: date, reason: str | None) -> None:
        self.status = status
        self.status_since = effective_on
        self.status_reason = reason

    class Rescheduled(QAAggregate.Event):
        due_on: date | None
        previous_due_on: date | None
        effective_on: date
        reason: str

    @event(Rescheduled)
    def _rescheduled(
        self,
        due_on: date | None,
        previous_due_on: date | None,
        effective_on: date,
        reason: str,
    ) -> None:
        self.due_on = due_on
        self.due_since = effective_on

    class Reassigned(QAAggregate.Event):
        owners: list[str]
        previous_owners: list[str]
        effective_on: date
        reason: str

    @event(Reassigned)
    def _reassigned(
        self,
        owners: list[str],
        previous_owners: list[str],
        effective_on: date,
        reason: str,
    ) -> None:
        self.owners = list(owners)
        self.owners_since = effective_on


def _clean(text: str | None) -> str | None:
    return text.strip() if isinstance(text, str) and text.strip() else None


def _show(day: date | None) -> str:
    return day.isoformat() if day else "a date to be confirmed"
