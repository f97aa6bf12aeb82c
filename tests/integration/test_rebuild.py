"""Projections rebuilt from the events give exactly what incremental upkeep gave."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from qa_service.application import Actor
from qa_service.demo import SimClock, load_demo
from qa_service.service import build_service

LONDON = ZoneInfo("Europe/London")


def snapshot(svc) -> dict[str, list[tuple]]:
    """Every read-model table's rows (without surrogate keys), sorted."""
    out = {}
    with svc.engine.connect() as conn:
        for projection in svc.reads.projections:
            for table in projection.metadata.sorted_tables:
                columns = [c for c in table.columns if c.name != "row_id"]
                rows = conn.execute(select(*columns)).all()
                out[table.name] = sorted(tuple(map(repr, row)) for row in rows)
    return out


def answers(svc, plan_id, week_ids) -> list:
    q = svc.queries
    out = []
    for as_of, known_at in (
        (date(2016, 3, 31), None),
        (date(2016, 9, 30), None),
        (date(2016, 9, 30), datetime(2016, 8, 1, tzinfo=LONDON)),
        (date(2017, 6, 30), None),
        (date(2019, 12, 31), datetime(2019, 7, 1, tzinfo=LONDON)),
    ):
        out.append(q.plan(plan_id, as_of=as_of, known_at=known_at))
        out.append(q.actions(as_of=as_of, known_at=known_at, overdue=True, page_size=500))
        out.append(q.actions(as_of=as_of, known_at=known_at, origin="audit", page_size=500))
        out.append(q.audits(as_of=as_of, known_at=known_at, page_size=500))
    for week_id in week_ids:
        out.append(q.learning_week(week_id, as_of=date(2019, 12, 31)))
    return out


@pytest.fixture
def loaded(settings):
    """A realistic history (the demo up to the December 2019 learning week), with the
    read models kept up to date after every write, as in normal use."""
    clock = SimClock(now=datetime(2016, 2, 1, tzinfo=LONDON))
    svc = build_service(settings, clock=clock)
    summary = load_demo(
        svc.commands, clock, LONDON, seed=7, until=date(2019, 12, 31), defer_projections=False
    )
    yield svc, summary
    svc.close()


def correct_a_case_ref(svc) -> str:
    """An auditor corrects the case reference of an audit with actions; its new one."""
    audit_ids = [a["audit_id"] for a in svc.queries.actions(origin="audit", page_size=500)["items"]]
    audit = next(
        a for a in map(svc.queries.audit, audit_ids) if a["withdrawn"] is None and a["actions"]
    )
    svc.commands.correct_audit(
        Actor(audit["auditor"], "auditor"),
        audit["id"],
        changes={"case_ref": "CS-999001"},
        reason="Wrong case number",
    )
    return audit["id"]


def test_a_rebuild_gives_the_same_rows_and_answers_as_incremental_upkeep(loaded):
    svc, summary = loaded
    assert summary.audits > 300 and summary.learning_weeks == 3
    audit_id = correct_a_case_ref(svc)
    actions = svc.queries.actions(audit_id=audit_id)["items"]
    assert actions and {a["case_ref"] for a in actions} == {"CS-999001"}
    before_rows = snapshot(svc)
    before = answers(svc, summary.plan_id, summary.learning_week_ids)
    assert sum(len(rows) for rows in before_rows.values()) > 1000

    rebuilt = svc.reads.rebuild()
    assert rebuilt == svc.commands.recorder.max_notification_id()
    assert snapshot(svc) == before_rows
    assert answers(svc, summary.plan_id, summary.learning_week_ids) == before

    # Rebuilding one read model leaves the others as they were.
    svc.reads.rebuild(["plans"])
    assert snapshot(svc) == before_rows
    assert all(entry["lag"] == 0 for entry in svc.reads.lag().values())
