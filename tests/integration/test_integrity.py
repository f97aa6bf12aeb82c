"""The integrity promise covers what people read, and verification holds up whatever is
in the database: a value of another type in the events table is found at its position,
never a crash; an edited read model is named, with its table and entity."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import delete, text, update

from projections.actions import action_versions
from projections.audits import audit_versions
from projections.plans import plan_leads
from projections.trail import trail
from qa_service.application import Actor
from tests.integration.test_trail import sql, switch_off_protection, table

MANAGER = Actor("mo", "manager")
AUDITOR = Actor("ana", "auditor")


@pytest.fixture
def history(service):
    """Twelve events: a plan with a lead and a recommendation carrying two actions, a
    status change, and an audit with an action of its own."""
    log = service.commands
    plan_id = log.create_plan(MANAGER, title="Plan", source="Ofsted", published_on=date(2016, 2, 1))
    log.add_lead(MANAGER, plan_id, initials="PK", name="Paul King", job_title=None,
                 effective_on=None)  # fmt: skip
    action_ids = log.add_recommendation(
        MANAGER, plan_id,
        fields={"number": 1, "area": "A", "text": "Review the duty team", "leads": ["PK"]},
        actions=[{"description": f"Step {i}", "owners": ["PK"], "due_on": None} for i in (1, 2)],
    )  # fmt: skip
    log.change_action_status(
        MANAGER, action_ids[0], status="in_progress", effective_on=date(2016, 3, 1), reason=None
    )
    audit_id = log.record_audit(
        AUDITOR,
        {
            "case_ref": "CS-1", "service_area": "child_protection", "audit_type": "core",
            "audited_on": date(2016, 5, 3), "judgements": {"assessment": "good"},
            "overall_grade": "good", "strengths": [], "improvements": [],
        },
        [{"description": "Add timescales", "owners": ["TM"], "due_on": date(2016, 6, 1)}],
    )  # fmt: skip
    service.ids = {"plan": plan_id, "action": action_ids[0], "audit": audit_id}
    return service


def test_untouched_read_models_match_the_events(history):
    verdict = history.queries.verify()
    assert (verdict["ok"], verdict["read_models_ok"], verdict["drift"]) == (True, True, [])


# The events table holding what the log never writes.

SQLITE_TAMPERING = {
    "state turned to text": "UPDATE stored_events SET state = state || x'00' WHERE rowid = 4",
    "state an integer": "UPDATE stored_events SET state = 42 WHERE rowid = 4",
    "state null": "UPDATE stored_events SET state = NULL WHERE rowid = 4",
    "state truncated": "UPDATE stored_events SET state = substr(state, 1, 10) WHERE rowid = 4",
    "id not an id": "UPDATE stored_events SET originator_id = 'x' WHERE rowid = 4",
    "topic null": "UPDATE stored_events SET topic = NULL WHERE rowid = 4",
}
POSTGRES_TAMPERING = {
    "state null": "UPDATE {events} SET state = NULL WHERE notification_id = 4",
    "state truncated": "UPDATE {events} SET state = substring(state from 1 for 10) "
    "WHERE notification_id = 4",
    "state with a NUL": "UPDATE {events} SET state = state || '\\x00'::bytea "
    "WHERE notification_id = 4",
    "version negative": "UPDATE {events} SET originator_version = -1 WHERE notification_id = 4",
}


@pytest.mark.parametrize("tampering", sorted({*SQLITE_TAMPERING, *POSTGRES_TAMPERING}))
def test_any_value_in_the_events_table_is_found_at_its_position(history, tampering):
    statements = SQLITE_TAMPERING if history.settings.is_sqlite else POSTGRES_TAMPERING
    if tampering not in statements:
        pytest.skip("the store's types do not allow it")
    switch_off_protection(history)
    events, _ = table(history)
    sql(history, statements[tampering].format(events=events))
    verdict = history.queries.verify()
    assert (verdict["ok"], verdict["position"], verdict["problem"]) == (False, 4, "altered")
    assert "position 4" in verdict["detail"]
    assert verdict["read_models_ok"] is None  # altered events are no yardstick


def test_a_postgres_state_column_turned_to_text_is_found_at_the_first_position(history):
    if history.settings.is_sqlite:
        pytest.skip("SQLite columns take any type: see the per-row cases")
    events, _ = table(history)
    sql(history, f"ALTER TABLE {events} ALTER COLUMN state TYPE text USING encode(state, 'hex')")
    verdict = history.queries.verify()
    assert (verdict["ok"], verdict["position"], verdict["problem"]) == (False, 1, "altered")


def test_the_last_event_removed_is_found_as_missing(history):
    switch_off_protection(history)
    events, position = table(history)
    head = history.commands.recorder.max_notification_id()
    sql(history, f"DELETE FROM {events} WHERE {position} = {head}")
    verdict = history.queries.verify()
    assert (verdict["ok"], verdict["position"], verdict["problem"]) == (False, head, "missing")


# Read models edited behind the events' back.


def edit(service, statement) -> None:
    """What anyone with write access to the read model's tables can do."""
    with service.engine.begin() as conn:
        assert conn.execute(statement).rowcount >= 1


def test_an_edited_action_status_is_named_with_its_read_model_table_and_action(history):
    action_id = history.ids["action"]
    edit(
        history,
        update(action_versions)
        .where(action_versions.c.entity_id == action_id, action_versions.c.status == "in_progress")
        .values(status="done"),
    )
    assert history.queries.action(action_id)["status"] == "done"  # what people would read
    verdict = history.queries.verify()
    assert verdict["ok"] is False and verdict["read_models_ok"] is False
    assert verdict["problem"] is None  # the chain itself holds
    [drift] = verdict["drift"]
    assert (drift["read_model"], drift["table"], drift["key"], drift["entity_id"]) == (
        "actions",
        "action_versions",
        "action_id",
        str(action_id),
    )
    assert drift["detail"].startswith("status is 'done' in the read model, 'in_progress' from")


def test_an_edited_audit_grade_and_a_removed_plan_lead_are_both_named(history):
    edit(history, update(audit_versions).values(grade="outstanding"))
    edit(history, delete(plan_leads))
    drift = {(d["read_model"], d["table"], d["key"], d["entity_id"]): d["detail"]
             for d in history.queries.verify()["drift"]}  # fmt: skip
    audit = ("audits", "audit_versions", "audit_id", str(history.ids["audit"]))
    lead = ("plans", "plan_leads", "plan_id", str(history.ids["plan"]))
    assert set(drift) == {audit, lead}
    assert "grade is 'outstanding' in the read model, 'good' from the events" in drift[audit]
    assert drift[lead] == "its rows are in the events but missing from the read model"


def test_an_edited_trail_summary_is_named_though_its_hashes_hold(history):
    edit(history, update(trail).where(trail.c.position == 2).values(summary="Nothing happened"))
    [drift] = history.queries.verify()["drift"]
    assert (drift["read_model"], drift["table"]) == ("trail", "trail")
    assert drift["detail"].startswith("summary is 'Nothing happened' in the read model")


def test_a_read_model_is_checked_only_up_to_where_it_has_reached(history):
    """Events its runner has not processed yet are not drift."""
    first_action = history.queries.trail(entity_type="action")["items"][0]["position"]
    with history.engine.begin() as conn:
        conn.execute(
            text("UPDATE projection_tracking SET position = :p WHERE name = 'actions'"),
            {"p": first_action - 1},
        )
        conn.execute(delete(action_versions))
        conn.execute(text("DELETE FROM action_facts"))
    assert history.queries.verify()["read_models_ok"] is True


def test_no_scratch_store_is_left_behind(history):
    history.queries.verify()
    with history.engine.connect() as conn:
        if history.settings.is_sqlite:
            return  # a temporary file, gone with its directory
        left = conn.execute(
            text("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'qa_scratch_%'")
        ).scalar()
    assert left == 0
