"""The read side: read models fed only by events, and the queries that read them.

Each module owns its tables and one ``Projection``; ``ReadModels`` runs them together
and answers queries as of a date (``as_of``) and as known at a time (``known_at_us``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import date
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select

from projections import actions, audits, learning_weeks, plans, scratch, trail
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

    # Queries.

    def audit(self, audit_id: UUID, as_of: date, known_at_us: int) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            audit = audits.get_audit(conn, audit_id, as_of, known_at_us)
            if audit is not None:
                audit["actions"], _ = actions.actions_where(
                    conn, as_of, known_at_us, audit_id=audit_id
                )
            return audit

    def audits(
        self, as_of: date, known_at_us: int, *, limit: int, offset: int, **filters: Any
    ) -> tuple[list[dict[str, Any]], int, dict[str, Any]]:
        where = audits.audit_filters(as_of, known_at_us, **filters)
        with self.engine.connect() as conn:
            items, total = audits.audits_where(conn, where, limit=limit, offset=offset)
            return items, total, audits.distribution(conn, where)

    def action(self, action_id: UUID, as_of: date, known_at_us: int) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            return actions.get_action(conn, action_id, as_of, known_at_us)

    def actions(
        self, as_of: date, known_at_us: int, **filters: Any
    ) -> tuple[list[dict[str, Any]], int]:
        with self.engine.connect() as conn:
            return actions.actions_where(conn, as_of, known_at_us, **filters)

    def owner_names(self) -> set[str]:
        """Every action owner and plan lead's initials ever recorded."""
        with self.engine.connect() as conn:
            leads = conn.execute(select(plans.plan_leads.c.initials).distinct()).scalars()
            return actions.owner_names(conn) | set(leads)

    def plan(self, plan_id: UUID, as_of: date, known_at_us: int) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            return plans.plan_tree(conn, plan_id, as_of, known_at_us)

    def plan_published_on(self, plan_id: UUID, known_at_us: int) -> date | None:
        with self.engine.connect() as conn:
            return plans.published_on(conn, plan_id, known_at_us)

    def learning_week(self, week_id: UUID, as_of: date, known_at_us: int) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            return learning_weeks.week_summary(conn, week_id, as_of, known_at_us)

    def plan_list(
        self, as_of: date, known_at_us: int, *, limit: int, offset: int
    ) -> tuple[list[dict[str, Any]], int]:
        with self.engine.connect() as conn:
            return plans.plan_summaries(conn, as_of, known_at_us, limit=limit, offset=offset)

    def learning_week_list(
        self, as_of: date, known_at_us: int, *, limit: int, offset: int
    ) -> tuple[list[dict[str, Any]], int]:
        with self.engine.connect() as conn:
            return learning_weeks.week_summaries(
                conn, as_of, known_at_us, limit=limit, offset=offset
            )

    # The trail.

    def trail(self, *, limit: int, offset: int, **filters: Any) -> tuple[list[dict], int]:
        with self.engine.connect() as conn:
            return trail.trail_page(
                conn, trail.trail_filters(**filters), limit=limit, offset=offset
            )

    @contextmanager
    def trail_stream(self, **filters: Any) -> Iterator[Iterator[dict[str, Any]]]:
        with self.engine.connect() as conn:
            yield trail.trail_stream(conn, trail.trail_filters(**filters))

    def trail_head(self) -> int:
        return self.runner.positions()["trail"]

    def verify(self, at: Any = (), *, read_models: bool = True) -> trail.Verdict:
        """Recompute the hash chain from the stored events, up to the trail's head (and
        note the recomputed hash at each position in ``at``); then, unless told not to,
        check every read model against the events (``projections.scratch``)."""
        head = self.trail_head()
        with self.engine.connect() as conn:
            verdict = trail.verify(conn, self.source, head, at=at)
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

    def plan_ids(self, as_of: date) -> list[UUID]:
        with self.engine.connect() as conn:
            return plans.plan_ids(conn, as_of)
