"""Unit tests of the LearningWeek aggregate: opening, audits, feedback, findings, closing."""

from __future__ import annotations

from datetime import date
from uuid import uuid4

import pytest
from eventsourcing.application import Application

from events.learning_week import LearningWeek
from events.rules import FINDING_KINDS, RESPONDENTS, InvalidInput, Refused
from qa_service.transcodings import DateAsISO
from tests.unit.people import TODAY, as_auditor

STARTS = date(2026, 11, 16)
ENDS = date(2026, 11, 20)


class App(Application):
    def register_transcodings(self, t):
        super().register_transcodings(t)
        t.register(DateAsISO())


def replay(aggregate):
    app = App(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    app.save(aggregate)
    return app.repository.get(aggregate.id)


def open_week(**over):
    kw = dict(id=uuid4(), title=" Autumn L&L week ", starts_on=STARTS, ends_on=ENDS)
    kw.update(over)
    return LearningWeek.open(**kw)


def week():
    w = open_week()
    w.collect_events()
    return w


def feedback(w, **over):
    kw = dict(
        respondent="parent",
        satisfaction=7,
        knew_why_involved=True,
        comment=None,
        effective_on=date(2026, 11, 17),
    )
    kw.update(over)
    with as_auditor():
        w.record_feedback(**kw)


def finding(w, **over):
    kw = dict(
        kind="strength",
        theme="Voice of the child",
        text="Children's views are recorded",
        effective_on=ENDS,
    )
    kw.update(over)
    with as_auditor():
        w.record_finding(**kw)


def close(w, **over):
    kw = dict(effective_on=date(2026, 11, 21))
    kw.update(over)
    w.close(**kw)


def add_audit(w, **over):
    kw = dict(audit_id=uuid4(), audited_on=date(2026, 11, 17))
    kw.update(over)
    with as_auditor():
        w.add_audit(**kw)


def refused(aggregate, exc, call, *args, **kw):
    assert aggregate.collect_events() == []
    with pytest.raises(exc) as info:
        call(*args, **kw)
    assert aggregate.collect_events() == []
    return info.value


def only_error(error, field, message):
    assert list(error.errors) == [field]
    assert message in error.errors[field][0]


def test_open_records_the_week():
    w = open_week()
    assert (w.title, w.starts_on, w.ends_on, w.closed_on) == ("Autumn L&L week", STARTS, ENDS, None)
    assert (w.audit_ids, w.feedback, w.findings) == ([], [], [])
    [ev] = w.collect_events()
    assert (type(ev).__name__, ev.actor, ev.actor_role) == ("Opened", "mgr-1", "manager")
    assert (ev.starts_on, ev.ends_on) == (STARTS, ENDS)


def test_a_week_may_start_today_and_end_in_the_future():
    w = open_week(starts_on=TODAY, ends_on=date(2026, 11, 27))
    assert w.ends_on == date(2026, 11, 27)


@pytest.mark.parametrize(
    "over, field, message",
    [
        ({"title": " "}, "title", "must not be blank"),
        ({"starts_on": date(2026, 11, 24), "ends_on": date(2026, 11, 28)}, "starts_on", "future"),
        ({"ends_on": date(2026, 11, 15)}, "ends_on", "must not be before starts_on"),
        ({"ends_on": date(2026, 12, 17)}, "ends_on", "lasts at most 31 days"),
    ],
)
def test_open_refuses_bad_input(over, field, message):
    with pytest.raises(InvalidInput) as info:
        open_week(**over)
    only_error(info.value, field, message)


def test_a_week_may_last_31_days_and_a_single_day():
    assert open_week(ends_on=date(2026, 12, 16)).ends_on == date(2026, 12, 16)
    assert open_week(ends_on=STARTS).ends_on == STARTS


def test_add_audit():
    w, audit_id = week(), uuid4()
    add_audit(w, audit_id=audit_id, audited_on=STARTS)
    assert w.audit_ids == [audit_id]
    [ev] = w.collect_events()
    assert (type(ev).__name__, ev.audit_id, ev.actor, ev.actor_role) == (
        "AuditAdded",
        audit_id,
        "aud-1",
        "auditor",
    )


def test_an_audit_before_the_week_started_is_refused():
    w = week()
    error = refused(w, InvalidInput, add_audit, w, audited_on=date(2026, 11, 15))
    only_error(error, "audited_on", "cannot be before it started (2026-11-16)")
    assert w.audit_ids == []


def test_record_feedback():
    w = week()
    feedback(w, comment=" Social worker listened ", knew_why_involved=False, satisfaction=0)
    assert w.feedback == [
        {
            "respondent": "parent",
            "satisfaction": 0,
            "knew_why_involved": False,
            "comment": "Social worker listened",
            "effective_on": date(2026, 11, 17),
        }
    ]
    [ev] = w.collect_events()
    assert (type(ev).__name__, ev.actor, ev.actor_role) == ("FeedbackRecorded", "aud-1", "auditor")
    assert ev.effective_on == date(2026, 11, 17)


@pytest.mark.parametrize("respondent", RESPONDENTS)
def test_every_respondent_is_accepted(respondent):
    w = week()
    feedback(w, respondent=respondent, satisfaction=10)
    assert (w.feedback[0]["respondent"], w.feedback[0]["satisfaction"]) == (respondent, 10)


@pytest.mark.parametrize(
    "over, field, message",
    [
        ({"respondent": "social_worker"}, "respondent", "must be one of: parent, child"),
        ({"satisfaction": -1}, "satisfaction", "a whole number from 0 to 10"),
        ({"satisfaction": 11}, "satisfaction", "a whole number from 0 to 10"),
        ({"satisfaction": 7.5}, "satisfaction", "a whole number from 0 to 10"),
        ({"satisfaction": True}, "satisfaction", "a whole number from 0 to 10"),
        ({"knew_why_involved": "yes"}, "knew_why_involved", "must be true, false or null"),
        ({"comment": "  "}, "comment", "must not be blank"),
        ({"effective_on": date(2026, 11, 15)}, "effective_on", "before the week started"),
        ({"effective_on": date(2026, 11, 24)}, "effective_on", "is in the future"),
    ],
)
def test_record_feedback_refuses_bad_input(over, field, message):
    w = week()
    only_error(refused(w, InvalidInput, feedback, w, **over), field, message)
    assert w.feedback == []


def test_record_finding():
    w = week()
    finding(w, theme=" Voice ", text=" Views recorded ")
    assert w.findings == [
        {"kind": "strength", "theme": "Voice", "text": "Views recorded", "effective_on": ENDS}
    ]
    [ev] = w.collect_events()
    assert (type(ev).__name__, ev.actor, ev.actor_role) == ("FindingRecorded", "aud-1", "auditor")


@pytest.mark.parametrize("kind", FINDING_KINDS)
def test_every_finding_kind_is_accepted(kind):
    w = week()
    finding(w, kind=kind)
    assert w.findings[0]["kind"] == kind


@pytest.mark.parametrize(
    "over, field, message",
    [
        ({"kind": "weakness"}, "kind", "must be one of: strength, improvement"),
        ({"theme": ""}, "theme", "must not be blank"),
        ({"text": " "}, "text", "must not be blank"),
        ({"effective_on": date(2026, 11, 1)}, "effective_on", "(2026-11-16)"),
        ({"effective_on": date(2026, 12, 1)}, "effective_on", "is in the future"),
    ],
)
def test_record_finding_refuses_bad_input(over, field, message):
    w = week()
    only_error(refused(w, InvalidInput, finding, w, **over), field, message)
    assert w.findings == []


def test_close():
    w = week()
    close(w)
    assert w.closed_on == date(2026, 11, 21)
    [ev] = w.collect_events()
    assert (type(ev).__name__, ev.effective_on, ev.actor, ev.actor_role) == (
        "Closed",
        date(2026, 11, 21),
        "mgr-1",
        "manager",
    )


@pytest.mark.parametrize(
    "on, message",
    [(date(2026, 11, 15), "before the week started"), (date(2026, 11, 24), "is in the future")],
)
def test_close_refuses_bad_dates(on, message):
    w = week()
    only_error(refused(w, InvalidInput, close, w, effective_on=on), "effective_on", message)
    assert w.closed_on is None


@pytest.mark.parametrize("command", [feedback, finding, add_audit, close])
def test_a_closed_week_refuses_everything(command):
    w = week()
    close(w)
    w.collect_events()
    error = refused(w, Refused, command, w)
    assert str(error) == "the learning week was closed on 2026-11-21"
    assert (w.feedback, w.findings, w.audit_ids) == ([], [], [])


def test_replay_rebuilds_the_same_state():
    w = open_week()
    add_audit(w)
    feedback(w, comment="Helpful")
    feedback(w, respondent="young_person", satisfaction=3, knew_why_involved=False)
    finding(w, kind="improvement")
    close(w)
    again = replay(w)
    assert again.version == w.version == 6
    assert vars(again) == vars(w)
    assert again.closed_on == date(2026, 11, 21) and len(again.feedback) == 2


def test_a_family_may_leave_the_knew_why_question_unanswered():
    w = week()
    feedback(w, knew_why_involved=None)
    assert w.collect_events()[-1].knew_why_involved is None
