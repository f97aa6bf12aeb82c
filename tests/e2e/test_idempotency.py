"""An Idempotency-Key whose request was interrupted (the server died mid-request, so its
claim was never completed nor released) is refused while that request might still be
running, and usable again 5 minutes after it was sent if nothing was written for it.

A death is simulated by a command that fails and a claim that is not released (as no
code runs in a dead server); time is moved on through the store's clock.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.e2e.builders import audit_body

KEY = {"Idempotency-Key": "audit-2019-01-15"}


class Later:
    """The idempotency store's clock, moved on by hand from the real time."""

    def __init__(self) -> None:
        self.ahead = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.ahead


@pytest.fixture
def later(service, monkeypatch) -> Later:
    clock = Later()
    monkeypatch.setattr(service.idempotency, "clock", clock)
    return clock


@pytest.fixture
def interrupt(service, auditor, monkeypatch):
    """``interrupt("before writing")`` or ``interrupt("after writing")``: the auditor's
    next request with the key dies there, and its claim is left in flight."""

    def crash(*_, **__):
        raise RuntimeError("the server died")

    def die(when: str) -> None:
        with monkeypatch.context() as m:
            m.setattr(service.idempotency, "release", lambda user, key: None)
            if when == "before writing":
                m.setattr(service.commands, "record_audit", crash)
            else:
                m.setattr(service.idempotency, "complete", crash)
            try:
                answer = auditor.post("/api/audits", audit_body(), headers=KEY)
            except RuntimeError:
                return  # no answer at all
            assert answer.status_code == 500

    return die


def audits_recorded(client) -> int:
    return client.get("/api/audits?include_withdrawn=true").json["total"]


def test_a_key_left_in_flight_is_refused_until_5_minutes_after_it_was_sent(
    auditor, later, interrupt
):
    sent = datetime.now(UTC)
    interrupt("before writing")
    for ahead in (timedelta(0), timedelta(minutes=4, seconds=50)):
        later.ahead = ahead
        retry = auditor.post("/api/audits", audit_body(), headers=KEY)
        assert retry.status_code == 409, retry.json
        message = retry.json["message"]
        assert message.startswith("a request with this Idempotency-Key is still being handled")
        assert "(5 minutes after it was sent)" in message
        usable_from = datetime.strptime(message.split(" from ")[1][:19], "%Y-%m-%d %H:%M:%S")
        usable_from = usable_from.replace(tzinfo=UTC)
        assert (
            timedelta(minutes=4, seconds=59) < usable_from - sent < timedelta(minutes=5, seconds=2)
        )
    assert audits_recorded(auditor) == 0


def test_after_5_minutes_a_key_whose_request_wrote_nothing_runs_once(auditor, later, interrupt):
    interrupt("before writing")
    later.ahead = timedelta(minutes=5, seconds=5)
    retry = auditor.post("/api/audits", audit_body(), headers=KEY)
    assert retry.status_code == 201, retry.json
    again = auditor.post("/api/audits", audit_body(), headers=KEY)
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json == retry.json
    assert audits_recorded(auditor) == 1


def test_a_key_whose_request_may_have_been_saved_is_never_run_again(auditor, later, interrupt):
    interrupt("after writing")
    assert audits_recorded(auditor) == 1
    later.ahead = timedelta(hours=1)
    retry = auditor.post("/api/audits", audit_body(), headers=KEY)
    assert retry.status_code == 409, retry.json
    assert retry.json["message"] == (
        "a request with this Idempotency-Key was interrupted and may have been saved (you "
        "have recorded something since it was sent): read the record to see; if it is not "
        "there, send the request again with a new Idempotency-Key"
    )
    assert audits_recorded(auditor) == 1
    fresh = auditor.post("/api/audits", audit_body(), headers={"Idempotency-Key": "another"})
    assert fresh.status_code == 201


def test_only_one_retry_takes_over_a_stale_claim(service, later):
    store = service.idempotency
    assert store.claim("auditor-1", "k", "print") is None  # and never completed
    later.ahead = timedelta(minutes=6)
    assert store.claim("auditor-1", "k", "print") is None  # taken over: this one runs
    with pytest.raises(Exception, match="still being handled"):
        store.claim("auditor-1", "k", "print")  # the taker's own claim is fresh


def claimed_by(service, process: str) -> None:
    from sqlalchemy import update

    from qa_service.accounts import idempotency_keys

    with service.engine.begin() as conn:
        conn.execute(update(idempotency_keys).values(claimed_by=process))


def other_process():
    import socket
    import subprocess

    from qa_service.accounts import _process_start

    proc = subprocess.Popen(["sleep", "60"])
    return proc, f"{socket.gethostname()}:{proc.pid}:{_process_start(proc.pid)}"


def test_a_key_whose_process_died_having_written_nothing_runs_again_at_once(
    service, auditor, interrupt
):
    interrupt("before writing")
    proc, identity = other_process()
    claimed_by(service, identity)  # as if that process had claimed it, and then died
    proc.kill()
    proc.wait()
    retry = auditor.post("/api/audits", audit_body(), headers=KEY)
    assert retry.status_code == 201, retry.json
    assert audits_recorded(auditor) == 1


def test_a_key_whose_process_still_runs_is_refused(service, auditor, interrupt):
    interrupt("before writing")
    proc, identity = other_process()
    try:
        claimed_by(service, identity)
        retry = auditor.post("/api/audits", audit_body(), headers=KEY)
        assert retry.status_code == 409, retry.json
    finally:
        proc.kill()
        proc.wait()
    assert audits_recorded(auditor) == 0


def test_a_key_whose_process_died_after_writing_stays_refused(service, auditor, interrupt):
    interrupt("after writing")
    proc, identity = other_process()
    claimed_by(service, identity)
    proc.kill()
    proc.wait()
    retry = auditor.post("/api/audits", audit_body(), headers=KEY)
    assert retry.status_code == 409
    assert "may have been saved" in retry.json["message"]


def test_a_database_made_before_claims_named_their_process_gains_the_column(service):
    from sqlalchemy import inspect, text

    from qa_service.accounts import create_tables

    with service.engine.begin() as conn:
        conn.execute(text("ALTER TABLE qa_idempotency_keys DROP COLUMN claimed_by"))
    create_tables(service.engine)
    columns = {c["name"] for c in inspect(service.engine).get_columns("qa_idempotency_keys")}
    assert "claimed_by" in columns
    assert service.idempotency.claim("auditor-1", "k", "print") is None
