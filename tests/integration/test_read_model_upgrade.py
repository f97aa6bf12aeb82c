"""A read model whose stored tables are of an older shape than its code (a column it
now has, or one that may now be empty) is rebuilt from the events at start-up, instead of
stopping at the first row the old shape refuses."""

from __future__ import annotations

from datetime import date

from sqlalchemy import text

from qa_service.application import Actor
from qa_service.service import build_service

MANAGER = Actor("Mo Manager", "manager")
AUDITOR = Actor("Ann Auditor", "auditor")


def test_an_older_shaped_read_model_is_rebuilt_from_the_events(settings):
    with build_service(settings) as svc:
        week = svc.commands.open_learning_week(
            MANAGER, title="Autumn week", starts_on=date(2026, 11, 2), ends_on=date(2026, 11, 6)
        )
        svc.commands.record_feedback(
            AUDITOR, week, respondent="parent", satisfaction=8, knew_why_involved=True,
            comment="Listened to", effective_on=date(2026, 11, 4),
        )  # fmt: skip
        with svc.engine.begin() as conn:  # the table as an older version made it
            conn.execute(text("ALTER TABLE learning_week_feedback DROP COLUMN comment"))
    with build_service(settings) as svc:
        svc.commands.record_feedback(
            AUDITOR, week, respondent="child", satisfaction=6, knew_why_involved=None,
            comment=None, effective_on=date(2026, 11, 5),
        )  # fmt: skip
        summary = svc.queries.learning_week(week, as_of=date(2026, 11, 6))
        assert [f["comment"] for f in summary["feedback"]] == ["Listened to", None]
        assert (summary["feedback_count"], summary["share_knew_why_involved"]) == (2, 1.0)
        assert svc.reads.failures() == {}
