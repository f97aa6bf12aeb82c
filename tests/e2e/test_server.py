"""The real thing: `qa-service` commands and the gunicorn server, as a user runs them."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from tests.e2e.builders import audit_body

BIN = Path(sys.executable).parent
QA = str(BIN / "qa-service")


def cli_env(settings) -> dict[str, str]:
    env = dict(os.environ)
    env["QA_DATABASE_URL"] = settings.database_url
    env["QA_DATABASE_SCHEMA"] = settings.schema
    return env


def run(settings, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [QA, *args], env=cli_env(settings), capture_output=True, text=True, timeout=60
    )
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_users_add_prints_the_token_last_and_list_and_revoke_work(settings):
    out = run(settings, "users", "add", "Sam Jones", "--role", "auditor").stdout
    token = out.strip().splitlines()[-1]
    assert len(token) >= 40 and " " not in token
    listing = run(settings, "users", "list").stdout
    assert "Sam Jones" in listing and "auditor" in listing and "active" in listing
    assert "token expires" in listing  # in 90 days, unless --expires-in-days says otherwise
    again = run(settings, "users", "add", "Sam Jones", "--role", "manager", check=False)
    assert again.returncode != 0
    assert "already a user called 'Sam Jones'" in again.stderr
    bad_role = run(settings, "users", "add", "X", "--role", "superuser", check=False)
    assert bad_role.returncode != 0 and "superuser" in bad_role.stderr
    run(settings, "users", "revoke", "Sam Jones")
    assert "revoked" in run(settings, "users", "list").stdout


def test_tokens_are_stored_only_as_hashes(settings, service):
    token = service.accounts.add("Hash Check", "inspector")
    from sqlalchemy import text

    with service.engine.connect() as conn:
        stored = conn.execute(text("SELECT token_hash FROM qa_users")).scalar_one()
    assert token not in stored and len(stored) == 64


@pytest.fixture
def server(settings):
    run(settings, "users", "add", "probe", "--role", "admin")
    port = free_port()
    proc = subprocess.Popen(
        [QA, "serve", "--port", str(port), "--workers", "2", "--threads", "4"],
        env=cli_env(settings),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):  # up to about 30 s on a loaded machine
        try:
            if requests.get(f"{base}/api/health", timeout=2).status_code == 200:
                break
        except (requests.ConnectionError, requests.Timeout):
            time.sleep(0.1)
    else:
        proc.kill()
        pytest.fail("the server did not start: " + (proc.stdout.read() if proc.stdout else ""))
    yield base
    proc.send_signal(signal.SIGTERM)
    try:
        out, _ = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    assert "Exception ignored" not in out
    assert "database is locked" not in out


def test_the_server_is_gunicorn_and_takes_concurrent_writes_without_failing(server, settings):
    token = run(settings, "users", "add", "ann", "--role", "auditor").stdout.split()[-1]
    headers = {"Authorization": f"Bearer {token}"}
    assert "gunicorn" in requests.get(f"{server}/api/health").headers["Server"]

    def post(i: int) -> requests.Response:
        return requests.post(
            f"{server}/api/audits",
            json=audit_body(case_ref=f"CS-{1000 + i}"),
            headers=headers,
            timeout=60,
        )

    with ThreadPoolExecutor(max_workers=16) as pool:
        responses = list(pool.map(post, range(60)))
    assert [r.status_code for r in responses] == [201] * 60, [r.text for r in responses][:3]
    ids = {r.json()["id"] for r in responses}
    assert len(ids) == 60
    health = requests.get(f"{server}/api/health").json()
    assert health["events"] >= 60
    for audit_id in list(ids)[:5]:
        assert requests.get(f"{server}/api/audits/{audit_id}", headers=headers).status_code == 200


def test_an_idempotent_retry_through_the_server_writes_once(server, settings):
    token = run(settings, "users", "add", "ann", "--role", "auditor").stdout.split()[-1]
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "retry-me"}

    def post(_: int) -> requests.Response:
        return requests.post(f"{server}/api/audits", json=audit_body(), headers=headers, timeout=60)

    with ThreadPoolExecutor(max_workers=6) as pool:
        responses = list(pool.map(post, range(6)))
    codes = sorted(r.status_code for r in responses)
    # Exactly one request does the write; the others replay it or were told it is in flight.
    created = {r.json()["id"] for r in responses if r.status_code == 201}
    assert len(created) == 1
    assert set(codes) <= {201, 409}
    final = requests.post(f"{server}/api/audits", json=audit_body(), headers=headers, timeout=60)
    assert final.status_code == 201 and final.json()["id"] in created


def test_the_first_start_creates_an_admin_and_prints_its_token_once(settings):
    port = free_port()

    def start() -> str:
        proc = subprocess.Popen(
            [QA, "serve", "--port", str(port), "--workers", "1"],
            env=cli_env(settings),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                requests.get(f"{base}/api/health", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        return proc.communicate(timeout=20)[0]

    first = start()
    assert "an admin called 'admin' was created" in first
    token = first.split("users add NAME --role ROLE`):")[1].split()[0]
    assert run(settings, "users", "list").stdout.split()[:2] == ["admin", "admin"]
    second = start()
    assert "was created" not in second
    assert token not in second


def test_projections_run_keeps_the_read_models_up_to_date_as_a_worker(settings):
    """Writes whose web process did not catch up (as if it died first) are projected by
    the separate `qa-service projections run` worker."""
    from datetime import date

    from qa_service.application import Actor
    from qa_service.service import build_service

    svc = build_service(settings)
    svc.commands.follow_with(lambda: None)  # this writer never catches up itself
    try:
        week = svc.commands.open_learning_week(
            Actor("mo", "manager"), title="June 2019", starts_on=date(2019, 6, 3),
            ends_on=date(2019, 6, 7),
        )  # fmt: skip
        assert svc.reads.lag()["learning_weeks"]["lag"] == 1
        worker = subprocess.Popen(
            [QA, "projections", "run", "--interval", "0.2"],
            env=cli_env(settings),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            for _ in range(100):
                if all(p["lag"] == 0 for p in svc.reads.lag().values()):
                    break
                time.sleep(0.1)
            assert all(p["lag"] == 0 for p in svc.reads.lag().values())
            assert svc.queries.learning_week(week, as_of=date(2019, 6, 3))["title"] == "June 2019"
        finally:
            worker.send_signal(signal.SIGTERM)
            out, _ = worker.communicate(timeout=20)
        assert worker.returncode == 0, out
        status = run(settings, "projections", "status").stdout
        assert "learning_weeks" in status and "behind by 0" in status
    finally:
        svc.close()


def test_a_chunked_body_over_the_limit_is_413_and_writes_nothing(server, settings):
    token = run(settings, "users", "add", "mo", "--role", "manager").stdout.split()[-1]
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def chunks(kilobytes: int):  # no Content-Length: sent with Transfer-Encoding: chunked
        yield b'{"title": "December 2018'
        for _ in range(kilobytes):
            yield b"x" * 1024
        yield b'", "starts_on": "2018-12-03", "ends_on": "2018-12-07"}'

    too_big = requests.post(f"{server}/api/learning-weeks", data=chunks(1100), headers=headers)
    assert too_big.status_code == 413, too_big.text
    assert too_big.json()["code"] == 413
    small = requests.post(f"{server}/api/learning-weeks", data=chunks(0), headers=headers)
    assert small.status_code == 201, small.text
    assert requests.get(f"{server}/api/health").json()["events"] == 1
