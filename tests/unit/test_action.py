"""Unit tests of the Action aggregate: raising, lifecycle, reschedule, reassign.

Whether an action is overdue is a rule of the read model: tests/unit/test_projections.py."""

from __future__ import annotations

from contextvars import Context
from datetime import UTC, date, datetime
from itertools import product
from uuid import uuid4

import pytest
from eventsourcing.application import Application
from eventsourcing.persistence import StoredEvent

from events.action import Action
from events.context import NoOneActing
from events.rules import ACTION_STATUSES, TRANSITIONS, InvalidInput, Refused
from qa_service.transcodings import DateAsISO
from tests.unit.people import TODAY, as_auditor

RAISED = date(2026, 10, 1)
DUE = date(2026, 12, 31)


class App(Application):
    def register_transcodings(self, t):
        super().register_transcodings(t)
        t.register(DateAsISO())


def replay(aggregate):
    app = App(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    app.save(aggregate)
    return app.repository.get(aggregate.id)


def raise_action(**over):
    kw = dict(
        id=uuid4(),
        origin="plan",
        plan_id=uuid4(),
        recommendation=1,
        description="  Audit all CP plans  ",
        owners=["PK"],
        due_on=DUE,
        effective_on=RAISED,
    )
    kw.update(over)
    return Action.raise_action(**kw)


def fresh(**over):
    action = raise_action(**over)
    action.collect_events()
    return action


def change(action, status, on=date(2026, 11, 1), reason="because", **over):
    kw = dict(status=status, effective_on=on, reason=reason)
    action.change_status(**(kw | over))


def in_status(status):
    """A fresh action, moved to ``status`` on 2026-10-10, with its events collected."""
    action = fresh()
    if status != "not_started":
        change(action, status, on=date(2026, 10, 10))
    action.collect_events()
    return action


def refused(action, exc, call, *args, **kw):
    """Call, expect ``exc``, and check nothing was recorded. Returns the exception."""
    assert action.collect_events() == []
    with pytest.raises(exc) as info:
        call(*args, **kw)
    assert action.collect_events() == []
    return info.value


def test_raise_records_state_and_one_raised_event():
    plan_id = uuid4()
    action = raise_action(plan_id=plan_id, recommendation=3)
    assert (action.origin, action.plan_id, action.recommendation) == ("plan", plan_id, 3)
    assert action.description == "Audit all CP plans"
    assert action.owners == ["PK"]
    assert (action.due_on, action.raised_on, action.raised_by) == (DUE, RAISED, "mgr-1")
    assert (action.status, action.status_since, action.status_reason) == (
        "not_started",
        RAISED,
        None,
    )
    [raised] = action.collect_events()
    assert type(raised).__name__ == "Raised"
    assert (raised.actor, raised.actor_role, raised.effective_on) == ("mgr-1", "manager", RAISED)


def test_plan_action_may_be_due_tbc_but_audit_action_needs_due_date_and_names_its_audit():
    assert raise_action(due_on=None).due_on is None
    audit_id = uuid4()
    action = raise_action(origin="audit", plan_id=None, recommendation=None, audit_id=audit_id)
    assert (action.audit_id, action.case_ref) == (audit_id, None)
    with pytest.raises(InvalidInput) as info:
        raise_action(origin="audit", plan_id=None, recommendation=None, due_on=None)
    assert set(info.value.errors) == {"due_on", "audit_id"}
    assert "a due date is required" in info.value.errors["due_on"]


@pytest.mark.parametrize(
    "over, field, message",
    [
        ({"origin": "email"}, "origin", "must be one of: plan, audit"),
        ({"effective_on": date(2026, 11, 24)}, "effective_on", "2026-11-24 is in the future"),
        ({"description": "   "}, "description", "must not be blank"),
        ({"description": "x" * 2001}, "description", "at most 2000 characters"),
        ({"owners": []}, "owners", "at least one owner is required"),
        ({"owners": ["PK", " "]}, "owners", "an owner must not be blank"),
        ({"owners": ["PK", "PK"]}, "owners", "an owner is named twice"),
        ({"plan_id": None}, "plan_id", "a plan action names its plan"),
        ({"recommendation": None}, "recommendation", "names its recommendation"),
        (
            {"origin": "audit", "audit_id": uuid4(), "due_on": date(2026, 9, 30)},
            "due_on",
            "must not be before 2026-10-01",
        ),
    ],
)
def test_raise_refuses_bad_input(over, field, message):
    with pytest.raises(InvalidInput) as info:
        raise_action(**over)
    assert list(info.value.errors) == [field]
    assert message in info.value.errors[field][0]


def test_field_prefix_names_the_fields_of_a_nested_action():
    with pytest.raises(InvalidInput) as info:
        raise_action(owners=[], effective_on=date(2027, 1, 1), field_prefix="actions[2].")
    assert set(info.value.errors) == {"actions[2].owners", "actions[2].effective_on"}


# The lifecycle written out from the spec (not read from TRANSITIONS), so a change there shows.
ALLOWED = [
    *[("not_started", s) for s in ("in_progress", "completed", "cancelled")],
    *[("in_progress", s) for s in ("not_started", "completed", "cancelled")],
    *[(c, s) for c in ("completed", "cancelled") for s in ("in_progress", "not_started")],
]
NOT_ALLOWED = [p for p in product(ACTION_STATUSES, repeat=2) if p not in ALLOWED]


def test_transitions_table_matches_the_spec():
    assert {(a, b) for a, targets in TRANSITIONS.items() for b in targets} == set(ALLOWED)


@pytest.mark.parametrize("before, after", ALLOWED)
def test_every_allowed_transition_is_recorded(before, after):
    action = in_status(before)
    change(action, after, on=date(2026, 11, 2), reason="  agreed at panel ")
    assert (action.status, action.status_since) == (after, date(2026, 11, 2))
    assert action.status_reason == "agreed at panel"
    [ev] = action.collect_events()
    assert type(ev).__name__ == "StatusChanged"
    assert (ev.status, ev.effective_on, ev.reason) == (after, date(2026, 11, 2), "agreed at panel")
    assert (ev.actor, ev.actor_role) == ("mgr-1", "manager")


@pytest.mark.parametrize("before, after", NOT_ALLOWED)
def test_every_other_transition_is_refused(before, after):
    action = in_status(before)
    error = refused(action, Refused, change, action, after, reason="r")
    expected = "already" if before == after else f"cannot move from {before} to {after}"
    assert expected in str(error)
    assert action.status == before


@pytest.mark.parametrize(
    "before, after, why",
    [
        ("not_started", "cancelled", "cancelling an action"),
        ("in_progress", "cancelled", "cancelling an action"),
        ("in_progress", "not_started", "moving an action back to not_started"),
        ("completed", "in_progress", "reopening an action"),
        ("completed", "not_started", "reopening an action"),
        ("cancelled", "in_progress", "reopening an action"),
        ("cancelled", "not_started", "reopening an action"),
    ],
)
@pytest.mark.parametrize("reason", [None, "", "   "])
def test_cancelling_reopening_and_going_back_need_a_reason(before, after, why, reason):
    action = in_status(before)
    error = refused(action, InvalidInput, change, action, after, reason=reason)
    assert error.errors == {"reason": [f"a reason is required when {why}"]}


@pytest.mark.parametrize(
    "before, after",
    [("not_started", "in_progress"), ("not_started", "completed"), ("in_progress", "completed")],
)
def test_moving_forward_needs_no_reason(before, after):
    action = in_status(before)
    change(action, after, reason=None)
    assert (action.status, action.status_reason) == (after, None)


def test_status_must_be_a_known_status():
    action = fresh()
    error = refused(action, InvalidInput, change, action, "done").errors
    assert error == {"status": ["must be one of: not_started, in_progress, completed, cancelled"]}


def test_status_change_effective_on_is_not_future_nor_before_the_last_change():
    action = in_status("in_progress")  # since 2026-10-10
    error = refused(action, InvalidInput, change, action, "completed", on=date(2026, 11, 24))
    assert "is in the future" in error.errors["effective_on"][0]
    error = refused(action, InvalidInput, change, action, "completed", on=date(2026, 10, 9))
    assert error.errors["effective_on"] == [
        "must not be before 2026-10-10, when its status last changed"
    ]
    change(action, "completed", on=date(2026, 10, 10))
    assert action.status == "completed"


def test_reschedule_records_new_and_previous_due_dates():
    action = fresh()
    action.reschedule(due_on=date(2027, 3, 1), effective_on=RAISED, reason=" slipped ")
    assert action.due_on == date(2027, 3, 1)
    [ev] = action.collect_events()
    assert type(ev).__name__ == "Rescheduled"
    assert (ev.due_on, ev.previous_due_on, ev.reason) == (date(2027, 3, 1), DUE, "slipped")
    assert (ev.effective_on, ev.actor, ev.actor_role) == (RAISED, "mgr-1", "manager")
    action.reschedule(due_on=None, effective_on=TODAY, reason="tbc")
    assert action.due_on is None


def resched(action, **over):
    kw = dict(due_on=date(2027, 1, 31), effective_on=TODAY, reason="r")
    action.reschedule(**(kw | over))


def reassign(action, **over):
    kw = dict(owners=["JB", "PK"], effective_on=TODAY, reason="r")
    action.reassign(**(kw | over))


def test_reassign_records_new_and_previous_owners():
    action = fresh()
    reassign(action, reason=" PK left ")
    assert action.owners == ["JB", "PK"]
    [ev] = action.collect_events()
    assert type(ev).__name__ == "Reassigned"
    assert (ev.owners, ev.previous_owners, ev.reason) == (["JB", "PK"], ["PK"], "PK left")
    assert (ev.effective_on, ev.actor, ev.actor_role) == (TODAY, "mgr-1", "manager")


AUDIT = {"origin": "audit", "audit_id": uuid4()}


@pytest.mark.parametrize(
    "command, made, over, field, message",
    [
        *[
            (command, {}, {"reason": blank}, "reason", "must not be blank")
            for command in (resched, reassign)
            for blank in (None, "", "  ")
        ],
        *[
            (command, {}, {"effective_on": day}, "effective_on", message)
            for command, what in ((resched, "its due date"), (reassign, "its owners"))
            for day, message in (
                (date(2026, 9, 30), f"must not be before 2026-10-01, when {what} last changed"),
                (date(2026, 11, 24), "2026-11-24 is in the future (today is 2026-11-23)"),
            )
        ],
        (resched, AUDIT, {"due_on": None}, "due_on", "a due date is required"),
        (reassign, {}, {"owners": []}, "owners", "at least one owner is required"),
        (reassign, {}, {"owners": ["JB", " "]}, "owners", "an owner must not be blank"),
        (reassign, {}, {"owners": ["JB", "JB"]}, "owners", "an owner is named twice"),
    ],
)
def test_reschedule_and_reassign_refuse_bad_input(command, made, over, field, message):
    action = fresh(**made)
    error = refused(action, InvalidInput, command, action, **over)
    assert error.errors == {field: [message]}
    assert (action.due_on, action.owners) == (DUE, ["PK"])


@pytest.mark.parametrize(
    "command, made, over, message",
    [
        (resched, {}, {"due_on": DUE}, "the action is already due on 2026-12-31"),
        (resched, {"due_on": None}, {"due_on": None}, "already due on a date to be confirmed"),
        (reassign, {}, {"owners": ["PK"]}, "the action already has exactly those owners"),
    ],
)
def test_reschedule_and_reassign_refuse_changes_that_change_nothing(command, made, over, message):
    action = fresh(**made)
    assert message in str(refused(action, Refused, command, action, **over))


def test_replay_rebuilds_the_same_state():
    action = raise_action(owners=["PK", "JB"])
    change(action, "in_progress", on=date(2026, 10, 5))
    resched(action, due_on=date(2027, 2, 1))
    reassign(action, owners=["JB"])
    change(action, "cancelled", on=date(2026, 11, 20), reason="superseded")
    change(action, "in_progress", on=date(2026, 11, 21), reason="reopened by panel")
    again = replay(action)
    assert again.version == action.version == 6
    assert vars(again) == vars(action)
    assert again.due_on == date(2027, 2, 1) and again.owners == ["JB"]
    assert (again.status, again.status_since) == ("in_progress", date(2026, 11, 21))


def test_each_event_records_who_was_acting_when_it_was_recorded():
    action = fresh()
    with as_auditor():
        change(action, "in_progress")
    [ev] = action.collect_events()
    assert (ev.actor, ev.actor_role) == ("aud-1", "auditor")
    assert action.raised_by == "mgr-1"


def test_with_no_one_acting_a_command_fails_and_records_nothing():
    action = fresh()
    with pytest.raises(NoOneActing):
        Context().run(change, action, "in_progress")  # a context where no one acts
    assert (action.collect_events(), action.status) == ([], "not_started")


def test_an_event_stored_with_its_actor_as_a_field_replays_the_same_outside_any_context():
    """Stored events hold ``actor`` and ``actor_role`` in their state, written when they
    were fields of each event method: they decode as they always did."""
    app, action_id = App(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}), uuid4()
    state = {
        "timestamp": datetime(2026, 10, 1, 9, tzinfo=UTC),
        "originator_topic": "events.action:Action",
        "origin": "audit", "plan_id": None, "recommendation": None, "audit_id": uuid4(),
        "case_ref": "CR-1", "description": "Visit", "owners": ["SW1"], "due_on": DUE,
        "effective_on": RAISED, "actor": "aud-9", "actor_role": "auditor",
    }  # fmt: skip
    topic = "events.action:Action.Raised"
    encoded = app.mapper.transcoder.encode(state)
    app.recorder.insert_events([StoredEvent(action_id, 1, topic, encoded)])
    action = Context().run(app.repository.get, action_id)
    [event] = Context().run(lambda: list(app.events.get(action_id)))
    assert (event.actor, event.actor_role) == ("aud-9", "auditor")
    assert (action.raised_by, action.raised_on, action.due_on) == ("aud-9", RAISED, DUE)
