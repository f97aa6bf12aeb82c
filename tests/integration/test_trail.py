"""Tamper evidence: the database refuses to rewrite history, and if someone with the
power to switch that off rewrites it anyway, verification finds where and how."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from qa_service.application import Actor

MANAGER = Actor("mo", "manager")


@pytest.fixture
def logged(service):
    """Ten events: a plan, three leads, a recommendation with two actions, status changes."""
    log = service.commands
    plan_id = log.create_plan(MANAGER, title="Plan", source="Ofsted", published_on=date(2016, 2, 1))
    for initials in ("PK", "SK", "JS"):
        log.add_lead(MANAGER, plan_id, initials=initials, name=initials, job_title=None,
                     effective_on=None)  # fmt: skip
    ids = log.add_recommendation(
        MANAGER, plan_id,
        fields={"number": 1, "area": "A", "text": "Review the duty team", "leads": ["PK"]},
        actions=[{"description": f"Step {i}", "owners": ["PK"], "due_on": None} for i in (1, 2)],
    )  # fmt: skip
    log.change_action_status(MANAGER, ids[0], status="in_progress", effective_on=None, reason=None)
    assert service.queries.verify()["ok"] is True
    return service


def table(service) -> tuple[str, str]:
    """The events table and its position column, as a DBA would address them."""
    if service.settings.is_sqlite:
        return "stored_events", "rowid"
    name = service.commands.recorder.events_table_name
    return f'"{service.settings.schema}".{name}', "notification_id"


def sql(service, statement: str, **params) -> None:
    with service.engine.begin() as conn:
        conn.execute(text(statement), params)


def switch_off_protection(service) -> None:
    """What only someone with full control of the database can do."""
    events, _ = table(service)
    if service.settings.is_sqlite:
        sql(service, "DROP TRIGGER stored_events_no_update")
        sql(service, "DROP TRIGGER stored_events_no_delete")
    else:
        sql(service, f"ALTER TABLE {events} DISABLE TRIGGER USER")


def test_the_database_refuses_to_change_or_remove_events(logged):
    events, position = table(logged)
    for statement in (
        f"UPDATE {events} SET topic = 'x' WHERE {position} = 3",
        f"DELETE FROM {events} WHERE {position} = 3",
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            sql(logged, statement)
    if not logged.settings.is_sqlite:
        with pytest.raises(DBAPIError, match="append-only"):
            sql(logged, f"TRUNCATE {events}")
    assert logged.queries.verify()["ok"] is True


def test_verification_answers_ok_with_the_count_and_head_hash(logged):
    verdict = logged.queries.verify()
    assert verdict["count"] == 10
    assert verdict["head_position"] == logged.commands.recorder.max_notification_id()
    assert len(verdict["head_hash"]) == 64
    trail = logged.queries.trail(page_size=100)["items"]
    assert trail[-1]["hash"] == verdict["head_hash"]


def test_an_altered_event_is_found_at_its_position(logged):
    switch_off_protection(logged)
    events, position = table(logged)
    sql(logged, f"UPDATE {events} SET topic = topic || ' ' WHERE {position} = 4")
    verdict = logged.queries.verify()
    assert (verdict["ok"], verdict["position"], verdict["problem"]) == (False, 4, "altered")


def test_a_removed_event_is_found_at_its_position(logged):
    switch_off_protection(logged)
    events, position = table(logged)
    sql(logged, f"DELETE FROM {events} WHERE {position} = 6")
    verdict = logged.queries.verify()
    assert (verdict["ok"], verdict["position"], verdict["problem"]) == (False, 6, "missing")


def test_two_swapped_events_are_found_as_reordered(logged):
    switch_off_protection(logged)
    events, position = table(logged)
    sql(logged, f"UPDATE {events} SET {position} = -1 WHERE {position} = 3")
    sql(logged, f"UPDATE {events} SET {position} = 3 WHERE {position} = 5")
    sql(logged, f"UPDATE {events} SET {position} = 5 WHERE {position} = -1")
    verdict = logged.queries.verify()
    assert (verdict["ok"], verdict["position"], verdict["problem"]) == (False, 3, "reordered")
    assert "recorded at position 5" in verdict["detail"]


FORGED = "0123456789abcdef0123456789abcdef"  # an aggregate id no real event has


def test_an_inserted_event_is_found_at_its_position(logged):
    events, position = table(logged)
    columns = "originator_id, originator_version, topic, state"
    # A forged copy of event 2 under another aggregate, slipped in before the first event.
    # (Inserting needs no switch: the log takes appends. Its place in the log gives it away.)
    if logged.settings.is_sqlite:
        sql(
            logged,
            f"INSERT INTO {events} (rowid, {columns}) SELECT 0, '{FORGED}', "
            f"originator_version, topic, state FROM {events} WHERE rowid = 2",
        )
    else:
        sql(
            logged,
            f"INSERT INTO {events} (notification_id, {columns}) SELECT 0, gen_random_uuid(), "
            f"originator_version, topic, state FROM {events} WHERE notification_id = 2",
        )
    verdict = logged.queries.verify()
    assert (verdict["ok"], verdict["position"], verdict["problem"]) == (False, 0, "inserted")


def test_an_altered_trail_hash_is_found_too(logged):
    sql(logged, "UPDATE trail SET chain_hash = :h WHERE position = 7", h="0" * 64)
    verdict = logged.queries.verify()
    assert (verdict["ok"], verdict["position"], verdict["problem"]) == (False, 7, "altered")
