"""Unit tests of the ImprovementPlan aggregate: leads, recommendations, reviews.

Which review is a recommendation's latest is a rule of the read model:
tests/unit/test_projections.py."""

from __future__ import annotations

from datetime import date, timedelta
from uuid import uuid4

import pytest
from eventsourcing.application import Application

from events.plan import ImprovementPlan
from events.rules import RAGS, InvalidInput, Problems, Refused
from qa_service.transcodings import DateAsISO
from tests.unit.people import TODAY

PUBLISHED = date(2026, 4, 15)
HEAD = "Head of Service"
DAY = timedelta(days=1)


class App(Application):
    def register_transcodings(self, t):
        super().register_transcodings(t)
        t.register(DateAsISO())


def replay(aggregate):
    app = App(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    app.save(aggregate)
    return app.repository.get(aggregate.id)


def create(**over):
    kw = dict(
        id=uuid4(),
        title=" Improvement plan ",
        source=" Ofsted ",
        published_on=PUBLISHED,
    )
    kw.update(over)
    return ImprovementPlan.create(**kw)


def add_lead(plan, initials="PK", **over):
    kw = dict(name="Pat Kaur", job_title=HEAD, effective_on=None)
    kw.update(over)
    plan.add_lead(initials=initials, **kw)


def add_rec(plan, number=1, **over):
    kw = dict(
        area="Front door",
        text="Ensure thresholds are applied",
        leads=["PK"],
        linked_plans=["MASH plan"],
        partners=["Police"],
        expected_outcomes=["Timely decisions"],
        measures_of_success=["95% in 24h"],
        effective_on=None,
    )
    kw.update(over)
    plan.add_recommendation(number=number, **kw)


def review(plan, **over):
    kw = dict(
        recommendation=1,
        quarter="2026-Q3",
        progress="amber",
        impact="red",
        impact_data=None,
        commentary="Some delay",
        further_actions=None,
        reason=None,
        effective_on=date(2026, 10, 2),
    )
    kw.update(over)
    plan.record_review(**kw)


def reviewed(plan, quarter="2026-Q3"):
    """Recommendation 1's review of ``quarter``, as the plan keeps it for its rules."""
    return plan.recommendations[1]["reviews"].get(quarter)


def plan_with_rec(collect=True):
    """A plan with leads PK and JB and recommendation 1; its events collected unless told."""
    plan = create()
    add_lead(plan)
    add_lead(plan, "JB", name="Jo Bloggs", job_title=None)
    add_rec(plan)
    if collect:
        plan.collect_events()
    return plan


def refused(aggregate, exc, call, *args, **kw):
    assert aggregate.collect_events() == []
    with pytest.raises(exc) as info:
        call(*args, **kw)
    assert aggregate.collect_events() == []
    return info.value


def who(ev):
    return type(ev).__name__, ev.actor, ev.actor_role


def only_error(error, field, message):
    assert list(error.errors) == [field]
    assert message in error.errors[field][0]


def test_create_records_the_plan():
    plan = create()
    assert (plan.title, plan.source, plan.published_on) == ("Improvement plan", "Ofsted", PUBLISHED)
    assert (plan.leads, plan.recommendations) == ({}, {})
    [ev] = plan.collect_events()
    assert who(ev) == ("Created", "mgr-1", "manager")


@pytest.mark.parametrize(
    "over, field, message",
    [
        ({"title": " "}, "title", "must not be blank"),
        ({"source": ""}, "source", "must not be blank"),
        ({"published_on": date(2026, 11, 24)}, "published_on", "2026-11-24 is in the future"),
    ],
)
def test_create_refuses_bad_input(over, field, message):
    with pytest.raises(InvalidInput) as info:
        create(**over)
    only_error(info.value, field, message)


def test_a_lead_takes_effect_on_publication_unless_told_otherwise():
    plan = create()
    plan.collect_events()
    add_lead(plan, name=" Pat Kaur ")
    add_lead(plan, "JB2", job_title=None, effective_on=date(2026, 6, 1))
    assert plan.leads["PK"] == {"initials": "PK", "name": "Pat Kaur", "job_title": HEAD}
    assert plan.leads["JB2"]["job_title"] is None
    first, second = plan.collect_events()
    assert who(first) == who(second) == ("LeadAdded", "mgr-1", "manager")
    assert (first.effective_on, second.effective_on) == (PUBLISHED, date(2026, 6, 1))


@pytest.mark.parametrize(
    "initials, over, field, message",
    [
        ("pk", {}, "initials", "must be a capital letter"),
        ("P K", {}, "initials", "must be a capital letter"),
        ("ABCDEFG", {}, "initials", "must be a capital letter"),
        ("PK", {"name": ""}, "name", "must not be blank"),
        ("PK", {"job_title": " "}, "job_title", "must not be blank"),
        ("PK", {"effective_on": date(2026, 4, 14)}, "effective_on", "before the plan was"),
        ("PK", {"effective_on": date(2026, 11, 24)}, "effective_on", "is in the future"),
    ],
)
def test_add_lead_refuses_bad_input(initials, over, field, message):
    plan = create()
    plan.collect_events()
    only_error(refused(plan, InvalidInput, add_lead, plan, initials, **over), field, message)


def test_duplicate_lead_initials_are_refused():
    plan = plan_with_rec()
    error = refused(plan, Refused, add_lead, plan, "PK", name="Someone Else")
    assert "already has a key lead with initials PK" in str(error)
    assert plan.leads["PK"]["name"] == "Pat Kaur"


def test_add_recommendation_records_it_with_no_actions_or_reviews():
    plan = plan_with_rec()
    add_rec(plan, 2, leads=["PK", "JB"], area=" Care leavers ", effective_on=date(2026, 5, 1))
    rec = plan.recommendations[2]
    assert (rec["number"], rec["area"], rec["leads"]) == (2, "Care leavers", ["PK", "JB"])
    assert (rec["partners"], rec["action_ids"], rec["reviews"]) == (["Police"], [], {})
    [ev] = plan.collect_events()
    assert who(ev) + (ev.effective_on,) == (
        "RecommendationAdded",
        "mgr-1",
        "manager",
        date(2026, 5, 1),
    )


@pytest.mark.parametrize(
    "over, field, message",
    [
        ({"number": 0}, "number", "must be 1 to 999"),
        ({"number": 1000}, "number", "must be 1 to 999"),
        ({"number": "2"}, "number", "must be 1 to 999"),
        ({"area": ""}, "area", "must not be blank"),
        ({"text": " "}, "text", "must not be blank"),
        ({"leads": []}, "leads", "at least one lead is required"),
        ({"leads": ["PK", "XY"]}, "leads", "'XY' is not a key lead of this plan (known: JB, PK)"),
        ({"partners": "Police"}, "partners", "must be a list of texts"),
        ({"expected_outcomes": ["ok", ""]}, "expected_outcomes[1]", "must not be blank"),
        ({"effective_on": date(2026, 4, 1)}, "effective_on", "before the plan was published"),
        ({"effective_on": date(2026, 11, 24)}, "effective_on", "is in the future"),
    ],
)
def test_add_recommendation_refuses_bad_input(over, field, message):
    plan = plan_with_rec()
    kw = {"number": 2, **over}
    only_error(refused(plan, InvalidInput, add_rec, plan, **kw), field, message)
    assert list(plan.recommendations) == [1]


def test_duplicate_recommendation_numbers_are_refused():
    plan = plan_with_rec()
    error = refused(plan, Refused, add_rec, plan, 1, text="Another")
    assert "already has a recommendation 1" in str(error)
    assert plan.recommendations[1]["text"] == "Ensure thresholds are applied"


def test_check_initials_names_unknown_owners():
    problems = Problems()
    create().check_initials(problems, "owners", ["PK"])
    assert problems.errors == {"owners": ["'PK' is not a key lead of this plan (known: none yet)"]}
    problems = Problems()
    plan_with_rec().check_initials(problems, "actions[0].owners", ["JB", "PK", "ZZ"])
    assert problems.errors == {
        "actions[0].owners": ["'ZZ' is not a key lead of this plan (known: JB, PK)"]
    }


def test_attach_action_to_a_recommendation():
    plan, action_id = plan_with_rec(), uuid4()
    plan.attach_action(recommendation=1, action_id=action_id)
    assert plan.recommendations[1]["action_ids"] == [action_id]
    [ev] = plan.collect_events()
    assert who(ev) == ("ActionAttached", "mgr-1", "manager")
    error = refused(plan, InvalidInput, plan.attach_action, recommendation=9, action_id=ev)
    assert error.errors == {"recommendation": ["the plan has no recommendation 9"]}


def test_raise_actions_names_each_actions_errors_and_attaches_the_actions_raised():
    plan = plan_with_rec()
    specs = [
        {"description": "Audit CP plans", "owners": ["PK"], "due_on": None},
        {"description": " ", "owners": ["ZZ"], "due_on": None},
    ]
    kw = dict(recommendation=1, effective_on=None, new_id=uuid4, prefix="actions[{i}].")
    error = refused(plan, InvalidInput, plan.raise_actions, actions=specs, **kw)
    assert error.errors == {
        "actions[1].owners": ["'ZZ' is not a key lead of this plan (known: JB, PK)"],
        "actions[1].description": ["must not be blank"],
    }
    [action] = plan.raise_actions(actions=specs[:1], **kw)
    assert (action.plan_id, action.recommendation, action.raised_on) == (plan.id, 1, PUBLISHED)
    assert plan.recommendations[1]["action_ids"] == [action.id]
    [ev] = plan.collect_events()
    assert who(ev) == ("ActionAttached", "mgr-1", "manager")


def test_record_review_keeps_both_rags():
    plan = plan_with_rec()
    review(plan, impact_data="60% in 24h")
    assert reviewed(plan) == {
        "quarter": "2026-Q3", "progress": "amber", "impact": "red", "impact_data": "60% in 24h",
        "commentary": "Some delay", "further_actions": None, "effective_on": date(2026, 10, 2),
        "recorded_by": "mgr-1",
    }  # fmt: skip
    [ev] = plan.collect_events()
    assert who(ev) + (ev.reason,) == ("ReviewRecorded", "mgr-1", "manager", None)


@pytest.mark.parametrize("progress", RAGS)
@pytest.mark.parametrize("impact", RAGS)
def test_every_rag_is_accepted(progress, impact):
    plan = plan_with_rec()
    review(plan, progress=progress, impact=impact)
    assert (reviewed(plan)["progress"], reviewed(plan)["impact"]) == (progress, impact)


@pytest.mark.parametrize(
    "over, field, message",
    [
        ({"progress": "Green"}, "progress", "must be one of: green, amber, red"),
        ({"impact": "blue"}, "impact", "must be one of: green, amber, red"),
        ({"recommendation": 7}, "recommendation", "the plan has no recommendation 7"),
        ({"quarter": "2026Q3"}, "quarter", "written like Q1 2016/17"),
        ({"quarter": "2026-Q5"}, "quarter", "written like Q1 2016/17"),
        ({"quarter": "Q3-2026"}, "quarter", "written like Q1 2016/17"),
        ({"quarter": "26-Q3"}, "quarter", "written like Q1 2016/17"),
        ({"quarter": "2026-Q31"}, "quarter", "written like Q1 2016/17"),
        ({"commentary": " "}, "commentary", "must not be blank"),
        ({"effective_on": date(2026, 11, 24)}, "effective_on", "is in the future"),
        (
            {"effective_on": date(2026, 6, 30)},
            "effective_on",
            "before the quarter began (2026-07-01)",
        ),
        ({"quarter": "2027-Q1", "effective_on": TODAY}, "effective_on", "before the quarter began"),
    ],
)
def test_record_review_refuses_bad_input(over, field, message):
    plan = plan_with_rec()
    only_error(refused(plan, InvalidInput, review, plan, **over), field, message)
    assert reviewed(plan) is None


def test_review_takes_effect_from_the_first_day_of_its_quarter():
    plan = plan_with_rec()
    review(plan, effective_on=date(2026, 7, 1))
    assert reviewed(plan)["effective_on"] == date(2026, 7, 1)


def test_replacing_a_quarters_review_needs_a_reason():
    plan = plan_with_rec()
    review(plan)
    plan.collect_events()
    error = refused(plan, InvalidInput, review, plan, progress="green", reason=" ")
    only_error(
        error,
        "reason",
        "already has a review for Q2 2026/27 (2026-Q3): give a reason to replace it",
    )
    assert reviewed(plan)["progress"] == "amber"
    review(plan, progress="green", reason=" figures revised ")
    assert reviewed(plan)["progress"] == "green"
    [ev] = plan.collect_events()
    assert ev.reason == "figures revised"


def test_each_quarter_keeps_its_own_review():
    plan = plan_with_rec()
    review(plan, quarter="2026-Q3", progress="red")
    review(plan, quarter="2026-Q2", progress="green", effective_on=date(2026, 10, 5))
    assert (reviewed(plan, "2026-Q3")["progress"], reviewed(plan, "2026-Q2")["progress"]) == (
        "red",
        "green",
    )


def test_a_review_cannot_take_effect_before_the_plan_was_published():
    plan = plan_with_rec()  # published 2026-04-15
    error = refused(
        plan, InvalidInput, review, plan, quarter="2026-Q2", effective_on=PUBLISHED - DAY
    )
    only_error(error, "effective_on", "before the plan was published")


def test_replay_rebuilds_the_same_state():
    plan = plan_with_rec(collect=False)
    add_rec(plan, 2, leads=["JB"])
    plan.attach_action(recommendation=2, action_id=uuid4())
    review(plan)
    review(plan, progress="green", reason="revised", effective_on=date(2026, 10, 9))
    again = replay(plan)
    assert again.version == plan.version == 8
    assert vars(again) == vars(plan)
    assert reviewed(again)["progress"] == "green"
