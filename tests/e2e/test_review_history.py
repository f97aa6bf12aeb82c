"""A recommendation's review history (every quarter's RAG and commentary, replaced reviews
too, as known at a time), quarters written either way, and an action's due-date history
in its read.

The history, on a simulated clock (worked out by hand below):
  2016-02-01 10:00  the plan (published 2016-02-01): recommendation 1 with "Develop
                    project plan" (PK), due 2016-03-31
  2016-03-20 09:00  that action moved to 2016-05-31: "the review started late"
  2016-04-15 09:00  moved again, to be confirmed: "waiting for the IT provider"
  2016-07-05 10:00  recommendation 1's review of 2016-Q2 (written so): amber, red
  2016-07-20 10:00  replaced, written "Q1 2016/17": green, amber, "figures corrected"
  2016-10-05 10:00  the review of "Q2 2016/17": green, green
and then the clock stands at 2016-11-01 12:00.
"""

from __future__ import annotations

import pytest

from qa_service.app import create_app
from qa_service.service import build_service
from tests.conftest import ROLES, Client
from tests.e2e.builders import make_plan
from tests.e2e.pages import csrf, person, sign_in, text
from tests.e2e.test_spreadsheets import Clock


@pytest.fixture
def world(settings):
    clock = Clock()
    svc = build_service(settings, clock=clock)
    app = create_app(settings, service=svc, TESTING=True)
    as_role = {role: Client(app.test_client(), svc.accounts.add(role, role)) for role in ROLES}
    manager = as_role["manager"]
    plan = make_plan(manager)
    action = plan["recommendations"][0]["actions"][0]
    assert action["due_on"] == "2016-03-31"
    path = f"/api/plans/{plan['id']}/reviews"

    def ok(response):
        assert response.status_code == 200, response.json
        return response.json

    clock.at(2016, 3, 20, 9)
    ok(
        manager.post(
            f"/api/actions/{action['id']}/reschedule",
            {
                "due_on": "2016-05-31",
                "effective_on": "2016-03-20",
                "reason": "the review started late",
            },
        )
    )
    clock.at(2016, 4, 15, 9)
    ok(
        manager.post(
            f"/api/actions/{action['id']}/reschedule",
            {"due_on": None, "effective_on": "2016-04-15", "reason": "waiting for the IT provider"},
        )
    )
    review = {"recommendation": 1, "effective_on": "2016-06-30"}
    clock.at(2016, 7, 5, 10)
    first = ok(
        manager.post(
            path,
            {
                **review,
                "quarter": "2016-Q2",
                "progress": "amber",
                "impact": "red",
                "commentary": "MASH not yet staffed",
            },
        )
    )
    clock.at(2016, 7, 20, 10)
    replaced = ok(
        manager.post(
            path,
            {
                **review,
                "quarter": "Q1 2016/17",
                "progress": "green",
                "impact": "amber",
                "commentary": "MASH staffed in June",
                "reason": "figures corrected",
            },
        )
    )
    clock.at(2016, 10, 5, 10)
    ok(
        manager.post(
            path,
            {
                "recommendation": 1,
                "quarter": "Q2 2016/17",
                "progress": "green",
                "impact": "green",
                "effective_on": "2016-10-05",
            },
        )
    )
    clock.at(2016, 11, 1, 12)
    yield {
        "app": app,
        "service": svc,
        "as_role": as_role,
        "plan": plan,
        "action": action,
        "after_first": first,
        "after_replacement": replaced,
    }
    svc.close()


def test_the_review_history_has_every_quarter_and_marks_a_replaced_review(world):
    plan_id = world["plan"]["id"]
    for role in ROLES:
        history = world["as_role"][role].get(f"/api/plans/{plan_id}/reviews")
        assert history.status_code == 200, (role, history.json)
    reviews = history.json
    assert [(r["quarter"], r["quarter_label"], r["replaced"]) for r in reviews] == [
        ("2016-Q2", "Q1 2016/17", True),
        ("2016-Q2", "Q1 2016/17", False),
        ("2016-Q3", "Q2 2016/17", False),
    ]
    old, new = reviews[0], reviews[1]
    assert (old["progress"], old["impact"], old["commentary"]) == (
        "amber",
        "red",
        "MASH not yet staffed",
    )
    assert old["reason"] is None
    assert (new["progress"], new["impact"], new["commentary"]) == (
        "green",
        "amber",
        "MASH staffed in June",
    )
    assert new["reason"] == "figures corrected"
    assert new["recorded_by"] == "manager" and new["recommendation"] == 1
    assert new["recorded_at"] == "2016-07-20T09:00:00+00:00"  # 10:00 in London, in summer
    assert new["effective_on"] == "2016-06-30"


def test_the_review_history_as_known_before_the_replacement_has_only_the_old_review(world):
    manager = world["as_role"]["manager"]
    plan_id = world["plan"]["id"]
    then = manager.get(f"/api/plans/{plan_id}/reviews?known_at=2016-07-10T12:00").json
    assert [(r["quarter_label"], r["progress"], r["replaced"]) for r in then] == [
        ("Q1 2016/17", "amber", False)
    ]
    assert manager.get(f"/api/plans/{plan_id}/reviews?known_at=2016-07-01T12:00").json == []
    one = manager.get(f"/api/plans/{plan_id}/reviews?recommendation=1").json
    assert len(one) == 3
    assert manager.get(f"/api/plans/{plan_id}/reviews?recommendation=2").json == []


def test_the_review_history_refuses_what_it_cannot_answer(world):
    manager = world["as_role"]["manager"]
    plan_id = world["plan"]["id"]
    missing = manager.get("/api/plans/00000000-0000-0000-0000-000000000000/reviews")
    assert missing.status_code == 404 and "no plan" in missing.json["message"]
    before = manager.get(f"/api/plans/{plan_id}/reviews?known_at=2016-01-01T00:00")
    assert before.status_code == 404
    for query in ("recommendation=one", "recommendation=0", "known_at=soon", "quarter=2016-Q2"):
        refused = manager.get(f"/api/plans/{plan_id}/reviews?{query}")
        assert refused.status_code == 422, query


def test_a_review_written_in_the_financial_year_is_stored_in_the_calendar_form(world):
    latest = world["after_replacement"]["recommendations"][0]["latest_review"]
    assert (latest["quarter"], latest["quarter_label"]) == ("2016-Q2", "Q1 2016/17")
    assert latest["progress"] == "green"  # it replaced the review of the same quarter
    first = world["after_first"]["recommendations"][0]["latest_review"]
    assert (first["quarter"], first["quarter_label"]) == ("2016-Q2", "Q1 2016/17")
    manager = world["as_role"]["manager"]
    plan_id = world["plan"]["id"]
    now = manager.get(f"/api/plans/{plan_id}").json["recommendations"][0]["latest_review"]
    assert (now["quarter"], now["quarter_label"]) == ("2016-Q3", "Q2 2016/17")
    then = manager.get(f"/api/plans/{plan_id}?as_of=2016-07-31&known_at=2016-07-10T12:00").json
    review = then["recommendations"][0]["latest_review"]
    assert (review["quarter_label"], review["progress"]) == ("Q1 2016/17", "amber")
    path = f"/api/plans/{plan_id}/reviews"
    body = {"recommendation": 1, "progress": "red", "impact": "red"}
    wrong = manager.post(path, {**body, "quarter": "Q5 2016/17"})
    assert wrong.status_code == 422
    assert "Q1 2016/17" in wrong.json["errors"]["json"]["quarter"][0]
    mismatched = manager.post(path, {**body, "quarter": "Q1 2016/18"})
    assert mismatched.status_code == 422
    assert "2016/17, not 2016/18" in mismatched.json["errors"]["json"]["quarter"][0]


def test_the_review_form_says_both_forms_of_a_quarter_are_taken(world):
    client = world["app"].test_client()
    person(world["service"], "Mo Manager", "manager")
    sign_in(client, "Mo Manager")
    plan_id = world["plan"]["id"]
    form = client.get(f"/plans/{plan_id}/reviews?recommendation=1")
    assert "like Q1 2016/17 (April to June 2016), or a calendar one, like 2016-Q2" in text(form)
    empty = client.post(
        f"/plans/{plan_id}/reviews",
        data={"csrf_token": csrf(form), "recommendation": "1", "progress": "red", "impact": "red"},
    )
    assert "Enter the quarter, like Q1 2016/17 or 2016-Q2" in text(empty)
    sent = client.post(
        f"/plans/{plan_id}/reviews",
        data={
            "csrf_token": csrf(form),
            "recommendation": "1",
            "quarter": "Q3 2016/17",
            "progress": "amber",
            "impact": "green",
            "effective_on": "2016-10-31",
        },
    )
    assert sent.status_code == 302, text(sent)
    dashboard = text(client.get(f"/plans/{plan_id}"))
    assert "Progress Amber (Q3 2016/17 review) Impact Green (Q3 2016/17 review)" in dashboard


# An action's due-date history.


def test_an_action_read_shows_its_original_due_date_and_every_move(world):
    manager = world["as_role"]["manager"]
    action_id = world["action"]["id"]
    read = manager.get(f"/api/actions/{action_id}")
    assert read.status_code == 200
    action = read.json
    assert action["original_due_on"] == "2016-03-31"
    assert action["due_on"] is None and action["due_to_be_confirmed"] is True
    assert action["times_moved"] == 2
    assert action["due_date_history"] == [
        {
            "effective_on": "2016-03-20",
            "from": "2016-03-31",
            "to": "2016-05-31",
            "reason": "the review started late",
            "recorded_by": "manager",
            "recorded_at": "2016-03-20T09:00:00+00:00",  # 9:00 in London, in winter
        },
        {
            "effective_on": "2016-04-15",
            "from": "2016-05-31",
            "to": None,
            "reason": "waiting for the IT provider",
            "recorded_by": "manager",
            "recorded_at": "2016-04-15T08:00:00+00:00",
        },
    ]
    on_1_april = manager.get(f"/api/actions/{action_id}?as_of=2016-04-01").json
    assert (on_1_april["due_on"], on_1_april["times_moved"]) == ("2016-05-31", 1)
    known_before = manager.get(
        f"/api/actions/{action_id}?as_of=2016-04-30&known_at=2016-03-19T12:00"
    ).json
    assert known_before["due_on"] == "2016-03-31"
    assert (known_before["times_moved"], known_before["due_date_history"]) == (0, [])
