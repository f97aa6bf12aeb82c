"""The demo: the real 2016 plan and a plausible history, loaded through the service."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from qa_service.demo import SimClock, load_demo
from qa_service.service import build_service
from qa_service.settings import Settings

LONDON = ZoneInfo("Europe/London")


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def demo(request, tmp_path_factory):
    """Loaded once per store for this module's tests, which only read it."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("demo") / "qa.sqlite3"
        settings = Settings(database_url=f"sqlite:///{path}")
    else:
        url = request.getfixturevalue("postgres_database")
        settings = Settings(database_url=url, schema=f"demo_{uuid.uuid4().hex[:8]}", pool_size=2)
    clock = SimClock(now=datetime(2016, 2, 1, tzinfo=LONDON))
    svc = build_service(settings, clock=clock)
    summary = load_demo(svc.commands, clock, LONDON)
    yield svc, summary
    svc.close()


def test_the_demo_loads_the_plan_and_years_of_history(demo):
    svc, summary = demo
    q = svc.queries
    plan = q.plan(summary.plan_id)
    assert len(plan["recommendations"]) == 9
    assert plan["counts"]["actions"] == 61
    assert summary.reviews == 72  # 9 recommendations x 8 quarters of 2016-17
    assert summary.learning_weeks == 7  # bi-annual from December 2018 to December 2021
    assert all(entry["lag"] == 0 for entry in svc.reads.lag().values())
    # Some plan actions were completed late, some are still open and overdue.
    open_overdue = q.actions(origin="plan", overdue=True, as_of=date(2017, 12, 31))["total"]
    assert 0 < open_overdue < 30
    # Monthly audits 2016-2021, with a grade mix that improves over the years.
    by_year = {}
    for year in (2016, 2021):
        register = q.audits(audited_from=date(year, 1, 1), audited_to=date(year, 12, 31))
        by_year[year] = register["distribution"]["overall"]
        assert register["total"] > 90
    assert by_year[2021]["good_or_better"] > by_year[2016]["good_or_better"] + 0.2
    assert by_year[2021]["shares"]["inadequate"] < by_year[2016]["shares"]["inadequate"]
    moderation = q.audits()["distribution"]["moderation"]
    assert moderation["moderated"] > 100
    assert 0.75 < moderation["agreement_rate"] < 0.95
    # Inadequate audits raised remedial actions.
    assert q.actions(origin="audit", page_size=1)["total"] > 50
    assert summary.late_entries > 50


def test_the_december_2018_learning_week_shows_the_reported_figures(demo):
    svc, summary = demo
    december = svc.queries.learning_week(summary.learning_week_ids[0])
    assert december["title"].startswith("Listening and Learning week, December 2018")
    assert december["starts_on"] == date(2018, 12, 3)
    assert december["share_good_or_better"] == pytest.approx(0.40, abs=0.01)
    assert (
        december["grades"]["requires_improvement"]
        == december["audits"] - december["good_or_better"]
    )
    assert december["feedback_count"] == 34
    assert december["mean_satisfaction"] == 6.8
    assert december["share_knew_why_involved"] == pytest.approx(0.80, abs=0.01)
    strengths = december["findings"]["strength"]
    improvements = december["findings"]["improvement"]
    assert len(strengths) == 9 and len(improvements) == 13
    assert december["comparison"] is None  # the first week
    june = svc.queries.learning_week(summary.learning_week_ids[1])
    assert june["comparison"]["previous_title"] == december["title"]
    assert june["comparison"]["change"]["share_good_or_better"] > 0


def test_what_the_service_knew_at_a_committee_date_differs_from_what_we_know_now(demo):
    svc, summary = demo
    committee = datetime(2016, 9, 30, 17, 0, tzinfo=LONDON)
    then = svc.queries.plan(summary.plan_id, as_of=date(2016, 9, 30), known_at=committee)
    now = svc.queries.plan(summary.plan_id, as_of=date(2016, 9, 30))
    assert then["counts"] != now["counts"] or then["version"] < now["version"]


def test_the_history_is_reproducible_from_its_seed(tmp_path):
    """Two loads with one seed record the same events at the same moments."""
    import re

    def load(name: str) -> list[tuple]:
        settings = Settings(database_url=f"sqlite:///{tmp_path / name}")
        clock = SimClock(now=datetime(2016, 2, 1, tzinfo=LONDON))
        svc = build_service(settings, clock=clock)
        try:
            load_demo(svc.commands, clock, LONDON, seed=11, until=date(2016, 12, 31))
            rows = svc.queries.trail(page_size=1000)["items"]
        finally:
            svc.close()
        uuid = re.compile(r"[0-9a-f]{8}-[0-9a-f-]{27}")
        return [
            (r["event_type"], r["actor"], r["recorded_at"], r["effective_on"],
             uuid.sub("<id>", r["summary"]))
            for r in rows
        ]  # fmt: skip

    first, second = load("a.sqlite3"), load("b.sqlite3")
    assert len(first) > 300
    assert first == second


def test_the_banner_counts_what_was_stored(demo):
    """Steps planned past the end of the history are left out, and not counted either
    (the banner once said 219 moderations where 217 were stored)."""
    svc, summary = demo

    def stored(entity_type: str, event_type: str) -> int:
        page = svc.queries.trail(entity_type=entity_type, event_type=event_type, page_size=1)
        return page["total"]

    assert summary.moderations == stored("audit", "Moderated")
    assert summary.audits == stored("audit", "Recorded")
    assert summary.reviews == stored("plan", "ReviewRecorded")
    assert summary.learning_weeks == stored("learning_week", "Opened")
