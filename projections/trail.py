"""The inspectors' trail: every event, who did it, when it was recorded and took effect,
why, a readable summary (``projections.summaries``), and the hash chain's value at its
position (``projections.chain``); and the queries that read it.

``projections.verification`` checks the chain against the events table.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any
from uuid import UUID

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    Date,
    Index,
    MetaData,
    String,
    Table,
    func,
    insert,
    select,
)
from sqlalchemy.types import Uuid

from projections.base import Projection
from projections.chain import GENESIS, chain_hash, notification_content
from projections.summaries import describe

ENTITY_TYPES = {
    "CaseAudit": "audit",
    "Action": "action",
    "ImprovementPlan": "plan",
    "LearningWeek": "learning_week",
}

metadata = MetaData()
trail = Table(
    "trail",
    metadata,
    Column("position", BigInteger, primary_key=True),
    Column("entity_type", String(20), nullable=False),
    Column("entity_id", Uuid, nullable=False),
    Column("entity_version", BigInteger, nullable=False),
    Column("event_type", String(40), nullable=False),
    Column("actor", String(100), nullable=False),
    Column("actor_role", String(20), nullable=False),
    Column("recorded_us", BigInteger, nullable=False),
    Column("effective_on", Date),
    Column("reason", String),
    Column("late", Boolean, nullable=False),
    Column("summary", String, nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("chain_hash", String(64), nullable=False),
    Index("ix_trail_entity", "entity_id", "position"),
    Index("ix_trail_actor", "actor", "position"),
    Index("ix_trail_type", "event_type", "position"),
    Index("ix_trail_recorded", "recorded_us"),
    Index("ix_trail_effective", "effective_on"),
    Index("ix_trail_content", "content_hash"),
)


def _effective_on(event: Any) -> date | None:
    """The day the event took effect; a record's creation takes effect on its own date."""
    for name in ("effective_on", "audited_on", "published_on", "starts_on"):
        value = getattr(event, name, None)
        if isinstance(value, date):
            return value
    return None


class TrailProjection(Projection):
    """One row per event, in log order, each chained to the one before: the chain's head
    is read once a page and carried along, so a page is chained in memory."""

    name = "trail"
    metadata = metadata

    def begin_page(self) -> None:
        self._head: str | None = None
        self._rows: list[dict[str, Any]] = []

    def end_page(self, conn: Connection) -> None:
        if self._rows:
            conn.execute(insert(trail), self._rows)
        self._rows = []

    def discard_page(self) -> None:
        self._head = None
        self._rows = []

    def process(self, notification: Any, event: Any, conn: Connection) -> None:
        if self._head is None:
            self._head = (
                conn.execute(
                    select(trail.c.chain_hash).order_by(trail.c.position.desc()).limit(1)
                ).scalar()
                or GENESIS
            )
        content = notification_content(notification)
        chained = chain_hash(self._head, notification.id, content)
        aggregate, _, event_type = type(event).__qualname__.partition(".")
        effective_on = _effective_on(event)
        reason = getattr(event, "reason", None) or getattr(event, "rationale", None)
        self._rows.append(
            dict(
                position=notification.id,
                entity_type=ENTITY_TYPES.get(aggregate, aggregate),
                entity_id=event.originator_id,
                entity_version=event.originator_version,
                event_type=event_type or aggregate,
                actor=getattr(event, "actor", "") or "",
                actor_role=getattr(event, "actor_role", "") or "",
                recorded_us=self.recorded_us(event),
                effective_on=effective_on,
                reason=reason,
                late=self.is_late(event, effective_on),
                summary=describe(event),
                content_hash=content,
                chain_hash=chained,
            )
        )
        self._head = chained


# Reading the trail.

COLUMNS = [
    trail.c.position, trail.c.entity_type, trail.c.entity_id, trail.c.entity_version,
    trail.c.event_type, trail.c.actor, trail.c.actor_role, trail.c.recorded_us,
    trail.c.effective_on, trail.c.reason, trail.c.late, trail.c.summary, trail.c.chain_hash,
]  # fmt: skip


def trail_filters(
    *,
    entity_type: str | None = None,
    entity_id: UUID | None = None,
    actor: str | None = None,
    event_type: str | None = None,
    recorded_from_us: int | None = None,
    recorded_to_us: int | None = None,
    effective_from: date | None = None,
    effective_to: date | None = None,
    up_to: int | None = None,
) -> list[Any]:
    c = trail.c
    where: list[Any] = []
    for column, value in (
        (c.entity_type, entity_type),
        (c.entity_id, entity_id),
        (c.actor, actor),
        (c.event_type, event_type),
    ):
        if value is not None:
            where.append(column == value)
    if recorded_from_us is not None:
        where.append(c.recorded_us >= recorded_from_us)
    if recorded_to_us is not None:
        where.append(c.recorded_us < recorded_to_us)
    if effective_from is not None:
        where.append(c.effective_on >= effective_from)
    if effective_to is not None:
        where.append(c.effective_on <= effective_to)
    if up_to is not None:
        where.append(c.position <= up_to)
    return where


def trail_page(
    conn: Connection, where: list[Any], *, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    total = conn.execute(select(func.count()).select_from(trail).where(*where)).scalar()
    rows = conn.execute(
        select(*COLUMNS).where(*where).order_by(trail.c.position).limit(limit).offset(offset)
    )
    return [dict(r._mapping) for r in rows], int(total or 0)


def trail_stream(conn: Connection, where: list[Any]) -> Iterator[dict[str, Any]]:
    """Every matching row in log order, fetched a batch at a time (constant memory)."""
    rows = conn.execution_options(yield_per=1000).execute(
        select(*COLUMNS).where(*where).order_by(trail.c.position)
    )
    for row in rows:
        yield dict(row._mapping)


def chain_head(conn: Connection, known_at_us: int) -> dict[str, Any] | None:
    """The last link of the chain recorded by ``known_at``: its position in the log and
    hash, which a printed report carries so that it can be checked against the log."""
    row = conn.execute(
        select(trail.c.position, trail.c.chain_hash, trail.c.recorded_us)
        .where(trail.c.recorded_us <= known_at_us)
        .order_by(trail.c.recorded_us.desc(), trail.c.position.desc())
        .limit(1)
    ).first()
    return None if row is None else {"position": row.position, "hash": row.chain_hash}
