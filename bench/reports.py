"""What a committee report costs on a long history: the model, the page (HTML), the
spreadsheet and the PDF, for the quarterly monitoring report and the six-monthly QA report.

    .venv/bin/python -m bench.reports [--events 10000 100000] [--store sqlite|postgres]

For each history size N: load about N events (as ``bench.as_of`` does: the demo again and
again with new seeds, each load another copy of the 2016 plan and its years of audits),
then time each rendering, in the same process on the same store. The ratio is each
size's median against the first size's: a report whose cost grows with the history
shows it there. Target (issue 12): a report on 100k events renders in under 1 s.
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Callable
from datetime import date, datetime
from time import perf_counter
from typing import Any

from bench.as_of import ZONE, event_count, load, store_urls
from events.quarters import parse_quarter
from qa_service.demo import SimClock
from qa_service.reports import render
from qa_service.reports.quarterly import quarterly_report
from qa_service.reports.six_monthly import six_monthly_report
from qa_service.reports.spreadsheet import quarterly_xlsx, six_monthly_xlsx
from qa_service.service import build_service
from qa_service.settings import Settings

REPS, WARMUP = 10, 1
TARGET_MS = 1000


def timed(fn: Callable[[], Any], reps: int = REPS) -> tuple[float, float]:
    """Median and maximum wall time of ``fn`` in ms, after a warm-up call."""
    for _ in range(WARMUP):
        fn()
    samples = []
    for _ in range(reps):
        start = perf_counter()
        fn()
        samples.append((perf_counter() - start) * 1000)
    return statistics.median(samples), max(samples)


def measure(settings: Settings, n: int) -> tuple[int, dict[str, tuple[float, float]]]:
    clock = SimClock(now=datetime(2016, 2, 1, 9, tzinfo=ZONE))
    svc = build_service(settings, clock=clock)
    try:
        plan_id = load(svc, clock, n)[0]
        events = event_count(svc)
        clock.now = datetime.now(ZONE)
        with svc.commands.writer():
            svc.reads.catch_up()
        q = svc.queries
        quarter = parse_quarter("Q1 2016/17")
        first, last = date(2018, 10, 1), date(2019, 3, 31)

        def quarterly() -> Any:
            return quarterly_report(q, plan_id, quarter)

        def six_monthly() -> Any:
            return six_monthly_report(q, first, last)

        runs: list[tuple[str, Callable[[], Any], int]] = [
            ("quarterly: model", quarterly, REPS),
            ("quarterly: model + page (HTML)", lambda: render.quarterly_html(quarterly()), REPS),
            ("quarterly: model + XLSX", lambda: quarterly_xlsx(quarterly()), REPS),
            ("quarterly: model + PDF", lambda: render.pdf(render.quarterly_html(quarterly())), 3),
            ("six-monthly: model", six_monthly, REPS),
            ("six-monthly: model + page (HTML)",
             lambda: render.six_monthly_html(six_monthly()), REPS),
            ("six-monthly: model + XLSX", lambda: six_monthly_xlsx(six_monthly()), REPS),
            ("six-monthly: model + PDF",
             lambda: render.pdf(render.six_monthly_html(six_monthly())), 3),
        ]  # fmt: skip
        results = {}
        for label, fn, reps in runs:
            results[label] = timed(fn, reps)
            print(f"  {label}: {results[label][0]:.1f} ms", flush=True)
        return events, results
    finally:
        svc.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--store", choices=("sqlite", "postgres"), default="sqlite")
    args = parser.parse_args()
    table: list[tuple[int, dict[str, tuple[float, float]]]] = []
    with store_urls(args.store) as settings_for:
        for n in args.events:
            print(f"\n=== {args.store}: N={n} events ===", flush=True)
            table.append(measure(settings_for(n), n))
    labels = list(table[0][1])
    width = max(len(label) for label in labels)
    sizes = "".join(f"  {f'{events / 1000:.1f}k ms (max)':>20}" for events, _ in table)
    print(f"\n{'rendering':<{width}}{sizes}  {'ratio':>6}  under 1 s")
    for label in labels:
        cells = "".join(f"  {f'{r[label][0]:.1f} ({r[label][1]:.0f})':>20}" for _, r in table)
        ratio = table[-1][1][label][0] / table[0][1][label][0]
        ok = "yes" if table[-1][1][label][1] < TARGET_MS else "NO"
        print(f"{label:<{width}}{cells}  {ratio:>6.2f}  {ok}")


if __name__ == "__main__":
    main()
