"""Unit tests of the read side: projections fed hand-built domain events on in-memory SQLite,
asked about as of dates and as known at times; the Timeline with a tiny fold; and the Runner
with a fake event source. No application, no HTTP."""

from __future__ import annotations

import inspect
from datetime import UTC, date, datetime
from functools import partial
from types import SimpleNamespace
from uuid import uuid4
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Column, MetaData, String, Table, create_engine, delete, select
from sqlalchemy.pool import StaticPool

from events import Action, ImprovementPlan, LearningWeek, record_audit
from events.clock import QAAggregate, recording_clock
from events.context import acting
from events.rules import GRADES
from projections import actions, audits, learning_weeks, plans, temporal
from projections.base import Runner
from projections.temporal import END_OF_TIME, NEVER, Fact, micros

LONDON = ZoneInfo("Europe/London")
NOW = NEVER - 1  # known at: everything recorded so far
PLAN = uuid4()
NONE = "comment job_title impact_data commentary further_actions"
EMPTY = "actions linked_plans partners expected_outcomes measures_of_success"
DEFAULTS = {**dict.fromkeys(NONE.split()), **dict.fromkeys(EMPTY.split(), ())}
DEFAULTS |= {"reason": "because", "rationale": "seen"}
AUDIT = dict(case_ref="CR-101", service_area="assessment", audit_type="core", theme=None)
AUDIT |= dict(judgements={"voice_of_child": "good"}, overall_grade="good", strengths=["Clear plan"])


def at(month, dd, hour=12):  # a recording time
    return datetime(2016, month, dd, hour, tzinfo=UTC)


def known(month, dd, hour=12):  # a known_at_us
    return micros(at(month, dd, hour))


def day(month, dd):  # an effective (as_of) date
    return date(2016, month, dd)


def grades(*counts):
    return dict(zip(GRADES, counts, strict=True))


def _aggregates(value):
    if isinstance(value, tuple | list):
        return [a for v in value for a in _aggregates(v)]
    return [value] if isinstance(value, QAAggregate) else []


class Log(list):
    """Events in the order commands recorded them (the store's positions 1, 2, ...).
    ``log(when, command, **kw)`` runs a command as "m", a manager, under the recording
    clock at ``when``; today and ``effective_on`` are that day, other arguments DEFAULTS."""

    def __call__(self, when, command, **kw):
        given = {"effective_on": when.date(), "id": uuid4(), "new_id": uuid4}
        params = inspect.signature(command).parameters
        kw = {k: v for k, v in (DEFAULTS | given).items() if k in params} | kw
        with recording_clock(lambda: when), acting("m", "manager", when.date()):
            result = command(**kw)
        for aggregate in _aggregates(getattr(command, "__self__", None)) + _aggregates(result):
            self.extend(aggregate.collect_events())
        return result


def engine_():
    """An in-memory database with the audits tables (the action register reads each
    audit action's case reference from them)."""
    engine = create_engine("sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": 0})
    audits.metadata.create_all(engine)
    return engine


def project(events, *projections, page=None):
    """Feed the projections the events, one transaction per page; return the engine."""
    engine, page = engine_(), page or max(len(events), 1)
    for projection in projections:
        projection.metadata.create_all(engine)
    for start in range(0, len(events), page):
        with engine.begin() as conn:
            for projection in projections:
                projection.begin_page()
                for position, event in enumerate(events[start : start + page], start + 1):
                    projection.handle(event, conn, position)
                projection.end_page(conn)
    return engine


def query(engine, fn, *args, **kw):
    with engine.connect() as conn:
        return fn(conn, *args, **kw)


def asof(engine, fn, entity_id, as_of, known_at=NOW):  # e.g. get_action, plan_tree
    return query(engine, fn, entity_id, as_of, known_at)


def plan_action(log, when, **over):
    kw = dict(origin="plan", plan_id=PLAN, recommendation=1, description="Audit CP plans")
    return log(when, Action.raise_action, **(kw | {"owners": ["PK"], "due_on": day(3, 31)} | over))


def audit(log, when, **fields):
    remedy = [{"description": "Visit", "owners": ["SW1"], "due_on": day(12, 1)}]
    remedies = remedy if fields.get("overall_grade") == "inadequate" else ()
    fields = AUDIT | {"audited_on": when.date()} | fields
    return log(when, record_audit, fields=fields, actions=remedies)[0]


def action_view(engine, action_id, as_of, known_at=NOW):
    a = asof(engine, actions.get_action, action_id, as_of, known_at)
    return a and (a["status"], a["due_on"], a["owners"])


# Temporal.


def test_micros_are_utc_and_late_means_recorded_after_the_day_in_the_service_zone():
    moment = datetime(2016, 6, 9, 12, 30, 15, 123456, tzinfo=UTC)
    assert temporal.from_micros(micros(moment)) == moment
    assert micros(datetime(1970, 1, 1, 0, 0, 1, 5)) == 1_000_005  # naive: UTC
    late = actions.ActionsProjection(LONDON).is_late
    before_midnight, after_midnight = (SimpleNamespace(timestamp=at(6, 9, h)) for h in (22, 23))
    assert late(before_midnight, day(6, 9)) is False  # 23:00 BST
    assert (late(after_midnight, day(6, 9)), late(after_midnight, None)) == (True, False)


tiny = MetaData()
tiny_facts = temporal.facts_table("tiny_facts", tiny)
tiny_rows = Table("tiny_rows", tiny, *temporal.temporal_columns(), Column("value", String))


def tiny_fold(facts):
    ordered = sorted(facts, key=lambda f: (f.effective_on, f.position))
    return [(f.effective_on, {"value": f.payload["v"]}) for f in ordered]


@pytest.mark.parametrize("one_page", [True, False])
def test_timeline_closes_only_changed_rows_and_keeps_what_was_known(one_page):
    engine, entity, c = engine_(), uuid4(), tiny_rows.c
    tiny.create_all(engine)
    timeline = temporal.Timeline(tiny_rows, tiny_facts, tiny_fold, ["value"])
    facts = [(day(1, 1), "a"), (day(3, 1), "b"), (day(2, 1), "a"), (day(2, 1), "c")]
    with engine.begin() as conn:
        for n, (effective_on, v) in enumerate(facts, 1):
            timeline.add(conn, entity, Fact(n, n, "Set", effective_on, n * 10, {"v": v}))
            if not one_page:
                timeline.flush(conn)
        timeline.flush(conn)
        when = (c.valid_from, c.valid_to, c.recorded_from, c.recorded_to)
        rows = conn.execute(select(*when, c.value).order_by(c.recorded_from, c.valid_from)).all()
    assert [tuple(r) for r in rows] == [
        (day(1, 1), END_OF_TIME, 10, 20, "a"),
        (day(1, 1), day(3, 1), 20, 40, "a"),  # the late "a" on 1 Feb changed nothing
        (day(3, 1), END_OF_TIME, 20, NEVER, "b"),  # untouched by the 1 Feb change
        (day(1, 1), day(2, 1), 40, NEVER, "a"),
        (day(2, 1), day(3, 1), 40, NEVER, "c"),
    ]


# Actions.


@pytest.mark.parametrize("page", [1, None])
def test_action_status_due_and_owners_as_of_each_change(page):
    log = Log()
    action = plan_action(log, at(2, 1))
    log(at(2, 10), action.change_status, status="in_progress")
    log(at(2, 20), action.reassign, owners=["PK", "SK"])
    log(at(3, 1), action.reschedule, due_on=day(4, 30))
    engine = project(log, actions.ActionsProjection(LONDON), page=page)
    assert action_view(engine, action.id, day(1, 31)) is None
    assert action_view(engine, action.id, day(2, 9)) == ("not_started", day(3, 31), ["PK"])
    assert action_view(engine, action.id, day(2, 10)) == ("in_progress", day(3, 31), ["PK"])
    assert action_view(engine, action.id, day(2, 29)) == ("in_progress", day(3, 31), ["PK", "SK"])
    assert action_view(engine, action.id, day(3, 1)) == ("in_progress", day(4, 30), ["PK", "SK"])
    then = ("in_progress", day(3, 31), ["PK"])  # as known on 15 Feb
    assert action_view(engine, action.id, day(3, 1), known(2, 15)) == then
    get = partial(asof, engine, actions.get_action, action.id, day(3, 1))
    a, then = get(NOW), get(known(2, 15))
    assert (a["version"], a["status_since"], a["raised_on"], a["raised_by"], then["version"]) == (
        4, day(2, 10), day(2, 1), "m", 2)  # fmt: skip


def test_late_entries_count_from_when_recorded_and_interleave_by_effective_date():
    log = Log()
    action = plan_action(log, at(2, 1))
    log(at(2, 10), action.change_status, status="in_progress")
    log(at(2, 15), action.reschedule, due_on=day(6, 30), effective_on=day(2, 5))  # late
    log(at(3, 20), action.change_status, status="completed", effective_on=day(3, 10))  # late
    engine = project(log, actions.ActionsProjection(LONDON))
    then = ("not_started", day(3, 31))  # as known on 12 Feb
    assert action_view(engine, action.id, day(2, 7), known(2, 12))[:2] == then
    assert action_view(engine, action.id, day(2, 4))[:2] == ("not_started", day(3, 31))
    assert action_view(engine, action.id, day(2, 7))[:2] == ("not_started", day(6, 30))
    assert action_view(engine, action.id, day(2, 10))[:2] == ("in_progress", day(6, 30))
    get = partial(asof, engine, actions.get_action, action.id, day(3, 15))
    b, a = get(known(3, 19)), get(known(3, 21))
    assert (b["status"], b["status_since"], b["status_late"], b["version"]) == (
        "in_progress", day(2, 10), False, 3)  # fmt: skip
    assert (a["status"], a["status_since"], a["status_late"], a["version"]) == (
        "completed", day(3, 10), True, 4)  # fmt: skip
    assert action_view(engine, action.id, day(3, 9))[0] == "in_progress"


def test_overdue_is_derived_for_the_as_of_date():
    log = Log()
    late = plan_action(log, at(2, 1))
    undated = plan_action(log, at(2, 1), due_on=None, owners=["SK"])
    log(at(4, 10), late.change_status, status="completed")
    engine = project(log, actions.ActionsProjection(LONDON))
    get = partial(asof, engine, actions.get_action, late.id)
    days = (day(3, 31), day(4, 1), day(4, 9), day(4, 10))
    assert [get(d)["overdue"] for d in days] == [False, True, True, False]
    assert get(day(4, 20), known(4, 9))["overdue"] is True  # completion not yet recorded
    for flag, ids in ((True, [late.id]), (False, [undated.id])):
        items, total = query(engine, actions.actions_where, day(4, 5), NOW, overdue=flag)
        assert ([a["id"] for a in items], total) == (ids, 1)
    assert query(engine, actions.actions_where, day(4, 10), NOW, overdue=True) == ([], 0)


def test_overdue_follows_the_status_and_the_due_date_in_effect_on_the_as_of_date():
    """In progress past its due date is overdue, cancelled is not, a new due date counts
    from the day it took effect, and an action due "to be confirmed" never is."""
    log = Log()
    working, dropped, moved = (plan_action(log, at(2, 1)) for _ in range(3))  # due 31 March
    undated = plan_action(log, at(2, 1), due_on=None)
    log(at(2, 10), working.change_status, status="in_progress")
    log(at(4, 2), dropped.change_status, status="cancelled")
    log(at(4, 5), moved.reschedule, due_on=day(4, 30))
    engine = project(log, actions.ActionsProjection(LONDON))

    def overdue(action, *days):
        return [asof(engine, actions.get_action, action.id, d)["overdue"] for d in days]

    assert overdue(working, day(3, 31), day(4, 1), day(12, 31)) == [False, True, True]
    assert overdue(dropped, day(4, 1), day(4, 2), day(12, 31)) == [True, False, False]
    assert overdue(moved, day(4, 4), day(4, 5), day(4, 30), day(5, 1)) == [True, False, False, True]
    assert overdue(undated, day(4, 1), day(12, 31)) == [False, False]


@pytest.fixture
def register():
    log, audit_id = Log(), uuid4()
    a1 = plan_action(log, at(2, 1))
    a2 = plan_action(log, at(2, 2), owners=["SK", "PK"], recommendation=2, due_on=None)
    a3 = plan_action(log, at(2, 3), origin="audit", plan_id=None, recommendation=None,
                     audit_id=audit_id, case_ref="CR-7", owners=["Team|North"])  # fmt: skip
    engine = project(log, actions.ActionsProjection(LONDON))

    def ids(as_of=day(3, 1), **kw):  # noqa: B008
        items, total = query(engine, actions.actions_where, as_of, NOW, **kw)
        return [a["id"] for a in items], total

    return ids, audit_id, a1.id, a2.id, a3.id


def test_register_filters_order_and_pages(register):
    ids, audit_id, a1, a2, a3 = register
    assert ids() == ([a1, a2, a3], 3)
    assert (ids(owner="PK"), ids(owner="P")) == (([a1, a2], 2), ([], 0))
    assert ids(origin="audit") == ids(audit_id=audit_id) == ([a3], 1)
    assert ids(recommendation=2, status="not_started") == ([a2], 1)
    assert ids(status="completed") == ([], 0)
    assert ids(limit=1, offset=1) == ([a2], 3)
    assert ids(day(2, 1)) == ([a1], 1)


def test_owner_filter_is_case_sensitive_as_on_postgresql(register):
    assert register[0](owner="pk") == ([], 0)


def test_owner_filter_matches_whole_owner_names_only(register):
    assert register[0](owner="Team") == ([], 0)


# Audits.


def audit_list(engine, as_of, known_at=NOW, **filters):
    where = audits.audit_filters(as_of, known_at, **filters)
    return query(engine, audits.audits_where, where, limit=50, offset=0)


def test_correction_applies_from_the_start_as_known_from_when_it_was_recorded():
    log = Log()
    a = audit(log, at(3, 2), audited_on=day(3, 1))
    changes = {"overall_grade": "requires_improvement", "service_area": "child_protection"}
    log(at(3, 10), a.correct, changes=changes)
    engine = project(log, audits.AuditsProjection(LONDON))
    get = partial(asof, engine, audits.get_audit, a.id)
    assert get(day(2, 29)) is None
    then, now = get(day(3, 1), known(3, 5)), get(day(3, 1))
    assert (then["grade"], then["service_area"], then["corrections"], then["version"]) == (
        "good", "assessment", 0, 1)  # fmt: skip
    assert (now["grade"], now["auditor_grade"], now["service_area"], now["corrections"]) == (
        "requires_improvement", "requires_improvement", "child_protection", 1)  # fmt: skip
    assert (now["version"], now["late"], now["first_recorded_us"]) == (2, True, known(3, 2))
    assert audit_list(engine, day(3, 5), known(3, 5), service_area="assessment")[1] == 1
    assert audit_list(engine, day(3, 5), service_area="assessment")[1] == 0
    assert audit_list(engine, day(3, 5), service_area="child_protection")[1] == 1


def test_moderation_sets_grade_from_its_date_and_withdrawal_removes_from_the_register():
    log = Log()
    a = audit(log, at(3, 1))
    log(at(3, 20), a.moderate, grade="requires_improvement", effective_on=day(3, 15))
    log(at(4, 2), a.withdraw, reason="wrong child", effective_on=day(4, 1))
    engine = project(log, audits.AuditsProjection(LONDON))
    get = partial(asof, engine, audits.get_audit, a.id)
    before, after = get(day(3, 14)), get(day(3, 15))
    assert (before["grade"], before["moderation"]) == ("good", None)
    assert (after["grade"], after["auditor_grade"]) == ("requires_improvement", "good")
    assert after["moderation"] == {"grade": "requires_improvement", "rationale": "seen",
                                   "effective_on": "2016-03-15", "moderator": "m",
                                   "late": True}  # fmt: skip
    assert get(day(3, 16), known(3, 19))["grade"] == "good"  # not yet recorded
    assert audit_list(engine, day(3, 15), grade="requires_improvement")[1] == 1
    assert audit_list(engine, day(3, 14), grade="requires_improvement")[1] == 0
    assert audit_list(engine, day(3, 31))[1] == 1
    assert audit_list(engine, day(4, 1)) == ([], 0)
    assert audit_list(engine, day(4, 1), known(4, 1, 23))[1] == 1  # not yet recorded
    items, total = audit_list(engine, day(4, 1), include_withdrawn=True)
    withdrawn = {"reason": "wrong child", "effective_on": "2016-04-01", "by": "m"}
    assert (total, items[0]["id"], items[0]["withdrawn"]) == (1, a.id, withdrawn)
    where = audits.audit_filters(day(4, 1), NOW)
    assert query(engine, audits.distribution, where)["overall"]["total"] == 0


def test_distribution_counts_shares_groups_and_moderation_agreement():
    log = Log()
    audit(log, at(1, 15))
    audit(log, at(3, 10), audit_type="thematic", theme="neglect", overall_grade="outstanding")
    a3 = audit(log, at(4, 5), service_area="child_protection", overall_grade="requires_improvement")
    a4 = audit(log, at(4, 6), service_area="child_protection", overall_grade="inadequate")
    log(at(4, 6), a4.moderate, grade="inadequate")
    log(at(4, 20), a3.moderate, grade="good")
    engine = project(log, audits.AuditsProjection(LONDON))

    def dist(as_of, **filters):
        return query(engine, audits.distribution, audits.audit_filters(as_of, NOW, **filters))

    d = dist(day(5, 1))
    shares = grades(0.25, 0.5, 0.0, 0.25)
    assert d["overall"] == {"total": 4, "counts": grades(1, 2, 0, 1), "shares": shares,
                            "good_or_better": 0.75}  # fmt: skip
    by = {k: [(g["key"], g["total"], g["good_or_better"]) for g in v] for k, v in d.items()
          if isinstance(v, list)}  # fmt: skip
    assert by["month"] == [("2016-01", 1, 1.0), ("2016-03", 1, 1.0), ("2016-04", 2, 0.5)]
    assert by["quarter"] == [("2016-Q1", 2, 1.0), ("2016-Q2", 2, 0.5)]
    assert by["service_area"] == [("assessment", 2, 1.0), ("child_protection", 2, 0.5)]
    assert by["audit_type"] == [("core", 3, 0.667), ("thematic", 1, 1.0)]
    assert d["quarter"][1]["counts"] == grades(0, 1, 0, 1)
    assert d["moderation"] == {"moderated": 2, "agreed": 1, "agreement_rate": 0.5}
    assert dist(day(4, 10))["overall"]["counts"] == grades(1, 1, 1, 1)
    assert dist(day(4, 10))["moderation"] == {"moderated": 1, "agreed": 1, "agreement_rate": 1.0}
    assert dist(day(5, 1), audit_type="thematic")["overall"]["counts"] == grades(1, 0, 0, 0)
    empty = dist(day(1, 1))
    assert [empty["overall"]["good_or_better"], empty["moderation"]["agreement_rate"]] == [None] * 2


# Plans.


def test_plan_tree_as_of_a_date_and_as_known_at_a_time():
    log = Log()
    plan = log(at(1, 10), ImprovementPlan.create, id=PLAN, title="Plan 2016", source="Ofsted",
               published_on=day(1, 10))  # fmt: skip
    log(at(1, 10), plan.add_lead, initials="PK", name="Pat K", effective_on=None)
    rec = dict(area="MASH", text="Improve the front door", leads=["PK"])
    log(at(1, 10), plan.add_recommendation, number=1, effective_on=None, **rec)
    action = plan_action(log, at(1, 12))
    log(at(1, 12), plan.attach_action, recommendation=1, action_id=action.id)
    log(at(2, 1), plan.add_lead, initials="SK", name="Sam K", job_title="HoS")
    log(at(2, 15), plan.add_lead, initials="JB", name="Jo B", effective_on=day(1, 20))  # late
    log(at(3, 1), plan.add_recommendation, number=2, **rec)
    review = dict(recommendation=1, impact="amber", reason=None)
    log(at(4, 8), plan.record_review, quarter="2016-Q1", progress="amber", **review)
    log(at(7, 12), plan.record_review, quarter="2016-Q2", progress="green", **review)
    restated = review | {"reason": "restated", "quarter": "2016-Q1", "progress": "red"}
    log(at(7, 20), plan.record_review, **restated)
    engine = project(log, actions.ActionsProjection(LONDON), plans.PlansProjection(LONDON))
    tree = partial(asof, engine, plans.plan_tree, PLAN)

    def leads(as_of, known_at=NOW):
        return [lead["initials"] for lead in tree(as_of, known_at)["leads"]]

    def latest(as_of, known_at=NOW):
        r = tree(as_of, known_at)["recommendations"][0]["latest_review"]
        return r and (r["quarter"], r["progress"], r["recorded_by"])

    assert (tree(day(1, 9)), tree(day(1, 10), known(1, 9))) == (None, None)
    assert (leads(day(1, 10)), leads(day(1, 19))) == (["PK"], ["PK"])
    assert (leads(day(2, 1), known(2, 10)), leads(day(2, 1))) == (["PK", "SK"], ["JB", "PK", "SK"])
    numbers = [tree(day(2, 29)), tree(day(3, 1)), tree(day(3, 1), known(2, 29))]
    assert [[r["number"] for r in t["recommendations"]] for t in numbers] == [[1], [1, 2], [1]]
    assert latest(day(4, 7)) is None
    assert latest(day(4, 8)) == ("2016-Q1", "amber", "m")
    assert latest(day(7, 31)) == ("2016-Q2", "green", "m")  # the restated Q1 is older
    assert latest(day(7, 31), known(7, 11)) == ("2016-Q1", "amber", "m")
    t = tree(day(4, 8))
    assert [a["id"] for a in t["recommendations"][0]["actions"]] == [action.id]
    assert t["recommendations"][1]["actions"] == []
    assert t["counts"] == {"actions": 1, "completed": 0, "overdue": 1}
    assert (t["title"], t["published_on"], t["version"]) == ("Plan 2016", day(1, 10), 10)


def test_the_latest_review_is_the_latest_quarters_and_a_replacement_takes_its_place():
    log = Log()
    plan = log(at(1, 10), ImprovementPlan.create, id=PLAN, title="Plan 2016", source="Ofsted",
               published_on=day(1, 10))  # fmt: skip
    log(at(1, 10), plan.add_lead, initials="PK", name="Pat K", effective_on=None)
    rec = dict(area="MASH", text="Improve the front door", leads=["PK"])
    log(at(1, 10), plan.add_recommendation, number=1, effective_on=None, **rec)
    review = dict(recommendation=1, impact="amber", reason=None)
    log(at(7, 5), plan.record_review, quarter="2016-Q3", progress="red", **review)
    log(at(7, 6), plan.record_review, quarter="2016-Q2", progress="green", **review)
    replaced = review | {"reason": "figures revised"}
    log(at(7, 8), plan.record_review, quarter="2016-Q3", progress="amber", **replaced)
    engine = project(log, actions.ActionsProjection(LONDON), plans.PlansProjection(LONDON))

    def latest(as_of):
        r = asof(engine, plans.plan_tree, PLAN, as_of)["recommendations"][0]["latest_review"]
        return r and (r["quarter"], r["progress"])

    assert latest(day(7, 4)) is None
    assert latest(day(7, 6)) == ("2016-Q3", "red")  # Q2, reviewed later, is the older quarter
    assert latest(day(7, 8)) == ("2016-Q3", "amber")


# Learning weeks.


def test_week_summary_figures_closure_and_comparison_with_previous_week():
    log = Log()

    def week(when, title, *graded):
        w = log(when, LearningWeek.open, title=title, starts_on=when.date(),
                ends_on=date.fromordinal(when.toordinal() + 4))  # fmt: skip
        for on, grade in graded:
            kw = dict(audit_type="learning_week", learning_week_id=w.id, overall_grade=grade)
            log(on, w.add_audit, audit_id=audit(log, on, **kw).id, audited_on=on.date())
        return w

    def feedback(w, when, respondent, score, knew, **kw):
        kw |= dict(respondent=respondent, satisfaction=score, knew_why_involved=knew)
        log(when, w.record_feedback, **kw)

    spring = week(at(3, 7), "Spring week", (at(3, 8), "good"))
    feedback(spring, at(3, 8), "parent", 8, True)
    feedback(spring, at(3, 9), "child", 6, False)
    log(at(3, 11), spring.close)
    summer_audits = [(at(6, 7), "outstanding"), (at(6, 8), "requires_improvement")]
    summer = week(at(6, 6), "Summer week", *summer_audits)
    feedback(summer, at(6, 7), "parent", 9, True)
    feedback(summer, at(6, 8), "carer", 7, True)
    findings = [(8, "strength", "voice"), (9, "improvement", "timeliness")]
    for dd, kind, theme in [*findings, (9, "strength", "relationships")]:
        log(at(6, dd), summer.record_finding, kind=kind, theme=theme, text=f"{theme}.")
    feedback(summer, at(6, 15), "young_person", 5, False, effective_on=day(6, 9))  # late
    log(at(6, 16), summer.close, effective_on=day(6, 10))  # late
    weeks = learning_weeks.LearningWeeksProjection(LONDON)
    engine = project(log, audits.AuditsProjection(LONDON), weeks)
    summary = partial(asof, engine, learning_weeks.week_summary)

    def figures(s):
        return s["feedback_count"], s["mean_satisfaction"], s["share_knew_why_involved"]

    assert summary(summer.id, day(6, 5)) is None
    s = summary(summer.id, day(6, 8))
    assert (figures(s), s["audits"], s["share_good_or_better"]) == ((2, 8.0, 1.0), 2, 0.5)
    s = summary(summer.id, day(6, 10), known(6, 12))
    assert (figures(s), s["closed_on"]) == ((2, 8.0, 1.0), None)
    s = summary(summer.id, day(6, 10))
    assert (s["title"], s["starts_on"], s["ends_on"], s["closed_on"]) == (
        "Summer week", day(6, 6), day(6, 10), day(6, 10))  # fmt: skip
    assert (figures(s), s["grades"], s["good_or_better"]) == (
        (3, 7.0, 0.667), grades(1, 0, 1, 0), 1)  # fmt: skip
    assert [f["theme"] for f in s["findings"]["strength"]] == ["voice", "relationships"]
    assert [f["text"] for f in s["findings"]["improvement"]] == ["timeliness."]
    c = s["comparison"]
    assert (c["previous_week_id"], c["previous_title"], c["previous_starts_on"]) == (
        spring.id, "Spring week", day(3, 7))  # fmt: skip
    assert c["previous"] == {"audits": 1, "share_good_or_better": 1.0, "feedback_count": 2,
                             "mean_satisfaction": 7.0, "share_knew_why_involved": 0.5}  # fmt: skip
    assert c["change"] == {"audits": 1, "share_good_or_better": -0.5, "feedback_count": 1,
                           "mean_satisfaction": 0.0, "share_knew_why_involved": 0.167}  # fmt: skip
    assert summary(spring.id, day(6, 10))["comparison"] is None


# The runner.


class Source(list):
    """A fake notification log over a list of events: notification ids 1, 2, ..."""

    def select_notifications(self, start, limit, inclusive_of_start=True):
        first = max((start or 0) + (not inclusive_of_start), 1)
        ids = range(first, min(first + limit, len(self) + 1))
        return [SimpleNamespace(id=i, event=self[i - 1]) for i in ids]

    def max_notification_id(self):
        return len(self) or None

    def to_domain_event(self, notification):
        return notification.event


class Flaky:
    fail_at = None

    def handle(self, event, conn, position):
        if position == self.fail_at:
            raise RuntimeError("boom")
        super().handle(event, conn, position)


class FlakyPlans(Flaky, plans.PlansProjection):
    pass


class FlakyActions(Flaky, actions.ActionsProjection):
    pass


def history():
    log = Log()
    plan = log(at(1, 10), ImprovementPlan.create, id=PLAN, title="P", source="S",
               published_on=day(1, 10))  # fmt: skip
    log(at(1, 10), plan.add_lead, initials="PK", name="Pat")
    action = plan_action(log, at(2, 1))  # position 3
    log(at(2, 10), action.change_status, status="in_progress")
    log(at(2, 15), plan.add_lead, initials="SK", name="Sam")
    log(at(2, 20), action.reschedule, due_on=day(5, 31), effective_on=day(2, 5))
    log(at(3, 5), audit(log, at(3, 1)).moderate, grade="outstanding")
    w = log(at(3, 7), LearningWeek.open, title="W", starts_on=day(3, 7), ends_on=day(3, 11))
    log(at(3, 9), w.record_feedback, respondent="parent", satisfaction=9, knew_why_involved=True)
    return log


def all_projections():
    kinds = (actions.ActionsProjection, audits.AuditsProjection, plans.PlansProjection)
    return [kind(LONDON) for kind in (*kinds, learning_weeks.LearningWeeksProjection)]


def dump(engine, projections):
    """Every row of every read model (without surrogate row ids), in a stable order."""
    with engine.connect() as conn:
        tables = [t for p in projections for t in p.metadata.sorted_tables]
        rows = {
            t.name: conn.execute(select(*(c for c in t.c if c.name != "row_id"))) for t in tables
        }
        return {name: sorted(map(repr, result)) for name, result in rows.items()}


def test_catch_up_in_pages_is_idempotent_and_rebuild_equals_incremental():
    events, engine, projections, pages = history(), engine_(), all_projections(), []
    source = Source(events[:9])
    runner = Runner(engine, source, projections, page_size=4)
    runner.create_tables()
    assert runner.catch_up(lambda _, n: pages.append(n)) == 9
    assert (pages, runner.positions()) == ([4, 4, 1], {p.name: 9 for p in projections})
    before = dump(engine, projections)
    assert (runner.catch_up(), dump(engine, projections)) == (0, before)  # nothing new to do
    source.extend(events[9:])
    assert runner.lag()["actions"] == {"position": 9, "lag": len(events) - 9}
    assert runner.catch_up() == len(events) - 9
    incremental = dump(engine, projections)
    assert Runner(engine, source, projections).rebuild() == len(events)  # in one page
    assert dump(engine, projections) == incremental
    assert runner.lag()["plans"] == {"position": len(events), "lag": 0}
    assert action_view(engine, events[2].originator_id, day(2, 7))[:2] == (
        "not_started",
        day(5, 31),
    )


def test_an_event_a_read_model_cannot_apply_stops_it_there_and_no_other():
    events, engine = history(), engine_()
    projections = [FlakyPlans(LONDON), FlakyActions(LONDON)]
    runner = Runner(engine, Source(events), projections, page_size=3)
    runner.create_tables()
    projections[1].fail_at = 6  # page 2 is events 4-6: status change, plan lead, reschedule
    assert runner.catch_up() == len(events)
    assert runner.positions() == {"plans": len(events), "actions": 5}
    [failure] = runner.failures().values()
    assert (failure.name, failure.position, failure.reason) == ("actions", 6, "RuntimeError: boom")
    a = query(engine, actions.get_action, events[2].originator_id, day(2, 12), NOW)
    assert (a["status"], a["version"]) == ("in_progress", 2)  # event 4 was applied

    projections[1].fail_at = None  # fixed
    runner.retry()
    assert runner.failures() == {}
    assert runner.positions() == {"plans": len(events), "actions": len(events)}
    fresh = project(events, plans.PlansProjection(LONDON), actions.ActionsProjection(LONDON))
    assert dump(engine, projections) == dump(fresh, projections)


def test_a_page_that_fails_for_the_database_moves_nothing_and_marks_nothing():
    from sqlalchemy.exc import OperationalError

    class Down(plans.PlansProjection):
        def handle(self, event, conn, position):
            if position == 5:
                raise OperationalError("INSERT", {}, Exception("database is locked"))
            super().handle(event, conn, position)

    events, engine = history(), engine_()
    projections = [Down(LONDON), actions.ActionsProjection(LONDON)]
    runner = Runner(engine, Source(events), projections, page_size=3)
    runner.create_tables()
    with pytest.raises(OperationalError):
        runner.catch_up()
    assert runner.positions() == {"plans": 3, "actions": 3}
    assert runner.failures() == {}


def test_rebuild_accepts_any_iterable_of_names():
    events, engine, projections = history(), engine_(), all_projections()
    runner = Runner(engine, Source(events), projections)
    runner.create_tables()
    runner.catch_up()
    expected = dump(engine, projections)
    with engine.begin() as conn:
        conn.execute(delete(plans.plan_changes))
    runner.rebuild(iter(["actions", "plans"]))
    assert dump(engine, projections) == expected
