"""Listening and Learning weeks and their summary, as of any date.

The week's audits come from the audit register (audits that name the week); family
feedback and findings are facts with the date they took effect and the time recorded.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from functools import singledispatchmethod
from typing import Any
from uuid import UUID

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Date,
    Integer,
    MetaData,
    String,
    func,
    select,
)

from events import LearningWeek
from events.rules import GOOD_OR_BETTER
from projections.audits import audit_filters, audit_versions, grade_counts
from projections.base import FactsProjection, as_known, changes_of, facts_of, versions_known

metadata = MetaData()


weeks = facts_of(
    metadata,
    "learning_weeks",
    "week_id",
    Column("title", String, nullable=False),
    Column("ends_on", Date, nullable=False),
)
week_changes = changes_of(metadata, "learning_week_changes", "week_id")
week_closures = facts_of(metadata, "learning_week_closures", "week_id")
week_feedback = facts_of(
    metadata,
    "learning_week_feedback",
    "week_id",
    Column("respondent", String(20), nullable=False),
    Column("satisfaction", Integer, nullable=False),
    Column("knew_why_involved", Boolean),  # null: the family did not answer
    Column("comment", String),
)
week_findings = facts_of(
    metadata,
    "learning_week_findings",
    "week_id",
    Column("kind", String(20), nullable=False),
    Column("theme", String, nullable=False),
    Column("text", String, nullable=False),
)


class LearningWeeksProjection(FactsProjection):
    name = "learning_weeks"
    metadata = metadata
    key = "week_id"
    changes = week_changes

    @singledispatchmethod
    def handle(self, event: Any, conn: Connection, position: int) -> None:
        """Events this read model does not need are skipped (and still tracked)."""

    @handle.register
    def _(self, event: LearningWeek.Opened, conn: Connection, position: int) -> None:
        self.add_fact(
            weeks, event, position, effective_on=event.starts_on, title=event.title,
            ends_on=event.ends_on,
        )  # fmt: skip

    @handle.register
    def _(self, event: LearningWeek.Closed, conn: Connection, position: int) -> None:
        self.add_fact(week_closures, event, position, effective_on=event.effective_on)

    @handle.register
    def _(self, event: LearningWeek.FeedbackRecorded, conn: Connection, position: int) -> None:
        self.add_fact(
            week_feedback, event, position, effective_on=event.effective_on,
            respondent=event.respondent, satisfaction=event.satisfaction,
            knew_why_involved=event.knew_why_involved, comment=event.comment,
        )  # fmt: skip

    @handle.register
    def _(self, event: LearningWeek.FindingRecorded, conn: Connection, position: int) -> None:
        self.add_fact(
            week_findings, event, position, effective_on=event.effective_on,
            kind=event.kind, theme=event.theme, text=event.text,
        )  # fmt: skip

    @handle.register
    def _(self, event: LearningWeek.AuditAdded, conn: Connection, position: int) -> None:
        self.changed(event, position)


# Queries.


def _figures(conn: Connection, week_id: UUID, as_of: date, known_at_us: int) -> dict[str, Any]:
    grades = Counter(
        g
        for (g,) in conn.execute(
            select(audit_versions.c.grade).where(
                *audit_filters(as_of, known_at_us, learning_week_id=week_id)
            )
        )
    )
    feedback = (
        conn.execute(
            select(week_feedback)
            .where(week_feedback.c.week_id == week_id, *as_known(week_feedback, as_of, known_at_us))
            .order_by(week_feedback.c.position)
        )
        .mappings()
        .all()
    )
    findings = (
        conn.execute(
            select(week_findings)
            .where(week_findings.c.week_id == week_id, *as_known(week_findings, as_of, known_at_us))
            .order_by(week_findings.c.position)
        )
        .mappings()
        .all()
    )
    count = len(feedback)
    answers = [f["knew_why_involved"] for f in feedback if f["knew_why_involved"] is not None]
    audits = grade_counts(grades)
    return {
        "audits": audits["total"],
        "grades": audits["counts"],
        "good_or_better": sum(grades[g] for g in GOOD_OR_BETTER),
        "share_good_or_better": audits["good_or_better"],
        "feedback_count": count,
        "mean_satisfaction": (
            round(sum(f["satisfaction"] for f in feedback) / count, 1) if count else None
        ),
        # A share of the families who answered that question (not all do).
        "knew_why_answered": len(answers),
        "share_knew_why_involved": round(sum(answers) / len(answers), 3) if answers else None,
        "feedback": [dict(f) for f in feedback],
        "findings": {
            "strength": [dict(f) for f in findings if f["kind"] == "strength"],
            "improvement": [dict(f) for f in findings if f["kind"] == "improvement"],
        },
    }


COMPARED = ("audits", "share_good_or_better", "feedback_count", "mean_satisfaction",
            "share_knew_why_involved")  # fmt: skip


def week_summaries(
    conn: Connection, as_of: date, known_at_us: int, *, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """The weeks started by ``as_of`` and recorded by ``known_at``, latest first, each with
    its counts as of that day (the same audits and feedback its summary counts); and how
    many there are in all."""
    where = as_known(weeks, as_of, known_at_us)
    total = conn.execute(select(func.count()).select_from(weeks).where(*where)).scalar()
    page = conn.execute(
        select(weeks.c.week_id, weeks.c.title, weeks.c.effective_on, weeks.c.ends_on)
        .where(*where)
        .order_by(weeks.c.effective_on.desc(), weeks.c.position.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    ids = [row.week_id for row in page]
    version_of = versions_known(conn, week_changes, "week_id", ids, known_at_us)
    closed = dict(
        conn.execute(
            select(week_closures.c.week_id, week_closures.c.effective_on).where(
                week_closures.c.week_id.in_(ids), *as_known(week_closures, as_of, known_at_us)
            )
        ).all()
    )
    week_of = audit_versions.c.learning_week_id
    audits: dict[UUID, int] = dict(
        conn.execute(
            select(week_of, func.count())
            .where(week_of.in_(ids), *audit_filters(as_of, known_at_us))
            .group_by(week_of)
        ).all()
    )
    feedback: dict[UUID, int] = dict(
        conn.execute(
            select(week_feedback.c.week_id, func.count())
            .where(week_feedback.c.week_id.in_(ids), *as_known(week_feedback, as_of, known_at_us))
            .group_by(week_feedback.c.week_id)
        ).all()
    )
    items = [
        {
            "id": row.week_id,
            "version": version_of.get(row.week_id),
            "title": row.title,
            "starts_on": row.effective_on,
            "ends_on": row.ends_on,
            "closed_on": closed.get(row.week_id),
            "audits": audits.get(row.week_id, 0),
            "feedback_count": feedback.get(row.week_id, 0),
        }
        for row in page
    ]
    return items, int(total or 0)


def week_summary(
    conn: Connection, week_id: UUID, as_of: date, known_at_us: int
) -> dict[str, Any] | None:
    week = conn.execute(
        select(weeks).where(weeks.c.week_id == week_id, *as_known(weeks, as_of, known_at_us))
    ).first()
    if week is None:
        return None
    version = conn.execute(
        select(func.max(week_changes.c.version)).where(
            week_changes.c.week_id == week_id, week_changes.c.recorded_us <= known_at_us
        )
    ).scalar()
    closed_on = conn.execute(
        select(week_closures.c.effective_on).where(
            week_closures.c.week_id == week_id, *as_known(week_closures, as_of, known_at_us)
        )
    ).scalar()
    figures = _figures(conn, week_id, as_of, known_at_us)
    previous = conn.execute(
        select(weeks.c.week_id, weeks.c.title, weeks.c.effective_on)
        .where(weeks.c.effective_on < week.effective_on, *as_known(weeks, as_of, known_at_us))
        .order_by(weeks.c.effective_on.desc())
        .limit(1)
    ).first()
    comparison = None
    if previous is not None:
        before = _figures(conn, previous.week_id, as_of, known_at_us)
        comparison = {
            "previous_week_id": previous.week_id,
            "previous_title": previous.title,
            "previous_starts_on": previous.effective_on,
            "previous": {k: before[k] for k in COMPARED},
            "change": {
                k: (
                    round(figures[k] - before[k], 3)
                    if figures[k] is not None and before[k] is not None
                    else None
                )
                for k in COMPARED
            },
        }
    return {
        "id": week.week_id,
        "version": version,
        "title": week.title,
        "starts_on": week.effective_on,
        "ends_on": week.ends_on,
        "closed_on": closed_on,
        "as_of": as_of,
        **figures,
        "comparison": comparison,
    }
