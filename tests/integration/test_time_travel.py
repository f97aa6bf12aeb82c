"""A year of the 2016 improvement plan, recorded on a simulated clock, and asked about
as of several dates and as known at several times. The expected answers are worked out
by hand from the bundled plan (qa_service/data/plan_2016.json) and the steps below.

Recommendation 1's first three actions:
  A1 "Develop project plan ..."            due 2016-03-31
  A2 "Complete review of Referral ..."     due 2016-06-30
  A3 "Implement revised Referral ..."      due 2016-09-30
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from qa_service.application import Actor
from qa_service.errors import NotFound
from qa_service.plan_document import bundled_2016_plan
from qa_service.plan_import import import_plan
from qa_service.service import build_service

LONDON = ZoneInfo("Europe/London")
MANAGER = Actor("Stephen Kitchman", "manager")


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2016, 2, 1, 9, 0, tzinfo=LONDON)

    def __call__(self) -> datetime:
        return self.now

    def at(self, y: int, m: int, d: int, hour: int = 10) -> datetime:
        self.now = datetime(y, m, d, hour, 0, tzinfo=LONDON)
        return self.now


def t(y: int, m: int, d: int, hour: int = 12) -> datetime:
    return datetime(y, m, d, hour, 0, tzinfo=LONDON)


@pytest.fixture
def history(settings):
    clock = Clock()
    svc = build_service(settings, clock=clock)
    log = svc.commands
    plan_id = import_plan(log, MANAGER, bundled_2016_plan())
    rec1 = svc.queries.plan(plan_id, as_of=date(2016, 2, 1))["recommendations"][0]
    a1, a2, a3 = (a["id"] for a in rec1["actions"][:3])

    def status(action, value, effective, reason=None):
        log.change_action_status(
            MANAGER, action, status=value, effective_on=effective, reason=reason
        )

    clock.at(2016, 2, 10)
    status(a1, "in_progress", date(2016, 2, 10))
    clock.at(2016, 3, 25)
    status(a1, "completed", date(2016, 3, 25))
    clock.at(2016, 4, 5)
    status(a2, "in_progress", date(2016, 4, 1))
    clock.at(2016, 4, 8)
    review(log, plan_id, "2016-Q1", "amber", "amber", date(2016, 4, 8))
    clock.at(2016, 7, 12)
    review(log, plan_id, "2016-Q2", "green", "amber", date(2016, 7, 12))
    clock.at(2016, 7, 15)  # late: the new date was agreed on 20 June
    log.reschedule_action(
        MANAGER, a2, due_on=date(2016, 9, 30), effective_on=date(2016, 6, 20),
        reason="MASH partners asked for more time",
    )  # fmt: skip
    clock.at(2016, 8, 20)  # late: A3 was done on 31 May
    status(a3, "completed", date(2016, 5, 31))
    clock.at(2016, 10, 3)
    status(a2, "completed", date(2016, 9, 28))
    yield svc, plan_id, (a1, a2, a3)
    svc.close()


def review(log, plan_id, quarter, progress, impact, effective):
    log.record_review(
        MANAGER,
        plan_id,
        fields={
            "recommendation": 1,
            "quarter": quarter,
            "progress": progress,
            "impact": impact,
            "commentary": f"{quarter} review",
            "effective_on": effective,
        },
    )


def action_in(tree, action_id):
    for rec in tree["recommendations"]:
        for action in rec["actions"]:
            if action["id"] == action_id:
                return action
    raise AssertionError(action_id)


def test_before_it_was_published_the_plan_did_not_exist(history):
    svc, plan_id, _ = history
    with pytest.raises(NotFound, match="published on 2016-02-01"):
        svc.queries.plan(plan_id, as_of=date(2016, 1, 31))


def test_on_31_march_a1_was_done_and_three_actions_were_overdue(history):
    svc, plan_id, (a1, a2, _) = history
    tree = svc.queries.plan(plan_id, as_of=date(2016, 3, 31))
    assert action_in(tree, a1)["status"] == "completed"
    assert action_in(tree, a2)["status"] == "not_started"
    # Due before 31 March and not done: actions due 28 Feb (recs 2 and 4) and 30 March (rec 5).
    assert tree["counts"]["overdue"] == 3
    assert len(tree["leads"]) == 19
    assert len(tree["recommendations"]) == 9
    assert tree["counts"]["actions"] == 61


def test_on_1_april_every_action_due_by_31_march_but_a1_was_overdue(history):
    svc, plan_id, (a1, _, _) = history
    tree = svc.queries.plan(plan_id, as_of=date(2016, 4, 1))
    # 21 actions are due before 1 April; A1 was completed on 25 March.
    assert tree["counts"]["overdue"] == 20
    assert action_in(tree, a1)["overdue"] is False


def test_a_late_reschedule_changes_the_past_only_from_when_it_was_recorded(history):
    svc, plan_id, (_, a2, _) = history
    # What the service knew on 2 July: A2 due 30 June, in progress, so overdue on 1 July.
    then = svc.queries.action(a2, as_of=date(2016, 7, 1), known_at=t(2016, 7, 2))
    assert (then["due_on"], then["status"], then["overdue"]) == (
        date(2016, 6, 30),
        "in_progress",
        True,
    )
    # What we know now: the due date moved to 30 September from 20 June.
    now = svc.queries.action(a2, as_of=date(2016, 7, 1))
    assert (now["due_on"], now["overdue"]) == (date(2016, 9, 30), False)
    # Before the new date took effect it was still due on 30 June.
    assert svc.queries.action(a2, as_of=date(2016, 6, 19))["due_on"] == date(2016, 6, 30)


def test_a_late_completion_is_marked_late_and_invisible_to_earlier_knowledge(history):
    svc, plan_id, (_, _, a3) = history
    known_then = svc.queries.action(a3, as_of=date(2016, 6, 30), known_at=t(2016, 8, 1))
    assert known_then["status"] == "not_started"
    known_now = svc.queries.action(a3, as_of=date(2016, 6, 30))
    assert known_now["status"] == "completed"
    assert known_now["status_since"] == date(2016, 5, 31)
    assert known_now["status_late"] is True
    assert svc.queries.action(a3, as_of=date(2016, 5, 30))["status"] == "not_started"


def test_the_latest_review_is_the_one_in_effect_and_known(history):
    svc, plan_id, _ = history

    def latest(as_of, known_at=None):
        tree = svc.queries.plan(plan_id, as_of=as_of, known_at=known_at)
        review = tree["recommendations"][0]["latest_review"]
        return review and (review["quarter"], review["progress"])

    assert latest(date(2016, 4, 7)) is None
    assert latest(date(2016, 6, 30)) == ("2016-Q1", "amber")
    assert latest(date(2016, 7, 31)) == ("2016-Q2", "green")
    assert latest(date(2016, 7, 31), known_at=t(2016, 7, 1)) == ("2016-Q1", "amber")


def test_the_register_filters_by_owner_status_and_overdue_as_of_a_date(history):
    svc, plan_id, (a1, a2, a3) = history
    pk_1_april = svc.queries.actions(as_of=date(2016, 4, 1), owner="PK", page_size=500)
    # PK owns 6 of recommendation 1's 7 actions (JSt owns the last) and others elsewhere.
    assert a1 in {a["id"] for a in pk_1_april["items"]}
    overdue = svc.queries.actions(as_of=date(2016, 4, 1), overdue=True, page_size=500)
    assert overdue["total"] == 20
    completed_now = svc.queries.actions(status="completed", page_size=500)
    assert {a["id"] for a in completed_now["items"]} == {a1, a2, a3}
    completed_known_in_july = svc.queries.actions(
        status="completed", known_at=t(2016, 7, 31), page_size=500
    )
    assert {a["id"] for a in completed_known_in_july["items"]} == {a1}
    from_audits = svc.queries.actions(origin="audit")
    assert from_audits["total"] == 0


def test_the_plan_version_is_what_was_known_at_the_time(history):
    svc, plan_id, _ = history
    now = svc.queries.plan(plan_id)
    before_reviews = svc.queries.plan(plan_id, known_at=t(2016, 3, 1))
    assert now["version"] == before_reviews["version"] + 2
