"""A case audit: one child's case file examined by an auditor."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from events.action import Action, check_action_fields
from events.clock import FROM_EVENT, QAAggregate
from events.context import today
from events.rules import (
    AUDIT_TYPES,
    CASE_REF,
    GRADES,
    JUDGEMENT_DOMAINS,
    SERVICE_AREAS,
    Problems,
    Refused,
)

# The fields a correction may change, and the fields that hold personal content
# (a case reference or free text about a child), kept apart for encryption and erasure.
CORRECTABLE = (
    "case_ref",
    "service_area",
    "audit_type",
    "theme",
    "audited_on",
    "judgements",
    "overall_grade",
    "strengths",
    "improvements",
)
PERSONAL_FIELDS = ("case_ref", "strengths", "improvements", "rationale", "reason")


def check_audit_fields(problems: Problems, fields: Mapping[str, Any]) -> None:
    """The rules on an audit's own fields; ``fields`` may hold only some of them."""
    if "case_ref" in fields:
        problems.check(
            isinstance(fields["case_ref"], str) and bool(CASE_REF.match(fields["case_ref"])),
            "case_ref",
            "must be a pseudonymous case number: 3 to 32 letters, digits, - or /, "
            "with at least one digit (never a name)",
        )
    if "service_area" in fields:
        problems.one_of(fields["service_area"], SERVICE_AREAS, "service_area")
    if "audit_type" in fields:
        problems.one_of(fields["audit_type"], AUDIT_TYPES, "audit_type")
    if "audited_on" in fields:
        problems.not_future(fields["audited_on"], today(), "audited_on")
    if "overall_grade" in fields:
        problems.one_of(fields["overall_grade"], GRADES, "overall_grade")
    if "judgements" in fields:
        judgements = fields["judgements"]
        if not isinstance(judgements, Mapping):
            problems.add("judgements", "must map each practice domain to a grade")
        else:
            for domain, grade in judgements.items():
                if problems.check(
                    domain in JUDGEMENT_DOMAINS,
                    f"judgements.{domain}",
                    f"{domain!r} is not a practice domain; the domains are: "
                    + ", ".join(JUDGEMENT_DOMAINS),
                ):
                    problems.one_of(grade, GRADES, f"judgements.{domain}")
    for name in ("strengths", "improvements"):
        if name in fields:
            items = fields[name]
            if not isinstance(items, list | tuple):
                problems.add(name, "must be a list of texts")
                continue
            for i, item in enumerate(items):
                problems.text(item, f"{name}[{i}]", max_length=5000)
    if "theme" in fields and fields["theme"] is not None:
        problems.text(fields["theme"], "theme", max_length=200)


def check_theme(problems: Problems, audit_type: str | None, theme: str | None) -> None:
    if audit_type == "thematic":
        problems.check(bool(theme), "theme", "a thematic audit names its theme")


class CaseAudit(QAAggregate):
    """Never edited: corrections, moderations and withdrawals are new events."""

    class Recorded(QAAggregate.Created):
        case_ref: str
        service_area: str
        audit_type: str
        theme: str | None
        learning_week_id: UUID | None
        audited_on: date
        judgements: dict[str, str]
        overall_grade: str
        strengths: list[str]
        improvements: list[str]
        action_ids: list[UUID]

    @event(Recorded)
    def __init__(
        self,
        id: UUID,  # noqa: A002
        case_ref: str,
        service_area: str,
        audit_type: str,
        theme: str | None,
        learning_week_id: UUID | None,
        audited_on: date,
        judgements: dict[str, str],
        overall_grade: str,
        strengths: list[str],
        improvements: list[str],
        action_ids: list[UUID],
    ) -> None:
        self.case_ref = case_ref
        self.service_area = service_area
        self.audit_type = audit_type
        self.theme = theme
        self.learning_week_id = learning_week_id
        self.audited_on = audited_on
        self.judgements = dict(judgements)
        self.overall_grade = overall_grade
        self.strengths = list(strengths)
        self.improvements = list(improvements)
        self.action_ids = list(action_ids)
        self.moderation: dict[str, Any] | None = None
        self.withdrawn: dict[str, Any] | None = None
        self.corrections = 0

    @property
    def auditor(self) -> str:
        """Who recorded the audit."""
        return self.created_by

    @property
    def grade(self) -> str:
        """The moderated grade once there is one, else the auditor's."""
        return self.moderation["grade"] if self.moderation else self.overall_grade

    def _check_live(self) -> None:
        if self.withdrawn:
            raise Refused("the audit was withdrawn; it can no longer be changed")

    def _check_inadequate_has_action(self, problems: Problems, grade: str, field: str) -> None:
        if grade == "inadequate" and not self.action_ids:
            problems.add(
                field,
                "an audit graded inadequate must raise at least one action for the child",
            )

    def moderate(
        self,
        *,
        grade: str,
        rationale: str,
        effective_on: date,
        actions: Sequence[Mapping[str, Any]],
        new_id: Callable[[], UUID],
    ) -> list[Action]:
        """Confirm or change the grade; may raise further actions. Returns them."""
        self._check_live()
        problems = Problems()
        problems.one_of(grade, GRADES, "grade")
        problems.text(rationale, "rationale", max_length=5000)
        if problems.not_future(effective_on, today(), "effective_on"):
            if effective_on < self.audited_on:
                problems.add(
                    "effective_on",
                    f"must not be before the audit itself ({self.audited_on.isoformat()})",
                )
            elif self.moderation and effective_on < self.moderation["effective_on"]:
                problems.add(
                    "effective_on",
                    "must not be before the last moderation "
                    f"({self.moderation['effective_on'].isoformat()})",
                )
        raised = _raise_actions(problems, actions, new_id, self.id, self.case_ref, effective_on)
        if grade == "inadequate" and not self.action_ids and not actions:
            problems.add(
                "grade",
                "an audit graded inadequate must raise at least one action for the child "
                "(include actions)",
            )
        problems.raise_if_any()
        self._moderated(
            grade=grade,
            previous_grade=self.grade,
            rationale=rationale.strip(),
            effective_on=effective_on,
            action_ids=[a.id for a in raised],
        )
        return raised

    def correct(self, *, changes: Mapping[str, Any], reason: str) -> None:
        """Change named fields of the record, with a reason."""
        self._check_live()
        problems = Problems()
        problems.text(reason, "reason", max_length=2000)
        if not changes:
            problems.add("changes", "name at least one field to correct")
        for name in changes:
            problems.one_of(name, CORRECTABLE, "changes")
        check_audit_fields(problems, changes)
        audit_type = changes.get("audit_type", self.audit_type)
        theme = changes.get("theme", self.theme)
        check_theme(problems, audit_type, theme)
        if audit_type == "learning_week" and self.learning_week_id is None:
            problems.add(
                "learning_week_id",
                "an audit can only become a learning_week audit when it was recorded in a "
                "learning week; withdraw it and record it again in the week",
            )
        if "overall_grade" in changes:
            self._check_inadequate_has_action(problems, changes["overall_grade"], "overall_grade")
        problems.raise_if_any()
        actual = {k: v for k, v in changes.items() if getattr(self, k) != v}
        if not actual:
            raise Refused("the correction changes nothing: the audit already says that")
        self._corrected(
            changes=dict(actual),
            previous={k: getattr(self, k) for k in actual},
            reason=reason.strip(),
        )

    def withdraw(self, *, reason: str, effective_on: date) -> None:
        self._check_live()
        problems = Problems()
        problems.text(reason, "reason", max_length=2000)
        if problems.not_future(effective_on, today(), "effective_on"):
            problems.check(
                effective_on >= self.audited_on,
                "effective_on",
                f"must not be before the audit itself ({self.audited_on.isoformat()})",
            )
        problems.raise_if_any()
        self._withdrawn(reason=reason.strip(), effective_on=effective_on)

    def attach_action(self, *, action_id: UUID) -> None:
        self._check_live()
        self._action_attached(action_id=action_id)

    class Moderated(QAAggregate.Event):
        grade: str
        previous_grade: str
        rationale: str
        effective_on: date
        action_ids: list[UUID]

    @event(Moderated)
    def _moderated(
        self,
        grade: str,
        previous_grade: str,
        rationale: str,
        effective_on: date,
        action_ids: list[UUID],
        actor: str = FROM_EVENT,
    ) -> None:
        self.moderation = {
            "grade": grade,
            "rationale": rationale,
            "effective_on": effective_on,
            "moderator": actor,
        }
        self.action_ids.extend(action_ids)

    class Corrected(QAAggregate.Event):
        changes: dict[str, Any]
        previous: dict[str, Any]
        reason: str

    @event(Corrected)
    def _corrected(self, changes: dict[str, Any], previous: dict[str, Any], reason: str) -> None:
        for name, value in changes.items():
            setattr(self, name, value)
        self.corrections += 1

    class Withdrawn(QAAggregate.Event):
        reason: str
        effective_on: date

    @event(Withdrawn)
    def _withdrawn(self, reason: str, effective_on: date, actor: str = FROM_EVENT) -> None:
        self.withdrawn = {"reason": reason, "effective_on": effective_on, "by": actor}

    class ActionAttached(QAAggregate.Event):
        action_id: UUID

    @event(ActionAttached)
    def _action_attached(self, action_id: UUID) -> None:
        self.action_ids.append(action_id)


def record_audit(
    *,
    id: UUID,  # noqa: A002
    fields: Mapping[str, Any],
    actions: Sequence[Mapping[str, Any]],
    new_id: Callable[[], UUID],
) -> tuple[CaseAudit, list[Action]]:
    """Check a whole new audit and its remedial actions; return them to save together."""
    problems = Problems()
    fields = {**fields, "audited_on": fields.get("audited_on") or today()}
    required = ("case_ref", "service_area", "audit_type", "overall_grade")
    for name in required:
        problems.check(fields.get(name) is not None, name, "is required")
    present = {k: v for k, v in fields.items() if v is not None}
    check_audit_fields(problems, present)
    check_theme(problems, fields.get("audit_type"), fields.get("theme"))
    if fields.get("audit_type") == "learning_week":
        problems.check(
            fields.get("learning_week_id") is not None,
            "learning_week_id",
            "a learning_week audit names its learning week",
        )
    audited_on = fields["audited_on"]
    raised = _raise_actions(problems, actions, new_id, id, fields.get("case_ref"), audited_on)
    if fields.get("overall_grade") == "inadequate" and not actions:
        problems.add(
            "actions",
            "an audit graded inadequate must raise at least one action for the child",
        )
    problems.raise_if_any()
    audit = CaseAudit(
        id=id,
        case_ref=fields["case_ref"],
        service_area=fields["service_area"],
        audit_type=fields["audit_type"],
        theme=fields.get("theme"),
        learning_week_id=fields.get("learning_week_id"),
        audited_on=fields["audited_on"],
        judgements=dict(fields.get("judgements") or {}),
        overall_grade=fields["overall_grade"],
        strengths=list(fields.get("strengths") or []),
        improvements=list(fields.get("improvements") or []),
        action_ids=[a.id for a in raised],
    )
    return audit, raised


def _raise_actions(
    problems: Problems,
    actions: Sequence[Mapping[str, Any]],
    new_id: Callable[[], UUID],
    audit_id: UUID,
    case_ref: str | None,
    effective_on: date,
) -> list[Action]:
    """Check remedial actions (errors named ``actions[i].field``); build them if all pass."""
    for i, spec in enumerate(actions):
        check_action_fields(
            problems,
            f"actions[{i}].",
            description=spec.get("description"),
            owners=spec.get("owners"),
            due_on=spec.get("due_on"),
            due_required=True,
            not_before=effective_on,
        )
    if problems.errors:
        return []
    return [
        Action.raise_action(
            id=new_id(),
            origin="audit",
            audit_id=audit_id,
            case_ref=case_ref,
            description=spec["description"],
            owners=spec["owners"],
            due_on=spec["due_on"],
            effective_on=min(effective_on, today()),
        )
        for spec in actions
    ]
