"""One bad event can never stop the read side: the read model that cannot apply it is
marked failed there, with the reason; the others go on, writes go on, /api/health says
503 naming it, `projections status` shows it, and it resumes once the cause is fixed."""

from __future__ import annotations

import subprocess
from datetime import date

import pytest

from projections.base import Runner
from qa_service.application import Actor
from tests.e2e.builders import audit_body
from tests.e2e.test_server import QA, cli_env
from tests.integration.test_rebuild import snapshot

MANAGER = Actor("mo", "manager")
AUDITOR = Actor("ann", "auditor")


def open_week(svc) -> object:
    return svc.commands.open_learning_week(
        MANAGER, title="December 2018", starts_on=date(2018, 12, 3), ends_on=date(2018, 12, 7)
    )


def feedback(svc, week, comment: str) -> None:
    svc.commands.record_feedback(
        AUDITOR,
        week,
        respondent="parent",
        satisfaction=8,
        knew_why_involved=True,
        comment=comment,
        effective_on=date(2018, 12, 4),
    )


def head(svc) -> int:
    return svc.commands.recorder.max_notification_id() or 0


@pytest.fixture
def poisoned(service, monkeypatch):
    """The learning-weeks read model cannot apply feedback whose comment says 'poison'
    (as a bug would make it), until the test takes the poison away."""
    projection = next(p for p in service.reads.projections if p.name == "learning_weeks")
    original = projection.process

    def process(notification, event, conn):
        if getattr(event, "comment", None) == "poison":
            raise ValueError("cannot apply this feedback")
        return original(notification, event, conn)

    monkeypatch.setattr(projection, "process", process)
    return lambda: monkeypatch.setattr(projection, "process", original)


def test_a_read_model_that_cannot_apply_an_event_stops_alone(service, poisoned, as_role):
    week = open_week(service)
    feedback(service, week, "They listened")
    feedback(service, week, "poison")  # the write itself succeeds
    bad = head(service)

    failures = service.reads.failures()
    assert list(failures) == ["learning_weeks"]
    assert failures["learning_weeks"].position == bad
    assert failures["learning_weeks"].reason == "ValueError: cannot apply this feedback"
    lag = service.reads.lag()
    assert lag["learning_weeks"]["position"] == bad - 1
    assert all(lag[name]["lag"] == 0 for name in ("actions", "audits", "plans", "trail"))

    # Writes go on, and what they wrote can be read from the models still working.
    written = as_role("auditor").post("/api/audits", audit_body())
    assert written.status_code == 201, written.json
    audit = written.json["id"]
    assert service.reads.lag()["trail"]["lag"] == 0

    # Through HTTP: health says 503 and names it; reads of it say why; writes are 202.
    health = as_role(None).get("/api/health")
    assert health.status_code == 503
    assert health.json["status"] == "failing"
    stopped = health.json["projections"]["learning_weeks"]["failed"]
    assert stopped["position"] == bad and "ValueError" in stopped["reason"]
    assert health.json["projections"]["audits"].get("failed") is None

    read = as_role("inspector").get(f"/api/learning-weeks/{week}")
    assert read.status_code == 503
    assert f"the read model 'learning_weeks' stopped at event {bad}" in read.json["message"]
    assert as_role("inspector").get(f"/api/audits/{audit}").status_code == 200

    write = as_role("auditor").post(
        f"/api/learning-weeks/{week}/findings",
        {"kind": "strength", "theme": "voice", "text": "Children were heard"},
    )
    assert write.status_code == 202, write.json
    assert write.json["message"].startswith(f"recorded ({week}), but it cannot be shown yet")

    # The operator sees it too.
    status = subprocess.run(
        [QA, "projections", "status"],
        env=cli_env(service.settings),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert status.returncode == 1
    line = next(x for x in status.stdout.splitlines() if x.startswith("learning_weeks"))
    assert f"STOPPED at event {bad}" in line and "ValueError: cannot apply" in line


def test_a_stopped_read_model_resumes_once_fixed_as_if_it_never_stopped(
    service, poisoned, settings
):
    week = open_week(service)
    feedback(service, week, "poison")
    feedback(service, week, "They listened")
    assert "learning_weeks" in service.reads.failures()

    poisoned()  # the fix (say, an upgrade) is deployed
    service.reads.retry()
    assert service.reads.failures() == {}
    assert service.reads.lag()["learning_weeks"]["lag"] == 0
    summary = service.queries.learning_week(week, as_of=date(2018, 12, 7))
    assert summary["feedback_count"] == 2

    incremental = snapshot(service)
    service.reads.rebuild()
    assert snapshot(service) == incremental


def test_a_stopped_read_model_is_tried_again_by_itself(service, poisoned):
    clock = [1_000_000.0]
    runner = service.reads.runner
    service.reads.runner = Runner(
        runner.engine, runner.source, runner.projections, clock=lambda: clock[0]
    )
    week = open_week(service)
    feedback(service, week, "poison")
    first = service.reads.failures()["learning_weeks"]
    poisoned()
    service.commands.catch_up()
    assert "learning_weeks" in service.reads.failures()  # not yet: tried a moment ago
    clock[0] += 61
    service.commands.catch_up()
    assert service.reads.failures() == {}
    assert first.failed_at == 1_000_000


def test_a_database_that_is_down_marks_nothing(service, monkeypatch):
    from sqlalchemy.exc import OperationalError

    week = open_week(service)
    projection = service.reads.projections[0]

    def unavailable(*_args):
        raise OperationalError("SELECT 1", {}, Exception("server closed the connection"))

    monkeypatch.setattr(projection, "process", unavailable)
    feedback(service, week, "They listened")  # the write stands; the catch-up did not
    assert service.reads.failures() == {}
    assert service.reads.lag()[projection.name]["lag"] == 1
    monkeypatch.undo()
    service.commands.catch_up()
    assert all(p["lag"] == 0 for p in service.reads.lag().values())


@pytest.mark.parametrize("store", ["postgres"])
def test_a_nul_written_past_the_api_stops_only_what_postgres_cannot_hold(service, as_role):
    """The API refuses NUL; an event that holds one anyway (an older version, a script)
    must not stop the whole read side."""
    week = open_week(service)
    feedback(service, week, "before\x00after")
    bad = head(service)
    failures = service.reads.failures()
    assert set(failures) == {"learning_weeks"}
    assert failures["learning_weeks"].position == bad
    assert "0x00" in failures["learning_weeks"].reason
    assert "before" not in failures["learning_weeks"].reason  # no personal text

    audit = as_role("auditor").post("/api/audits", audit_body())
    assert audit.status_code == 201, audit.json
    assert as_role(None).get("/api/health").status_code == 503
    verdict = as_role("inspector").get("/api/trail/verify")
    assert verdict.status_code == 200
    rebuilt = subprocess.run(
        [QA, "projections", "rebuild", "trail", "audits"],
        env=cli_env(service.settings),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert rebuilt.returncode == 0, rebuilt.stderr
