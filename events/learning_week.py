"""A Listening and Learning week: audits, family feedback and findings."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from events.clock import QAAggregate
from events.context import today
from events.rules import FINDING_KINDS, RESPONDENTS, Problems, Refused

PERSONAL_FIELDS = ("comment", "text")
LONGEST_WEEK_DAYS = 31


class LearningWeek(QAAggregate):
    @classmethod
    def open(
        cls,
        *,
        id: UUID,  # noqa: A002
        title: str,
        starts_on: date,
        ends_on: date,
    ) -> LearningWeek:
        problems = Problems()
        problems.text(title, "title", max_length=300)
        problems.not_future(starts_on, today(), "starts_on")
        if problems.check(ends_on >= starts_on, "ends_on", "must not be before starts_on"):
            problems.check(
                (ends_on - starts_on).days < LONGEST_WEEK_DAYS,
                "ends_on",
                f"a learning week lasts at most {LONGEST_WEEK_DAYS} days",
            )
        problems.raise_if_any()
        return cls(
            id=id,
            title=title.strip(),
            starts_on=starts_on,
            ends_on=ends_on,
        )

    class Opened(QAAggregate.Created):
        title: str
        starts_on: date
        ends_on: date

    @event(Opened)
    def __init__(self, id: UUID, title: str, starts_on: date, ends_on: date) -> None:
        self.title = title
        self.starts_on = starts_on
        self.ends_on = ends_on
        self.audit_ids: list[UUID] = []
        self.feedback: list[dict[str, Any]] = []
        self.findings: list[dict[str, Any]] = []
        self.closed_on: date | None = None

    def _check_open(self) -> None:
        if self.closed_on is not None:
            raise Refused(f"the learning week was closed on {self.closed_on.isoformat()}")

    def _check_effective_on(self, problems: Problems, effective_on: date) -> None:
        if problems.not_future(effective_on, today(), "effective_on"):
            problems.check(
                effective_on >= self.starts_on,
                "effective_on",
                f"must not be before the week started ({self.starts_on.isoformat()})",
            )

    def add_audit(self, *, audit_id: UUID, audited_on: date) -> None:
        self._check_open()
        problems = Problems()
        problems.check(
            audited_on >= self.starts_on,
            "audited_on",
            f"an audit in this learning week cannot be before it started "
            f"({self.starts_on.isoformat()})",
        )
        problems.raise_if_any()
        self._audit_added(audit_id=audit_id)

    def record_feedback(
        self,
        *,
        respondent: str,
        satisfaction: int,
        knew_why_involved: bool | None,
        comment: str | None,
        effective_on: date,
    ) -> None:
        """``knew_why_involved`` is None when the family did not answer that question."""
        self._check_open()
        problems = Problems()
        problems.one_of(respondent, RESPONDENTS, "respondent")
        problems.check(
            isinstance(satisfaction, int)
            and not isinstance(satisfaction, bool)
            and 0 <= satisfaction <= 10,
            "satisfaction",
            "must be a whole number from 0 to 10",
        )
        problems.check(
            knew_why_involved is None or isinstance(knew_why_involved, bool),
            "knew_why_involved",
            "must be true, false or null (not answered)",
        )
        if comment is not None:
            problems.text(comment, "comment", max_length=5000)
        self._check_effective_on(problems, effective_on)
        problems.raise_if_any()
        self._feedback_recorded(
            respondent=respondent,
            satisfaction=satisfaction,
            knew_why_involved=knew_why_involved,
            comment=comment.strip() if comment else None,
            effective_on=effective_on,
        )

    def record_finding(self, *, kind: str, theme: str, text: str, effective_on: date) -> None:
        self._check_open()
        problems = Problems()
        problems.one_of(kind, FINDING_KINDS, "kind")
        problems.text(theme, "theme", max_length=200)
        problems.text(text, "text", max_length=5000)
        self._check_effective_on(problems, effective_on)
        problems.raise_if_any()
        self._finding_recorded(
            kind=kind,
            theme=theme.strip(),
            text=text.strip(),
            effective_on=effective_on,
        )

    def close(self, *, effective_on: date) -> None:
        self._check_open()
        problems = Problems()
        self._check_effective_on(problems, effective_on)
        problems.raise_if_any()
        self._closed(effective_on=effective_on)

    class AuditAdded(QAAggregate.Event):
        audit_id: UUID

    @event(AuditAdded)
    def _audit_added(self, audit_id: UUID) -> None:
        self.audit_ids.append(audit_id)

    class FeedbackRecorded(QAAggregate.Event):
        respondent: str
        satisfaction: int
        knew_why_involved: bool | None
        comment: str | None
        effective_on: date

    @event(FeedbackRecorded)
    def _feedback_recorded(
        self,
        respondent: str,
        satisfaction: int,
        knew_why_involved: bool | None,
        comment: str | None,
        effective_on: date,
    ) -> None:
        self.feedback.append(
            {
                "respondent": respondent,
                "satisfaction": satisfaction,
                "knew_why_involved": knew_why_involved,
                "comment": comment,
                "effective_on": effective_on,
            }
        )

    class FindingRecorded(QAAggregate.Event):
        kind: str
        theme: str
        text: str
        effective_on: date

    @event(FindingRecorded)
    def _finding_recorded(self, kind: str, theme: str, text: str, effective_on: date) -> None:
        self.findings.append(
            {"kind": kind, "theme": theme, "text": text, "effective_on": effective_on}
        )

    class Closed(QAAggregate.Event):
        effective_on: date

    @event(Closed)
    def _closed(self, effective_on: date) -> None:
        self.closed_on = effective_on
