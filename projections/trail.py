"""The inspectors' trail: every event, who did it, when it was recorded and took effect,
why, a readable summary, and a hash chain over the stored events.

The chain: for each stored event, ``content`` = SHA-256 of its stored bytes (originator
id, version, topic and state), and ``chain`` = SHA-256 of the previous chain hash, the
event's position in the log and its content hash. The trail projection stores both for
every position; ``verify`` recomputes them from the events table itself and reports the
first position where the log and the chain disagree, and how. Whatever a person with
access to the database puts in the events table (a value of another type, a NULL,
truncated bytes), verification answers with a position, never with a crash.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from datetime import date
from functools import singledispatchmethod
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

from events import Action, CaseAudit, ImprovementPlan, LearningWeek
from projections.base import Projection

GENESIS = "0" * 64
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


class Unreadable(ValueError):
    """A stored event is not of the kind the log stores (its state is not bytes)."""


def content_hash(originator_id: Any, version: int, topic: str, state: bytes) -> str:
    """SHA-256 of an event's stored bytes, wherever it stands in the log."""
    if not isinstance(state, bytes | bytearray | memoryview):
        # bytes() would turn a number into that many zero bytes, and fail on text.
        kind = {type(None): "missing (NULL)", str: "text", int: "a number"}
        raise Unreadable(f"its state is {kind.get(type(state), type(state).__name__)}, not bytes")
    head = f"{originator_id}\n{version}\n{topic}\n".encode()
    return hashlib.sha256(head + bytes(state)).hexdigest()


def chain_hash(previous: str, position: int, content: str) -> str:
    return hashlib.sha256(f"{previous}\n{position}\n{content}".encode()).hexdigest()


def notification_content(notification: Any) -> str:
    return content_hash(
        notification.originator_id,
        notification.originator_version,
        notification.topic,
        notification.state,
    )


def _effective_on(event: Any) -> date | None:
    for name in ("effective_on", "audited_on", "published_on", "starts_on"):
        value = getattr(event, name, None)
        if isinstance(value, date):
            return value
    return None


def _show(day: date | None) -> str:
    return day.isoformat() if day else "to be confirmed"


class TrailProjection(Projection):
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
                summary=self.describe(event),
                content_hash=content,
                chain_hash=chained,
            )
        )
        self._head = chained

    # A sentence per event, for people.

    @singledispatchmethod
    def describe(self, event: Any) -> str:
        return type(event).__qualname__

    @describe.register
    def _(self, e: CaseAudit.Recorded) -> str:
        return (
            f"Audit recorded: {e.audit_type} audit of case {e.case_ref} ({e.service_area}), "
            f"audited on {e.audited_on.isoformat()}, graded {e.overall_grade}"
            + (f", with {len(e.action_ids)} action(s)" if e.action_ids else "")
        )

    @describe.register
    def _(self, e: CaseAudit.Corrected) -> str:
        changes = "; ".join(f"{k}: {e.previous.get(k)!r} to {v!r}" for k, v in e.changes.items())
        return f"Audit corrected: {changes}"

    @describe.register
    def _(self, e: CaseAudit.Moderated) -> str:
        verdict = "confirmed" if e.grade == e.previous_grade else f"changed from {e.previous_grade}"
        return f"Audit moderated: grade {e.grade} ({verdict})"

    @describe.register
    def _(self, e: CaseAudit.Withdrawn) -> str:
        return "Audit withdrawn"

    @describe.register
    def _(self, e: CaseAudit.ActionAttached) -> str:
        return f"Action {e.action_id} raised on the audit"

    @describe.register
    def _(self, e: Action.Raised) -> str:
        where = f"recommendation {e.recommendation}" if e.origin == "plan" else f"case {e.case_ref}"
        return (
            f"Action raised on {where}: {e.description} (owners {', '.join(e.owners)}; "
            f"due {_show(e.due_on)})"
        )

    @describe.register
    def _(self, e: Action.StatusChanged) -> str:
        return f"Status changed to {e.status} from {e.effective_on.isoformat()}"

    @describe.register
    def _(self, e: Action.Rescheduled) -> str:
        return f"Due date changed from {_show(e.previous_due_on)} to {_show(e.due_on)}"

    @describe.register
    def _(self, e: Action.Reassigned) -> str:
        return f"Owners changed from {', '.join(e.previous_owners)} to {', '.join(e.owners)}"

    @describe.register
    def _(self, e: ImprovementPlan.Created) -> str:
        return f"Plan created: {e.title}, published {e.published_on.isoformat()}"

    @describe.register
    def _(self, e: ImprovementPlan.LeadAdded) -> str:
        return f"Key lead added: {e.initials}, {e.name}" + (
            f", {e.job_title}" if e.job_title else ""
        )

    @describe.register
    def _(self, e: ImprovementPlan.RecommendationAdded) -> str:
        text = e.text if len(e.text) <= 120 else e.text[:117] + "..."
        return f"Recommendation {e.number} added ({e.area}): {text}"

    @describe.register
    def _(self, e: ImprovementPlan.ActionAttached) -> str:
        return f"Action {e.action_id} added to recommendation {e.recommendation}"

    @describe.register
    def _(self, e: ImprovementPlan.ReviewRecorded) -> str:
        return (
            f"{e.quarter} review of recommendation {e.recommendation}: progress {e.progress}, "
            f"impact {e.impact}"
        )

    @describe.register
    def _(self, e: LearningWeek.Opened) -> str:
        return (
            f"Learning week opened: {e.title}, {e.starts_on.isoformat()} to {e.ends_on.isoformat()}"
        )

    @describe.register
    def _(self, e: LearningWeek.Closed) -> str:
        return "Learning week closed"

    @describe.register
    def _(self, e: LearningWeek.AuditAdded) -> str:
        return f"Audit {e.audit_id} added to the learning week"

    @describe.register
    def _(self, e: LearningWeek.FeedbackRecorded) -> str:
        knew = "knew" if e.knew_why_involved else "did not know"
        return (
            f"Family feedback from a {e.respondent}: satisfaction {e.satisfaction}/10, "
            f"{knew} why the service was involved"
        )

    @describe.register
    def _(self, e: LearningWeek.FindingRecorded) -> str:
        return f"Finding ({e.kind}, {e.theme}): {e.text}"


# Verification.


@dataclass(frozen=True)
class Verdict:
    ok: bool  # the chain holds, and every read model checked matches the events
    count: int
    head_position: int
    head_hash: str
    unchained: int = 0  # events newer than the chain (the trail has not caught up yet)
    position: int | None = None  # the chain's first failure
    problem: str | None = None  # altered, missing, reordered, inserted
    detail: str | None = None
    hashes_at: dict[int, str] = field(default_factory=dict)  # recomputed, where asked
    read_models_ok: bool | None = None  # None: not checked (or the chain already failed)
    drift: list[Any] = field(default_factory=list)  # projections.scratch.Drift, if any

    @property
    def chain_ok(self) -> bool:
        return self.problem is None


def _stored(conn: Connection, head: int) -> Iterator[Any]:
    rows = conn.execution_options(yield_per=1000).execute(
        select(trail.c.position, trail.c.content_hash, trail.c.chain_hash)
        .where(trail.c.position <= head)
        .order_by(trail.c.position)
    )
    yield from rows


def verify(
    conn: Connection,
    source: Any,
    head: int,
    *,
    at: Collection[int] = (),
    page_size: int = 1000,
) -> Verdict:
    """Recompute the chain from the events table, in log order, up to the trail's head
    (its tracking position), comparing each position with what the trail recorded."""
    stored = _stored(conn, head)
    wanted = set(at)
    hashes_at: dict[int, str] = {}
    previous = GENESIS
    count = 0
    last = 0

    def fail(position: int, problem: str, detail: str) -> Verdict:
        return Verdict(False, count, last, previous, 0, position, problem, detail, hashes_at)

    row = next(stored, None)
    start: int | None = None  # from the very start, even a position 0 or below
    size = page_size
    while True:
        try:
            notifications = source.select_notifications(
                start, size, inclusive_of_start=False, stop=head
            )
        except Exception as error:  # a stored value the log cannot even read back
            if size > 1:
                size = 1  # read one event at a time, to find which
                continue
            source.max_notification_id()  # raises again if the store itself is down
            # The unreadable event stands where the trail says the next one is.
            position = row.position if row is not None else (start or 0) + 1
            return fail(
                position,
                "altered",
                f"the stored event at position {position} was changed: it cannot be read "
                f"({type(error).__name__})",
            )
        if not notifications:
            break
        for n in notifications:
            start = n.id
            if row is not None and row.position < n.id:
                return fail(
                    row.position, "missing", f"the event at position {row.position} is gone"
                )
            if row is None or row.position > n.id:
                return fail(
                    n.id,
                    "inserted",
                    f"an event at position {n.id} was never in the chain",
                )
            try:
                content = notification_content(n)
            except Unreadable as error:
                return fail(
                    n.id, "altered", f"the stored event at position {n.id} was changed: {error}"
                )
            if content != row.content_hash:
                elsewhere = conn.execute(
                    select(trail.c.position).where(trail.c.content_hash == content).limit(1)
                ).scalar()
                if elsewhere is not None:
                    return fail(
                        n.id,
                        "reordered",
                        f"the event at position {n.id} was recorded at position {elsewhere}",
                    )
                return fail(n.id, "altered", f"the stored event at position {n.id} was changed")
            previous = chain_hash(previous, n.id, content)
            if n.id in wanted:
                hashes_at[n.id] = previous
            if previous != row.chain_hash:
                return fail(n.id, "altered", f"the trail's hash at position {n.id} was changed")
            count += 1
            last = n.id
            row = next(stored, None)
    if row is not None:
        return fail(row.position, "missing", f"the event at position {row.position} is gone")
    newest = source.max_notification_id() or 0
    return Verdict(True, count, last, previous, max(0, newest - head), hashes_at=hashes_at)


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
