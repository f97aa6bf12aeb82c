"""The lists of plans and learning weeks: anyone signed in finds them without knowing
their ids, as of a day and as known at a time, a page at a time.

The steps, on a simulated clock (worked out by hand below):
  2016-02-01 10:00  the 2016 plan (published 2016-02-01): one recommendation, two
                    actions, one due 2016-03-31 and never completed (overdue after it)
  2017-03-01 10:00  the 2017 plan (published 2017-03-01), nothing in it yet
  2018-12-03 08:00  the December 2018 learning week opens (3 to 7 December)
  2018-12-04 11:00  an audit in the week;  2018-12-05 14:00  a family's feedback
  2018-12-10 16:00  the week is closed, effective 7 December
  2019-06-03 08:00  the June 2019 learning week opens (3 to 7 June)
and then the clock stands at 2019-07-01.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from qa_service.app import create_app
from qa_service.service import build_service
from tests.conftest import ROLES, Client
from tests.e2e.builders import audit_body, make_plan

LONDON = ZoneInfo("Europe/London")


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2016, 2, 1, 10, 0, tzinfo=LONDON)

    def __call__(self) -> datetime:
        return self.now

    def at(self, *when: int) -> None:
        self.now = datetime(*when, tzinfo=LONDON)


@pytest.fixture
def clients(settings):
    """A client per role, after the steps above."""
    clock = Clock()
    svc = build_service(settings, clock=clock)
    app = create_app(settings, service=svc, TESTING=True)
    as_role = {role: Client(app.test_client(), svc.accounts.add(role, role)) for role in ROLES}
    manager, auditor = as_role["manager"], as_role["auditor"]

    make_plan(manager)
    clock.at(2017, 3, 1, 10)
    plan = {"title": "2017 plan", "source": "Annual review", "published_on": "2017-03-01"}
    assert manager.post("/api/plans", plan).status_code == 201
    clock.at(2018, 12, 3, 8)
    week = {"title": "December 2018", "starts_on": "2018-12-03", "ends_on": "2018-12-07"}
    week_id = manager.post("/api/learning-weeks", week).json["id"]
    clock.at(2018, 12, 4, 11)
    audit = audit_body(
        audit_type="learning_week", learning_week_id=week_id, audited_on="2018-12-04"
    )
    assert auditor.post("/api/audits", audit).status_code == 201
    clock.at(2018, 12, 5, 14)
    feedback = {"respondent": "parent", "satisfaction": 7, "knew_why_involved": True}
    assert auditor.post(f"/api/learning-weeks/{week_id}/feedback", feedback).status_code == 200
    clock.at(2018, 12, 10, 16)
    closure = {"effective_on": "2018-12-07"}
    assert manager.post(f"/api/learning-weeks/{week_id}/closure", closure).status_code == 200
    clock.at(2019, 6, 3, 8)
    week = {"title": "June 2019", "starts_on": "2019-06-03", "ends_on": "2019-06-07"}
    assert manager.post("/api/learning-weeks", week).status_code == 201
    clock.at(2019, 7, 1, 9)
    yield as_role
    svc.close()


def get(client: Client, path: str) -> dict:
    response = client.get(path)
    assert response.status_code == 200, response.json
    return response.json


@pytest.mark.parametrize("role", ROLES)
def test_every_role_lists_the_plans_newest_first_with_their_counts(clients, role):
    plans = get(clients[role], "/api/plans")
    assert (plans["as_of"], plans["page"], plans["page_size"], plans["total"]) == (
        "2019-07-01", 1, 50, 2,
    )  # fmt: skip
    newer, older = plans["items"]
    assert (newer["title"], newer["published_on"], newer["recommendations"]) == (
        "2017 plan", "2017-03-01", 0,
    )  # fmt: skip
    assert newer["counts"] == {"actions": 0, "completed": 0, "overdue": 0}
    assert (older["title"], older["source"], older["published_on"]) == (
        "Post-inspection improvement plan", "Ofsted inspection, October-November 2015",
        "2016-02-01",
    )  # fmt: skip
    assert older["recommendations"] == 1
    assert older["counts"] == {"actions": 2, "completed": 0, "overdue": 1}
    assert older["version"] == get(clients[role], f"/api/plans/{older['id']}")["version"]


def test_a_plan_not_yet_published_on_as_of_is_not_listed(clients):
    plans = get(clients["inspector"], "/api/plans?as_of=2016-12-31")
    assert [p["title"] for p in plans["items"]] == ["Post-inspection improvement plan"]
    assert plans["total"] == 1
    assert plans["items"][0]["counts"]["overdue"] == 1
    # On the day its first action was due, nothing was overdue yet.
    on_the_day = get(clients["inspector"], "/api/plans?as_of=2016-03-31")
    assert on_the_day["items"][0]["counts"]["overdue"] == 0
    assert get(clients["inspector"], "/api/plans?as_of=2016-01-31")["items"] == []


def test_a_plan_recorded_after_known_at_is_not_listed(clients):
    plans = get(clients["inspector"], "/api/plans?known_at=2017-02-28T12:00:00")
    assert [p["title"] for p in plans["items"]] == ["Post-inspection improvement plan"]


def test_the_plans_come_a_page_at_a_time(clients):
    second = get(clients["inspector"], "/api/plans?page=2&page_size=1")
    assert (second["page"], second["page_size"], second["total"]) == (2, 1, 2)
    assert [p["title"] for p in second["items"]] == ["Post-inspection improvement plan"]
    assert get(clients["inspector"], "/api/plans?page=3&page_size=1")["items"] == []


@pytest.mark.parametrize("role", ROLES)
def test_every_role_lists_the_learning_weeks_latest_first(clients, role):
    weeks = get(clients[role], "/api/learning-weeks")
    assert (weeks["as_of"], weeks["page"], weeks["page_size"], weeks["total"]) == (
        "2019-07-01", 1, 50, 2,
    )  # fmt: skip
    june, december = weeks["items"]
    assert {k: v for k, v in june.items() if k not in ("id", "version")} == {
        "title": "June 2019",
        "starts_on": "2019-06-03",
        "ends_on": "2019-06-07",
        "closed_on": None,
        "audits": 0,
        "feedback_count": 0,
    }
    assert {k: v for k, v in december.items() if k not in ("id", "version")} == {
        "title": "December 2018",
        "starts_on": "2018-12-03",
        "ends_on": "2018-12-07",
        "closed_on": "2018-12-07",
        "audits": 1,
        "feedback_count": 1,
    }
    summary = get(clients[role], f"/api/learning-weeks/{december['id']}")
    assert {k: summary[k] for k in december} == december


def test_a_week_not_yet_started_on_as_of_is_not_listed(clients):
    weeks = get(clients["inspector"], "/api/learning-weeks?as_of=2018-12-31")
    assert [w["title"] for w in weeks["items"]] == ["December 2018"]
    assert get(clients["inspector"], "/api/learning-weeks?as_of=2018-12-02")["total"] == 0


def test_a_week_lists_only_what_was_known_at_known_at(clients):
    weeks = get(clients["inspector"], "/api/learning-weeks?known_at=2018-12-04T09:00:00")
    (december,) = weeks["items"]
    assert (december["audits"], december["feedback_count"], december["closed_on"]) == (0, 0, None)


def test_the_weeks_come_a_page_at_a_time(clients):
    second = get(clients["inspector"], "/api/learning-weeks?page=2&page_size=1")
    assert (second["page"], second["total"]) == (2, 2)
    assert [w["title"] for w in second["items"]] == ["December 2018"]
