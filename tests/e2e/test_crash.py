"""Kill the server (SIGKILL) while it takes writes: every write it acknowledged must be in
the event log and in the read models after a restart."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time

import requests

from tests.e2e.builders import audit_body
from tests.e2e.test_server import QA, cli_env, free_port, run


def start(settings, port: int) -> subprocess.Popen:
    proc = subprocess.Popen(
        [QA, "serve", "--port", str(port), "--workers", "2", "--threads", "4"],
        env=cli_env(settings),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group, so the kill reaches every worker
    )
    for _ in range(150):
        try:
            requests.get(f"http://127.0.0.1:{port}/api/health", timeout=1)
            return proc
        except requests.ConnectionError:
            time.sleep(0.1)
    raise AssertionError("the server did not start")


def test_every_acknowledged_write_survives_a_kill(settings):
    token = run(settings, "users", "add", "ann", "--role", "auditor").stdout.split()[-1]
    headers = {"Authorization": f"Bearer {token}"}
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start(settings, port)
    acknowledged: list[str] = []
    stop = threading.Event()

    def writer(n: int) -> None:
        i = 0
        while not stop.is_set() and i < 400:
            i += 1
            try:
                r = requests.post(
                    f"{base}/api/audits",
                    json=audit_body(case_ref=f"CS-{n}{i:04d}"),
                    headers=headers,
                    timeout=10,
                )
            except requests.RequestException:
                return
            if r.status_code == 201:
                acknowledged.append(r.json()["id"])

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(1, 7)]
    for thread in threads:
        thread.start()
    time.sleep(1.5)
    os.killpg(server.pid, signal.SIGKILL)
    server.wait(10)
    stop.set()
    for thread in threads:
        thread.join(30)
    assert len(acknowledged) > 10

    server = start(settings, port)
    try:
        health = requests.get(f"{base}/api/health").json()
        assert all(p["lag"] == 0 for p in health["projections"].values()), health
        register = requests.get(
            f"{base}/api/audits", params={"page_size": 500}, headers=headers
        ).json()
        listed = set()
        page = 1
        while True:
            listed |= {a["id"] for a in register["items"]}
            if page * 500 >= register["total"]:
                break
            page += 1
            register = requests.get(
                f"{base}/api/audits", params={"page_size": 500, "page": page}, headers=headers
            ).json()
        missing = set(acknowledged) - listed
        assert not missing, f"{len(missing)} acknowledged audits lost"
        for audit_id in acknowledged[-5:]:
            assert requests.get(f"{base}/api/audits/{audit_id}", headers=headers).ok
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(20)
