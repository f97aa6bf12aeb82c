"""A sentence per event, for people: the trail's ``summary`` column.

One function per event type (``functools.singledispatch``), so a new event type adds its
sentence here and nothing else changes.
"""

from __future__ import annotations

from datetime import date
from functools import singledispatch
from typing import Any

from events import Action, CaseAudit, ImprovementPlan, LearningWeek


def _show(day: date | None) -> str:
    return day.isoformat() if day else "to be confirmed"


@singledispatch
def describe(event: Any) -> str:
    """A sentence for people; an event type without its own says its name."""
    return type(event).__qualname__


@describe.register
def _(e: CaseAudit.Recorded) -> str:
    return (
        f"Audit recorded: {e.audit_type} audit of case {e.case_ref} ({e.service_area}), "
        f"audited on {e.audited_on.isoformat()}, graded {e.overall_grade}"
        + (f", with {len(e.action_ids)} action(s)" if e.action_ids else "")
    )


@describe.register
def _(e: CaseAudit.Corrected) -> str:
    changes = "; ".join(f"{k}: {e.previous.get(k)!r} to {v!r}" for k, v in e.changes.items())
    return f"Audit corrected: {changes}"


@describe.register
def _(e: CaseAudit.Moderated) -> str:
    verdict = "confirmed" if e.grade == e.previous_grade else f"changed from {e.previous_grade}"
    return f"Audit moderated: grade {e.grade} ({verdict})"


@describe.register
def _(e: CaseAudit.Withdrawn) -> str:
    return "Audit withdrawn"


@describe.register
def _(e: CaseAudit.ActionAttached) -> str:
    return f"Action {e.action_id} raised on the audit"


@describe.register
def _(e: Action.Raised) -> str:
    where = f"recommendation {e.recommendation}" if e.origin == "plan" else f"case {e.case_ref}"
    return (
        f"Action raised on {where}: {e.description} (owners {', '.join(e.owners)}; "
        f"due {_show(e.due_on)})"
    )


@describe.register
def _(e: Action.StatusChanged) -> str:
    return f"Status changed to {e.status} from {e.effective_on.isoformat()}"


@describe.register
def _(e: Action.Rescheduled) -> str:
    return f"Due date changed from {_show(e.previous_due_on)} to {_show(e.due_on)}"


@describe.register
def _(e: Action.Reassigned) -> str:
    return f"Owners changed from {', '.join(e.previous_owners)} to {', '.join(e.owners)}"


@describe.register
def _(e: ImprovementPlan.Created) -> str:
    return f"Plan created: {e.title}, published {e.published_on.isoformat()}"


@describe.register
def _(e: ImprovementPlan.LeadAdded) -> str:
    return f"Key lead added: {e.initials}, {e.name}" + (f", {e.job_title}" if e.job_title else "")


@describe.register
def _(e: ImprovementPlan.RecommendationAdded) -> str:
    text = e.text if len(e.text) <= 120 else e.text[:117] + "..."
    return f"Recommendation {e.number} added ({e.area}): {text}"


@describe.register
def _(e: ImprovementPlan.ActionAttached) -> str:
    return f"Action {e.action_id} added to recommendation {e.recommendation}"


@describe.register
def _(e: ImprovementPlan.ReviewRecorded) -> str:
    return (
        f"{e.quarter} review of recommendation {e.recommendation}: progress {e.progress}, "
        f"impact {e.impact}"
    )


@describe.register
def _(e: LearningWeek.Opened) -> str:
    return f"Learning week opened: {e.title}, {e.starts_on.isoformat()} to {e.ends_on.isoformat()}"


@describe.register
def _(e: LearningWeek.Closed) -> str:
    return "Learning week closed"


@describe.register
def _(e: LearningWeek.AuditAdded) -> str:
    return f"Audit {e.audit_id} added to the learning week"


@describe.register
def _(e: LearningWeek.FeedbackRecorded) -> str:
    knew = {True: "knew", False: "did not know", None: "did not say whether they knew"}[
        e.knew_why_involved
    ]
    return (
        f"Family feedback from a {e.respondent}: satisfaction {e.satisfaction}/10, "
        f"{knew} why the service was involved"
    )


@describe.register
def _(e: LearningWeek.FindingRecorded) -> str:
    return f"Finding ({e.kind}, {e.theme}): {e.text}"
