"""How much an as-of / known-at read costs against the current read, on a long history.

    .venv/bin/python -m bench.as_of [--events 10000 100000] [--store sqlite|postgres]

For each history size N: load about N events (the demo, again and again with new seeds:
each load imports one more copy of the 2016 plan and ~1,900 events up to 2021-12-31),
time a full read-model rebuild, then time each query now and as of / as known at past
dates, in the same process on the same store. SQLite runs in a temp dir; PostgreSQL
(``QA_BENCH_POSTGRES_URL``) in a fresh database, dropped at the end.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from time import perf_counter
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
from sqlalchemy.engine import make_url

from qa_service.demo import SimClock, load_demo
from qa_service.service import Service, build_service
from qa_service.settings import Settings

ZONE = ZoneInfo("Europe/London")
UNTIL = date(2021, 12, 31)
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"
REPS, WARMUP = 50, 3


@contextmanager
def store_urls(store: str) -> Iterator[Callable[[int], Settings]]:
    """Settings for a fresh, empty store per history size, removed at the end."""
    if store == "sqlite":
        with tempfile.TemporaryDirectory(prefix="qa-bench-") as tmp:
            yield lambda n: Settings(database_url=f"sqlite:///{Path(tmp) / f'qa-{n}.sqlite3'}")
        return
    admin = os.environ.get("QA_BENCH_POSTGRES_URL") or DEFAULT_PG
    name = f"qa_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = make_url(admin).set(database=name).render_as_string(hide_password=False)
    try:
        yield lambda n: Settings(database_url=url, schema=f"bench_{n}")
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def event_count(svc: Service) -> int:
    return svc.commands.recorder.max_notification_id() or 0


def load(svc: Service, clock: SimClock, target: int) -> list[uuid.UUID]:
    """Demo loads with seeds 1, 2, … until the store holds at least ``target`` events."""
    plan_ids, seed, started = [], 1, perf_counter()
    while event_count(svc) < target:
        clock.now = datetime(2016, 2, 1, 9, tzinfo=ZONE)  # load_demo starts at publication
        summary = load_demo(
            svc.commands, clock, ZONE, seed=seed, until=UNTIL, defer_projections=True
        )
        plan_ids.append(summary.plan_id)
        if seed % 10 == 0:
            n, s = event_count(svc), perf_counter() - started
            print(f"  … {seed} loads, {n} events, {s:.0f} s ({n / s:.0f} events/s)", flush=True)
        seed += 1
    elapsed = perf_counter() - started
    n = event_count(svc)
    print(f"loaded {n} events ({len(plan_ids)} demo loads) in {elapsed:.1f} s "
          f"({n / elapsed:.0f} events/s)")  # fmt: skip
    return plan_ids


def timed(fn: Callable[[], Any]) -> tuple[float, float]:
    """Median and p95 wall time of ``fn`` in ms, after a few warm-up calls."""
    for _ in range(WARMUP):
        fn()
    samples = []
    for _ in range(REPS):
        start = perf_counter()
        fn()
        samples.append((perf_counter() - start) * 1000)
    return statistics.median(samples), statistics.quantiles(samples, n=20)[18]


def busiest_action(svc: Service, plan_id: uuid.UUID) -> uuid.UUID:
    """The plan's action with the most events (the longest history to read or replay)."""
    tree = svc.queries.plan(plan_id)
    ids = [a["id"] for rec in tree["recommendations"] for a in rec["actions"]]
    return max(ids, key=lambda i: svc.queries.action(i)["version"])


def bench(store: str, settings: Settings, n: int) -> None:
    print(f"\n=== {store}: N={n} events ===", flush=True)
    clock = SimClock(now=datetime(2016, 2, 1, 9, tzinfo=ZONE))
    svc = build_service(settings, clock=clock)
    try:
        plan_id = load(svc, clock, n)[0]
        events = event_count(svc)
        clock.now = datetime.now(ZONE)  # "current" reads are as of today, as known now

        with svc.commands.writer():
            start = perf_counter()
            rebuilt = svc.reads.rebuild()
            elapsed = perf_counter() - start
        print(f"rebuild: {rebuilt} events in {elapsed:.1f} s ({rebuilt / elapsed:.0f} events/s)")

        q = svc.queries
        action_id = busiest_action(svc, plan_id)
        sep30, mar31, dec31 = date(2016, 9, 30), date(2017, 3, 31), date(2019, 12, 31)
        aug1, jul1 = datetime(2016, 8, 1, tzinfo=ZONE), datetime(2019, 7, 1, tzinfo=ZONE)
        groups: list[list[tuple[str, Callable[[], Any]]]] = [
            [
                ("plan tree: current", lambda: q.plan(plan_id)),
                ("plan tree: as of 2016-09-30", lambda: q.plan(plan_id, as_of=sep30)),
                ("plan tree: as of 2016-09-30, known at 2016-08-01",
                 lambda: q.plan(plan_id, as_of=sep30, known_at=aug1)),
            ],
            [
                ("overdue actions: current", lambda: q.actions(overdue=True, page_size=50)),
                ("overdue actions: as of 2017-03-31",
                 lambda: q.actions(as_of=mar31, overdue=True, page_size=50)),
            ],
            [
                ("audits + distribution: current", lambda: q.audits(page_size=50)),
                ("audits + distribution: as of 2019-12-31, known at 2019-07-01",
                 lambda: q.audits(as_of=dec31, known_at=jul1, page_size=50)),
            ],
            [
                ("one action: current", lambda: q.action(action_id)),
                ("one action: as of 2016-09-30", lambda: q.action(action_id, as_of=sep30)),
                ("one action: replay aggregate from events (contrast)",
                 lambda: svc.commands.repository.get(action_id)),
            ],
        ]  # fmt: skip
        width = max(len(label) for group in groups for label, _ in group)
        print(f"\n{'query':<{width}}  {'median ms':>9}  {'p95 ms':>8}  {'ratio':>6}")
        print("-" * (width + 29))
        summary = None
        for group in groups:
            base = None
            for label, fn in group:
                median, p95 = timed(fn)
                ratio = "" if base is None else f"{median / base:.2f}"
                base = median if base is None else base
                print(f"{label:<{width}}  {median:>9.2f}  {p95:>8.2f}  {ratio:>6}", flush=True)
                if label == "plan tree: as of 2016-09-30":
                    summary = (median, ratio)
        assert summary is not None
        print(f"\nN={events} events: plan tree as of a past date {summary[0]:.2f} ms "
              f"(ratio {summary[1]} to current)")  # fmt: skip
    finally:
        svc.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--store", choices=("sqlite", "postgres"), default="sqlite")
    args = parser.parse_args()
    print(f"{REPS} repetitions per query after {WARMUP} warm-up calls; ratio = median / "
          "the group's current median")  # fmt: skip
    with store_urls(args.store) as settings_for:
        for n in args.events:
            bench(args.store, settings_for(n), n)


if __name__ == "__main__":
    main()
