"""Bitemporal rows: each row of an entity's state is valid over an interval of effective
dates (``valid_from`` ≤ day < ``valid_to``) and was known over an interval of recorded
time (``recorded_from`` ≤ t < ``recorded_to``). An as-of/known-at read picks exactly
one row per entity with four range predicates, whatever the length of the history.

An entity's timeline is computed from its facts (its events, kept in the projection's
own facts table) by a pure ``fold``; when a fact arrives, the rows of the current
knowledge that changed are closed (``recorded_to`` = now) and the new ones inserted.
A late entry (effective before rows already known) therefore changes the as-of answer
from the time it was recorded, and leaves earlier known-at answers as they were.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Connection,
    Date,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    bindparam,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.types import Uuid

END_OF_TIME = date(9999, 12, 31)
NEVER = 2**62  # recorded_to of rows that are still the current knowledge


def micros(moment: datetime) -> int:
    """A timestamp as microseconds since the epoch (UTC): exact and fast on both stores."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1_000_000, tz=UTC)


def jsonable(value: Any) -> Any:
    """Event attributes as JSON: dates as ISO strings, UUIDs as strings."""
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


@dataclass(frozen=True)
class Fact:
    """One event about an entity, as the timeline sees it."""

    position: int
    version: int
    kind: str
    effective_on: date | None  # None: retroactive (applies from the entity's start)
    recorded_us: int
    payload: dict[str, Any]


def temporal_columns() -> list[Any]:
    return [
        Column("row_id", Integer, primary_key=True, autoincrement=True),
        Column("entity_id", Uuid, nullable=False),
        Column("valid_from", Date, nullable=False),
        Column("valid_to", Date, nullable=False),
        Column("recorded_from", BigInteger, nullable=False),
        Column("recorded_to", BigInteger, nullable=False),
    ]


def temporal_indexes(name: str) -> list[Index]:
    return [
        Index(f"ix_{name}_entity", "entity_id", "recorded_to", "valid_from"),
        Index(f"ix_{name}_when", "recorded_to", "valid_from", "valid_to"),
    ]


def facts_table(name: str, metadata: MetaData) -> Table:
    return Table(
        name,
        metadata,
        Column("position", BigInteger, primary_key=True),
        Column("entity_id", Uuid, nullable=False, index=True),
        Column("version", Integer, nullable=False),
        Column("kind", String(40), nullable=False),
        Column("effective_on", Date),
        Column("recorded_us", BigInteger, nullable=False),
        Column("payload", JSON, nullable=False),
    )


def known_version(conn: Connection, facts: Table, entity_id: UUID, known_at_us: int) -> int:
    """The entity's version as known at that time (for ``If-Match``)."""
    return (
        conn.execute(
            select(func.max(facts.c.version)).where(
                facts.c.entity_id == entity_id, facts.c.recorded_us <= known_at_us
            )
        ).scalar_one_or_none()
        or 0
    )


def as_of_clause(table: Table, as_of: date, known_at_us: int) -> Any:
    return and_(
        table.c.valid_from <= as_of,
        table.c.valid_to > as_of,
        table.c.recorded_from <= known_at_us,
        table.c.recorded_to > known_at_us,
    )


Fold = Callable[[Sequence[Fact]], list[tuple[date, dict[str, Any]]]]


class Timeline:
    """Maintains one bitemporal table from the facts of its entities, a page at a time.

    Within a page, an entity's facts and current rows are loaded once and kept in memory;
    ``flush`` writes the page's changes in a few statements, in the caller's transaction.
    """

    def __init__(self, versions: Table, facts: Table, fold: Fold, state_columns: Iterable[str]):
        self.versions = versions
        self.facts = facts
        self.fold = fold
        self.state_columns = tuple(state_columns)
        self._reset()

    def _reset(self) -> None:
        self._facts: dict[UUID, list[Fact]] = {}
        self._rows: dict[UUID, list[dict[str, Any]]] = {}
        self._new_facts: list[dict[str, Any]] = []
        self._closed: dict[int, int] = {}  # row_id -> recorded_to
        self._inserted: list[dict[str, Any]] = []

    def _load(self, conn: Connection, entity_id: UUID) -> None:
        if entity_id in self._facts:
            return
        rows = conn.execute(
            select(self.facts).where(self.facts.c.entity_id == entity_id)
        ).mappings()
        self._facts[entity_id] = [
            Fact(
                r["position"],
                r["version"],
                r["kind"],
                r["effective_on"],
                r["recorded_us"],
                r["payload"],
            )
            for r in rows
        ]
        current = conn.execute(
            select(self.versions).where(
                self.versions.c.entity_id == entity_id, self.versions.c.recorded_to == NEVER
            )
        ).mappings()
        self._rows[entity_id] = [dict(r) for r in current]

    def add(self, conn: Connection, entity_id: UUID, fact: Fact) -> None:
        if fact.version == 1 and entity_id not in self._facts:
            self._facts[entity_id] = []  # its creation: nothing is stored about it yet
            self._rows[entity_id] = []
        self._load(conn, entity_id)
        facts = self._facts[entity_id]
        facts.append(fact)
        self._new_facts.append(
            {
                "position": fact.position,
                "entity_id": entity_id,
                "version": fact.version,
                "kind": fact.kind,
                "effective_on": fact.effective_on,
                "recorded_us": fact.recorded_us,
                "payload": fact.payload,
            }
        )
        wanted = self._intervals(facts)
        current = self._rows[entity_id]
        keep: list[dict[str, Any]] = []
        for row in current:
            key = (row["valid_from"], row["valid_to"], self._key(row))
            if key in wanted:
                wanted.pop(key)
                keep.append(row)
            elif "row_id" in row:
                self._closed[row["row_id"]] = fact.recorded_us
            else:  # inserted earlier in this page: it was the knowledge until now
                row["recorded_to"] = fact.recorded_us
        for (valid_from, valid_to, _), state in wanted.items():
            row = {
                "entity_id": entity_id,
                "valid_from": valid_from,
                "valid_to": valid_to,
                "recorded_from": fact.recorded_us,
                "recorded_to": NEVER,
                **state,
            }
            self._inserted.append(row)
            keep.append(row)
        self._rows[entity_id] = keep

    def _intervals(self, facts: Sequence[Fact]) -> dict[tuple[date, date, str], dict[str, Any]]:
        changes = self.fold(facts)
        merged: list[tuple[date, dict[str, Any]]] = []
        for valid_from, state in changes:
            if merged and merged[-1][0] == valid_from:
                merged[-1] = (valid_from, state)
            elif merged and merged[-1][1] == state:
                continue
            else:
                merged.append((valid_from, state))
        out: dict[tuple[date, date, str], dict[str, Any]] = {}
        for i, (valid_from, state) in enumerate(merged):
            valid_to = merged[i + 1][0] if i + 1 < len(merged) else END_OF_TIME
            out[(valid_from, valid_to, self._key(state))] = state
        return out

    def _key(self, state: Mapping[str, Any]) -> str:
        """The state's identity: the same for a row read back from the database and for
        the fold's state (dates, UUIDs, lists and dicts compare as themselves)."""
        return repr(tuple(state[c] for c in self.state_columns))

    def flush(self, conn: Connection) -> None:
        if self._new_facts:
            conn.execute(insert(self.facts), self._new_facts)
        if self._closed:
            conn.execute(
                update(self.versions)
                .where(self.versions.c.row_id == bindparam("closed_row"))
                .values(recorded_to=bindparam("closed_at")),
                [{"closed_row": k, "closed_at": v} for k, v in self._closed.items()],
            )
        if self._inserted:
            conn.execute(insert(self.versions), self._inserted)
        self._reset()

    def discard(self) -> None:
        self._reset()
