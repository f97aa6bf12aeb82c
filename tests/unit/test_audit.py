"""Unit tests of the CaseAudit aggregate: record, moderate, correct, withdraw."""

from __future__ import annotations

from datetime import date
from uuid import uuid4

import pytest
from eventsourcing.application import Application

from events.audit import record_audit
from events.rules import AUDIT_TYPES, GRADES, SERVICE_AREAS, InvalidInput, Refused
from qa_service.transcodings import DateAsISO
from tests.unit.people import TODAY, as_auditor

AUDITED = date(2026, 11, 20)
DUE = date(2026, 12, 20)
REQUIRED = ("case_ref", "service_area", "audit_type", "overall_grade")
NAMES = ("Jane Smith", "JaneSmith", "Smith, J.", "J. Smith 2", "C1", "")


class App(Application):
    def register_transcodings(self, t):
        super().register_transcodings(t)
        t.register(DateAsISO())


def replay(aggregate, *others):
    app = App(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    app.save(aggregate, *others)
    return app.repository.get(aggregate.id)


def fields(**over):
    out = dict(
        case_ref="CS-104233",
        service_area="child_protection",
        audit_type="core",
        theme=None,
        learning_week_id=None,
        audited_on=AUDITED,
        judgements={"assessment": "good", "voice_of_child": "requires_improvement"},
        overall_grade="good",
        strengths=["Child seen alone"],
        improvements=["Chronology out of date"],
    )
    out.update(over)
    return out


def spec(**over):
    return dict(description="Update chronology", owners=["SW1"], due_on=DUE) | over


def record(actions=(), **over):
    """Recorded by aud-1, an auditor; other commands here run as mgr-1, a manager, except
    corrections (the auditor's)."""
    with as_auditor():
        return record_audit(id=uuid4(), fields=fields(**over), actions=list(actions), new_id=uuid4)


def audit_of(actions=(), **over):
    audit, _ = record(actions, **over)
    audit.collect_events()
    return audit


def state(audit):
    fields = {k: v for k, v in vars(audit).items() if not k.startswith("_")}
    return fields | {"grade": audit.grade, "auditor": audit.auditor}


def refused(aggregate, exc, call, **kw):
    assert aggregate.collect_events() == []
    with pytest.raises(exc) as info:
        call(**kw)
    assert aggregate.collect_events() == []
    return info.value


def moderate(audit, **over):
    kw = dict(grade="good", rationale="Agreed", effective_on=TODAY, actions=[], new_id=uuid4)
    return audit.moderate(**(kw | over))


def correct(audit, changes, reason="typo", **over):
    with as_auditor():
        audit.correct(changes=changes, reason=reason, **over)


def test_record_keeps_every_field_and_records_one_event():
    audit, actions = record()
    assert actions == []
    assert state(audit) == {
        **fields(), "grade": "good", "auditor": "aud-1", "created_by": "aud-1", "action_ids": [],
        "moderation": None, "withdrawn": None, "corrections": 0,
    }  # fmt: skip
    [ev] = audit.collect_events()
    assert (type(ev).__name__, ev.actor, ev.actor_role) == ("Recorded", "aud-1", "auditor")
    assert (ev.audited_on, ev.case_ref, ev.overall_grade) == (AUDITED, "CS-104233", "good")


def test_inadequate_audit_raises_its_actions_for_the_child():
    audit, [action] = record([spec()], overall_grade="inadequate")
    assert audit.action_ids == [action.id]
    assert (action.origin, action.audit_id, action.case_ref) == ("audit", audit.id, "CS-104233")
    assert (action.owners, action.due_on, action.raised_on) == (["SW1"], DUE, AUDITED)
    [ev] = action.collect_events()
    assert (ev.actor, ev.actor_role) == ("aud-1", "auditor")


NAME = "must be a pseudonymous case number: 3 to 32 letters, digits, - or /, with at least one "
NAME += "digit (never a name)"
ONE_ACTION = "an audit graded inadequate must raise at least one action for the child"


def one_of(values):
    return "must be one of: " + ", ".join(values)


@pytest.mark.parametrize(
    "over, field, message",
    [
        *[({f: None}, f, "is required") for f in REQUIRED],
        *[({"case_ref": ref}, "case_ref", NAME) for ref in NAMES],
        ({"service_area": "mash"}, "service_area", one_of(SERVICE_AREAS)),
        ({"audit_type": "monthly"}, "audit_type", one_of(AUDIT_TYPES)),
        ({"overall_grade": "poor"}, "overall_grade", one_of(GRADES)),
        ({"judgements": {"visits": "ok"}}, "judgements.visits", one_of(GRADES)),
        ({"judgements": {"Visits": "good"}}, "judgements.Visits", "'Visits' is not a practice"),
        (
            {"judgements": {"voice_of_the_child": "good"}},
            "judgements.voice_of_the_child",
            "the domains are: assessment, planning, voice_of_child, management_oversight",
        ),
        ({"audited_on": date(2026, 11, 24)}, "audited_on", "2026-11-24 is in the future"),
        ({"strengths": ["ok", " "]}, "strengths[1]", "must not be blank"),
        ({"improvements": "one"}, "improvements", "must be a list of texts"),
        ({"audit_type": "thematic"}, "theme", "a thematic audit names its theme"),
        ({"audit_type": "learning_week"}, "learning_week_id", "names its learning week"),
        ({"overall_grade": "inadequate"}, "actions", ONE_ACTION),
    ],
)
def test_record_refuses_bad_input(over, field, message):
    with pytest.raises(InvalidInput) as info:
        record(**over)
    assert list(info.value.errors) == [field]
    [got] = info.value.errors[field]
    assert message in got


def test_an_audit_without_audited_on_was_audited_today():
    audit, _ = record(audited_on=None)
    assert audit.audited_on == TODAY


@pytest.mark.parametrize("ref", ["CS-104233", "104233", "LA/2016/17", "c99"])
def test_case_ref_accepts_case_numbers(ref):
    assert audit_of(case_ref=ref).case_ref == ref


@pytest.mark.parametrize("area", SERVICE_AREAS)
@pytest.mark.parametrize("grade", [g for g in GRADES if g != "inadequate"])
def test_every_service_area_and_grade_is_accepted(area, grade):
    audit = audit_of(service_area=area, overall_grade=grade, judgements={"visits": grade})
    assert (audit.service_area, audit.grade, audit.judgements) == (area, grade, {"visits": grade})


@pytest.mark.parametrize("kind", AUDIT_TYPES)
def test_every_audit_type_is_accepted(kind):
    week = uuid4()
    audit = audit_of(audit_type=kind, theme="Neglect", learning_week_id=week, audited_on=TODAY)
    assert (audit.audit_type, audit.theme, audit.learning_week_id) == (kind, "Neglect", week)


def test_each_remedial_action_is_checked_and_named_by_position():
    bad = [spec(), spec(due_on=None, owners=[]), spec(description="", due_on=date(2026, 11, 1))]
    with pytest.raises(InvalidInput) as info:
        record(bad, overall_grade="inadequate")
    error = info.value
    assert error.errors == {
        "actions[1].owners": ["at least one owner is required"],
        "actions[1].due_on": ["a due date is required"],
        "actions[2].description": ["must not be blank"],
        "actions[2].due_on": ["must not be before 2026-11-20"],
    }


def test_moderation_changes_the_grade_and_records_the_previous_one():
    audit = audit_of()
    assert moderate(audit, grade="requires_improvement", rationale=" Drift ") == []
    assert (audit.grade, audit.overall_grade) == ("requires_improvement", "good")
    assert audit.moderation == {
        "grade": "requires_improvement", "rationale": "Drift", "effective_on": TODAY,
        "moderator": "mgr-1",
    }  # fmt: skip
    [ev] = audit.collect_events()
    assert type(ev).__name__ == "Moderated"
    assert (ev.grade, ev.previous_grade, ev.action_ids) == ("requires_improvement", "good", [])
    assert (ev.actor, ev.actor_role, ev.effective_on) == ("mgr-1", "manager", TODAY)


@pytest.mark.parametrize(
    "over, field, message",
    [
        ({"grade": "fine"}, "grade", "must be one of: outstanding, good"),
        ({"rationale": "  "}, "rationale", "must not be blank"),
        ({"effective_on": date(2026, 11, 24)}, "effective_on", "is in the future"),
        ({"effective_on": date(2026, 11, 19)}, "effective_on", "before the audit itself"),
        ({"grade": "inadequate"}, "grade", "must raise at least one action"),
        ({"actions": [spec(owners=None)]}, "actions[0].owners", "at least one owner"),
    ],
)
def test_moderation_refuses_bad_input(over, field, message):
    audit = audit_of()
    error = refused(audit, InvalidInput, moderate, audit=audit, **over)
    assert list(error.errors) == [field]
    assert message in error.errors[field][0]
    assert (audit.moderation, audit.grade) == (None, "good")


def test_moderating_to_inadequate_raises_new_actions_unless_the_audit_has_one():
    audit = audit_of()
    [action] = moderate(audit, grade="inadequate", actions=[spec()])
    assert (audit.grade, audit.action_ids) == ("inadequate", [action.id])
    assert (action.audit_id, action.raised_on, action.raised_by) == (audit.id, TODAY, "mgr-1")
    [ev] = audit.collect_events()
    assert (type(ev).__name__, ev.action_ids) == ("Moderated", [action.id])
    other = audit_of([spec()], overall_grade="requires_improvement")
    assert moderate(other, grade="inadequate") == [] and other.grade == "inadequate"


def test_correction_records_changes_and_previous_values():
    audit = audit_of()
    correct(audit, {"case_ref": "CS-9", "service_area": "child_protection"}, reason=" slip ")
    assert (audit.case_ref, audit.corrections) == ("CS-9", 1)
    [ev] = audit.collect_events()
    assert type(ev).__name__ == "Corrected"
    assert (ev.changes, ev.previous) == ({"case_ref": "CS-9"}, {"case_ref": "CS-104233"})
    assert (ev.reason, ev.actor, ev.actor_role) == ("slip", "aud-1", "auditor")


@pytest.mark.parametrize(
    "changes, reason, field, message",
    [
        ({"case_ref": "CS-9"}, " ", "reason", "must not be blank"),
        ({}, "r", "changes", "name at least one field"),
        ({"auditor": "me"}, "r", "changes", "must be one of: case_ref, service_area"),
        ({"learning_week_id": uuid4()}, "r", "changes", "must be one of"),
        ({"case_ref": "Jane Smith"}, "r", "case_ref", "pseudonymous"),
        ({"audited_on": date(2026, 12, 1)}, "r", "audited_on", "is in the future"),
        ({"overall_grade": "bad"}, "r", "overall_grade", "must be one of"),
        ({"audit_type": "thematic"}, "r", "theme", "names its theme"),
        ({"overall_grade": "inadequate"}, "r", "overall_grade", "at least one action"),
    ],
)
def test_correction_refuses_bad_input(changes, reason, field, message):
    audit = audit_of()
    error = refused(audit, InvalidInput, correct, audit=audit, changes=changes, reason=reason)
    assert list(error.errors) == [field]
    assert message in error.errors[field][0]


def test_correction_that_changes_nothing_is_refused():
    audit = audit_of()
    error = refused(audit, Refused, correct, audit=audit, changes={"overall_grade": "good"})
    assert "changes nothing" in str(error)


def test_correction_to_inadequate_is_accepted_when_the_audit_has_an_action():
    audit = audit_of([spec()])
    correct(audit, {"overall_grade": "inadequate", "audit_type": "thematic", "theme": "Neglect"})
    assert (audit.grade, audit.audit_type, audit.theme) == ("inadequate", "thematic", "Neglect")


def test_correction_to_a_learning_week_audit_needs_its_week():
    audit = audit_of()
    error = refused(
        audit, InvalidInput, correct, audit=audit, changes={"audit_type": "learning_week"}
    )
    assert "learning_week_id" in error.errors


def withdraw(audit, **over):
    kw = dict(reason="Duplicate record", effective_on=TODAY)
    audit.withdraw(**(kw | over))


def test_withdrawal_records_reason_and_date():
    audit = audit_of()
    withdraw(audit, reason=" duplicate ")
    assert audit.withdrawn == {"reason": "duplicate", "effective_on": TODAY, "by": "mgr-1"}
    [ev] = audit.collect_events()
    assert (type(ev).__name__, ev.actor, ev.actor_role) == ("Withdrawn", "mgr-1", "manager")


@pytest.mark.parametrize(
    "over, field",
    [({"reason": ""}, "reason"), ({"effective_on": date(2026, 11, 24)}, "effective_on")],
)
def test_withdrawal_refuses_bad_input(over, field):
    audit = audit_of()
    assert list(refused(audit, InvalidInput, withdraw, audit=audit, **over).errors) == [field]
    assert audit.withdrawn is None


def test_withdrawal_cannot_take_effect_before_the_audit():
    audit = audit_of()
    error = refused(audit, InvalidInput, withdraw, audit=audit, effective_on=date(2026, 11, 1))
    assert list(error.errors) == ["effective_on"]


@pytest.mark.parametrize(
    "command",
    [
        lambda a: moderate(a),
        lambda a: correct(a, {"case_ref": "CS-1"}),
        lambda a: withdraw(a),
        lambda a: a.attach_action(action_id=uuid4()),
    ],
    ids=["moderate", "correct", "withdraw", "attach_action"],
)
def test_a_withdrawn_audit_refuses_every_change(command):
    audit = audit_of()
    withdraw(audit)
    audit.collect_events()
    assert "withdrawn" in str(refused(audit, Refused, command, a=audit))


def test_attach_action_records_the_action():
    audit, action_id = audit_of(), uuid4()
    audit.attach_action(action_id=action_id)
    assert audit.action_ids == [action_id]
    [ev] = audit.collect_events()
    assert (type(ev).__name__, ev.action_id) == ("ActionAttached", action_id)
    assert (ev.actor, ev.actor_role) == ("mgr-1", "manager")


def test_replay_rebuilds_the_same_state():
    audit, actions = record([spec()], overall_grade="inadequate")
    moderate(audit, grade="requires_improvement", effective_on=date(2026, 11, 21))
    correct(audit, {"audited_on": date(2026, 11, 19), "judgements": {"visits": "good"}})
    audit.attach_action(action_id=uuid4())
    withdraw(audit)
    again = replay(audit, *actions)
    assert again.version == audit.version == 5
    assert vars(again) == vars(audit)
    assert again.grade == "requires_improvement" and again.audited_on == date(2026, 11, 19)
