"""The event store on SQLite and PostgreSQL: durable, atomic, and safe under concurrency."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import date
from uuid import uuid4

import pytest
from eventsourcing.persistence import IntegrityError

from events import Action, CaseAudit
from events.context import acting
from qa_service.application import Actor
from qa_service.service import build_service

MANAGER = Actor("mo", "manager")
AUDITOR = Actor("ann", "auditor")


def new_plan(service):
    plan_id = service.commands.create_plan(
        MANAGER, title="Plan", source="Ofsted 2015", published_on=date(2016, 2, 1)
    )
    service.commands.add_lead(
        MANAGER, plan_id, initials="PK", name="Paul King", job_title=None, effective_on=None
    )
    service.commands.add_recommendation(
        MANAGER, plan_id, fields={"number": 1, "area": "A", "text": "Do it", "leads": ["PK"]}
    )
    return plan_id


def test_what_is_saved_reads_back_the_same_from_a_new_process(service, settings):
    audit_id = service.commands.record_audit(
        AUDITOR,
        {
            "case_ref": "CS-1",
            "service_area": "early_help",
            "audit_type": "core",
            "audited_on": date(2019, 1, 15),
            "overall_grade": "inadequate",
            "judgements": {"planning": "inadequate"},
        },
        [{"description": "Review plan", "owners": ["TM"], "due_on": date(2019, 2, 1)}],
    )
    again = build_service(settings)
    try:
        view = again.queries.audit(audit_id)
    finally:
        again.close()
    assert view["audited_on"] == date(2019, 1, 15)
    assert view["judgements"] == {"planning": "inadequate"}
    assert view["actions"][0]["due_on"] == date(2019, 2, 1)
    assert view["actions"][0]["case_ref"] == "CS-1"


def test_an_audit_and_its_actions_are_saved_atomically(service):
    """If any aggregate in a save conflicts, none of them is written."""
    log = service.commands
    with acting("a", "auditor", date(2026, 1, 1)):
        taken = Action.raise_action(
            id=uuid4(),
            origin="audit",
            audit_id=uuid4(),
            description="x",
            owners=["a"],
            due_on=date(2019, 2, 1),
            effective_on=date(2019, 1, 1),
        )
        log.save(taken)
        before = log.recorder.max_notification_id()
        audit = CaseAudit(
            id=uuid4(),
            case_ref="CS-2",
            service_area="early_help",
            audit_type="core",
            theme=None,
            learning_week_id=None,
            audited_on=date(2019, 1, 1),
            judgements={},
            overall_grade="inadequate",
            strengths=[],
            improvements=[],
            action_ids=[taken.id],
        )
        clash = Action.raise_action(
            id=taken.id,
            origin="audit",
            audit_id=audit.id,
            description="y",
            owners=["a"],
            due_on=date(2019, 2, 1),
            effective_on=date(2019, 1, 1),
        )
    with pytest.raises(IntegrityError):
        log.save(audit, clash)
    assert log.recorder.max_notification_id() == before
    with pytest.raises(Exception, match="no audit"):
        service.queries.audit(audit.id)


def test_concurrent_writers_all_land_and_none_overwrites_another(service):
    plan_id = new_plan(service)
    action_ids = service.commands.add_recommendation(
        MANAGER,
        plan_id,
        fields={"number": 2, "area": "A", "text": "Two", "leads": ["PK"]},
        actions=[{"description": f"a{i}", "owners": ["PK"], "due_on": None} for i in range(4)],
    )

    def reschedule(i: int) -> None:
        service.commands.reschedule_action(
            MANAGER,
            action_ids[i % 4],
            due_on=date(2017, 1, 1 + i),
            effective_on=None,
            reason=f"round {i}",
        )

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(reschedule, range(24)))
    versions = [service.queries.action(a)["version"] for a in action_ids]
    assert versions == [7, 7, 7, 7]  # raised + 6 reschedules each, none lost


def _worker(settings, week_id, n):  # runs in another process, as a server worker would
    svc = build_service(replace(settings, create_tables=False))
    try:
        for i in range(n):
            svc.commands.record_feedback(
                AUDITOR,
                week_id,
                respondent="parent",
                satisfaction=i % 11,
                knew_why_involved=True,
                comment=None,
                effective_on=None,
            )
    finally:
        svc.close()


def test_several_processes_write_to_the_same_record_and_every_write_lands(service, settings):
    week_id = service.commands.open_learning_week(
        MANAGER, title="Dec 2018", starts_on=date(2018, 12, 3), ends_on=date(2018, 12, 7)
    )
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_worker, args=(settings, week_id, 15)) for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    week = service.queries.learning_week(week_id)
    assert week["feedback_count"] == 45
    assert week["version"] == 46
