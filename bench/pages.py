"""How long each page takes to render at the server, on the demo data, against the API's
answer for the same thing, in the same process.

    .venv/bin/python -m bench.pages [--reps 30]

Loads the demo (the 2016 plan and its history to 2021, about 2,300 events) into a SQLite
file in a temp dir, signs in through the sign-in form with Flask's test client (no
network: what is measured is the server's own work), then times each page and, where
there is one, the JSON read the page is built on. It prints each page's median, its ratio
to that API read, and whether it is under the 150 ms budget.
"""

from __future__ import annotations

import argparse
import re
import statistics
import tempfile
from datetime import datetime
from pathlib import Path
from time import perf_counter
from typing import Any
from zoneinfo import ZoneInfo

from qa_service.app import create_app
from qa_service.demo import SimClock, load_demo
from qa_service.service import build_service
from qa_service.settings import Settings

ZONE = ZoneInfo("Europe/London")
BUDGET_MS = 150.0
PASSWORD = "a long enough benchmark password"


def median_ms(call: Any, reps: int) -> float:
    for _ in range(2):
        call()
    times = []
    for _ in range(reps):
        start = perf_counter()
        response = call()
        times.append((perf_counter() - start) * 1000)
        assert response.status_code == 200, (response.status_code, response.get_data()[:300])
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reps", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="qa-bench-pages-") as tmp:
        settings = Settings(database_url=f"sqlite:///{Path(tmp) / 'qa.sqlite3'}")
        clock = SimClock(now=datetime.now(ZONE))
        svc = build_service(settings, clock=clock)
        summary = load_demo(svc.commands, clock, ZONE, seed=2016)
        svc.accounts.add("Bench Manager", "manager")
        svc.accounts.set_password("Bench Manager", PASSWORD)
        token = svc.accounts.add("Bench API", "manager")
        events = svc.commands.recorder.max_notification_id()
        app = create_app(settings, service=svc)
        browser = app.test_client()
        form = browser.get("/sign-in").get_data(as_text=True)
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', form)
        assert csrf is not None
        browser.post(
            "/sign-in",
            data={"csrf_token": csrf.group(1), "name": "Bench Manager", "password": PASSWORD},
        )
        api = app.test_client()
        bearer = {"Authorization": f"Bearer {token}"}
        plan = summary.plan_id
        audit = svc.queries.audits(page_size=1)["items"][0]["id"]
        action = svc.queries.actions(page_size=1)["items"][0]["id"]
        week = svc.queries.learning_weeks(page_size=1)["items"][0]["id"]
        pages = [
            ("home", "/home", None),
            ("plan dashboard, now", f"/plans/{plan}", f"/api/plans/{plan}"),
            (
                "plan dashboard, 30 June 2016 as known 5 July",
                f"/plans/{plan}?as_of=2016-06-30&known_at=2016-07-05T17:00",
                f"/api/plans/{plan}?as_of=2016-06-30&known_at=2016-07-05T17:00",
            ),
            ("tracker, overdue", "/actions?overdue=true", "/api/actions?overdue=true"),
            ("an action", f"/actions/{action}", f"/api/actions/{action}/history"),
            ("audit register with charts", "/audits", "/api/audits"),
            ("an audit", f"/audits/{audit}", f"/api/audits/{audit}/history"),
            ("trail", "/trail", "/api/trail"),
            ("learning weeks with trend", "/learning-weeks", "/api/learning-weeks"),
            ("a learning week", f"/learning-weeks/{week}", f"/api/learning-weeks/{week}"),
        ]
        print(f"{events} events on SQLite; medians of {args.reps} renders at the server")
        print(f"{'page':48} {'page ms':>8} {'API ms':>8} {'ratio':>6}  budget {BUDGET_MS:.0f} ms")
        for name, path, api_path in pages:
            page_ms = median_ms(lambda path=path: browser.get(path), args.reps)
            if api_path:
                api_ms = median_ms(lambda p=api_path: api.get(p, headers=bearer), args.reps)
                compared = f"{api_ms:8.1f} {page_ms / api_ms:6.2f}"
            else:
                compared = f"{'':8} {'':6}"
            verdict = "ok" if page_ms < BUDGET_MS else "OVER"
            print(f"{name:48} {page_ms:8.1f} {compared}  {verdict}")
        svc.close()


if __name__ == "__main__":
    main()
