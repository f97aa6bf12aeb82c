"""The read side: read models fed only by events, and the queries that read them.

Each module owns its tables, one ``Projection`` and the query functions that read its
tables (each takes a connection, and answers as of a date, ``as_of``, and as known at a
time, ``known_at_us``). ``ReadModels`` keeps them all: it catches them up with the event
log, rebuilds them, reports their positions and any that stopped, and checks them
against the events. Reads call the modules' query functions (``qa_service.queries``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from projections import actions, audits, learning_weeks, plans, scratch, trail, verification
from projections.base import EventSource, Failure, Projection, Runner


class ReadModels:
    def __init__(self, engine: Engine, source: EventSource, zone: ZoneInfo):
        self.engine = engine
        self.projections: list[Projection] = [
            actions.ActionsProjection(zone),
            audits.AuditsProjection(zone),
            plans.PlansProjection(zone),
            learning_weeks.LearningWeeksProjection(zone),
            trail.TrailProjection(zone),
        ]
        self.source = source
        self.runner = Runner(engine, source, self.projections)

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.projections]

    def create_tables(self) -> None:
        self.runner.create_tables()

    def catch_up(self, progress: Any = None) -> int:
        return self.runner.catch_up(progress)

    def rebuild(self, names: list[str] | None = None, progress: Any = None) -> int:
        return self.runner.rebuild(names, progress)

    def retry(self, names: list[str] | None = None) -> int:
        return self.runner.retry(names)

    def lag(self) -> dict[str, dict[str, Any]]:
        return self.runner.lag()

    def failures(self) -> dict[str, Failure]:
        return self.runner.failures()

    # Integrity.

    def trail_head(self) -> int:
        return self.runner.positions()["trail"]

    def verify(self, at: Any = (), *, read_models: bool = True) -> verification.Verdict:
        """Recompute the hash chain from the stored events, up to the trail's head (and
        note the recomputed hash at each position in ``at``); then, unless told not to,
        check every read model against the events (``projections.scratch``)."""
        head = self.trail_head()
        with self.engine.connect() as conn:
            verdict = verification.verify(conn, self.source, head, at=at)
        if not read_models or not verdict.ok:
            return verdict  # events that fail the chain are no yardstick for read models
        drift = self.drift()
        return replace(verdict, ok=not drift, read_models_ok=not drift, drift=drift)

    def drift(self, attempts: int = 3) -> list[scratch.Drift]:
        """Where the stored read models differ from the events. A read model that moves
        on while it is compared (a write meanwhile) is compared again."""
        for _ in range(attempts):
            positions = self.runner.positions()
            found = scratch.drift(self.engine, self.source, self.projections, positions)
            if not found or self.runner.positions() == positions:
                break
        return found

    @contextmanager
    def rebuilt(self, up_to: int) -> Iterator[ReadModels]:
        """Every read model rebuilt from the events up to ``up_to`` in a throwaway store:
        figures that no edit of the stored tables can reach (for inspection packs)."""
        with scratch.scratch_engine(self.engine) as engine:
            fresh = ReadModels(engine, scratch.UpTo(self.source, up_to), self.projections[0].zone)
            scratch.rebuild(engine, fresh.source, fresh.projections, up_to)
            yield fresh
