"""Read models rebuilt from the events alone, in a throwaway store, to check the stored ones.

The events are protected (append-only, hash-chained); the read models are ordinary
tables that anyone with write access to the database can edit, and nothing in their rows
would show it. So each read model is rebuilt into a scratch store, up to the position the
stored one has reached, and the two are compared table by table, entity by entity: a
difference names the read model, the table and the entity that drifted. The same rebuild
gives an inspection pack figures that come from the events, not from editable tables.

The scratch store is of the same kind as the live one, so both order and return values
alike: on SQLite a temporary database file, on PostgreSQL a schema of its own in the same
database, dropped afterwards.
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Connection, Engine, Table, create_engine, event, select, text
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.pool import ConnectionPoolEntry, NullPool
from sqlalchemy.types import Uuid

from projections.base import EventSource, Projection, Runner

MAX_DRIFT = 20  # enough to act on; a wholesale edit would otherwise list every row

# The entity a temporal table's ``entity_id`` stands for, as the API names it.
ENTITY_IDS = {"actions": "action_id", "audits": "audit_id"}


class UpTo:
    """An event source that ends at ``stop``, so a rebuild stops where the stored read
    model stopped (newer events are not the stored one's fault)."""

    def __init__(self, source: EventSource, stop: int):
        self.source = source
        self.stop = stop

    def select_notifications(
        self, start: int | None, limit: int, stop: int | None = None, **kw: Any
    ) -> Sequence[Any]:
        stop = self.stop if stop is None else min(stop, self.stop)
        return self.source.select_notifications(start, limit, stop=stop, **kw)

    def max_notification_id(self) -> int | None:
        newest = self.source.max_notification_id()
        return None if newest is None else min(newest, self.stop)

    def to_domain_event(self, notification: Any) -> Any:
        return self.source.to_domain_event(notification)


@contextmanager
def scratch_engine(engine: Engine) -> Iterator[Engine]:
    """An empty store of the same kind as ``engine``, gone when the block ends."""
    if engine.dialect.name == "sqlite":
        with tempfile.TemporaryDirectory(prefix="qa-scratch-") as folder:
            scratch = create_engine(f"sqlite:///{Path(folder) / 'scratch.sqlite3'}")

            @event.listens_for(scratch, "connect")
            def _throwaway(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
                # Nothing here needs to survive a crash: skip the journal and the syncs.
                cursor = dbapi_connection.cursor()
                cursor.execute("PRAGMA journal_mode=OFF")
                cursor.execute("PRAGMA synchronous=OFF")
                cursor.close()

            try:
                yield scratch
            finally:
                scratch.dispose()
        return
    schema = f"qa_scratch_{uuid.uuid4().hex[:12]}"
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    scratch = create_engine(
        engine.url, poolclass=NullPool, connect_args={"options": f"-csearch_path={schema}"}
    )
    try:
        yield scratch
    finally:
        scratch.dispose()
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


def rebuild(
    engine: Engine, source: EventSource, projections: Sequence[Projection], up_to: int
) -> None:
    """Create the read models' tables in ``engine`` and fold the events up to ``up_to``."""
    runner = Runner(engine, UpTo(source, up_to), projections)
    runner.create_tables()
    runner.catch_up()


# Checking the stored read models.


@dataclass(frozen=True)
class Drift:
    """Where a stored read model differs from the events."""

    read_model: str  # the projection's name
    table: str
    key: str  # the entity's id column: action_id, audit_id, plan_id, week_id, ...
    entity_id: str
    detail: str

    def __str__(self) -> str:
        where = f" ({self.table}, {self.key} {self.entity_id})" if self.entity_id else ""
        return f"the read model {self.read_model} differs from the events{where}: {self.detail}"


def drift(
    engine: Engine,
    source: EventSource,
    projections: Sequence[Projection],
    positions: Mapping[str, int],
) -> list[Drift]:
    """How each stored read model differs from the same read model rebuilt from the
    events up to its stored position (empty when none does)."""
    found: list[Drift] = []
    with scratch_engine(engine) as scratch:
        for projection in projections:
            fresh = type(projection)(projection.zone)
            try:
                rebuild(scratch, source, [fresh], positions[projection.name])
            except Exception as error:  # a bad event, found and named by the chain check
                detail = f"it cannot be rebuilt from the events ({type(error).__name__})"
                found.append(Drift(projection.name, "", "", "", detail))
                continue
            with engine.connect() as live, scratch.connect() as rebuilt:
                for table in projection.tables():
                    found += _compare(projection.name, table, live, rebuilt)
                    if len(found) >= MAX_DRIFT:
                        return found[:MAX_DRIFT]
    return found


def _entity_column(table: Table) -> Column[Any]:
    """The column naming the entity a row is about: the first id that is not a key."""
    for column in table.columns:
        if isinstance(column.type, Uuid) and not column.nullable and not column.primary_key:
            return column
    return next(iter(table.primary_key.columns))


def _compared_columns(table: Table) -> list[Column[Any]]:
    """Every column but a counter the store assigns (``row_id``): PostgreSQL skips
    numbers after a rolled-back page, so the same rows may carry other numbers."""
    return [c for c in table.columns if c.autoincrement is not True]


def _entities(conn: Connection, table: Table) -> Iterator[tuple[Any, list[tuple[Any, ...]]]]:
    """Each entity's rows, in entity order, in the order they were written."""
    entity = _entity_column(table)
    columns = _compared_columns(table)
    at = columns.index(entity)
    rows = conn.execution_options(yield_per=1000).execute(
        select(*columns).order_by(entity, *table.primary_key.columns)
    )
    for key, group in groupby(rows, key=lambda row: row[at]):
        yield key, [tuple(row) for row in group]


def _compare(name: str, table: Table, live: Connection, rebuilt: Connection) -> list[Drift]:
    entity = _entity_column(table)
    key = ENTITY_IDS.get(name, entity.name) if entity.name == "entity_id" else entity.name
    columns = [c.name for c in _compared_columns(table)]
    found: list[Drift] = []

    def drifted(entity_id: Any, detail: str) -> None:
        found.append(Drift(name, table.name, key, str(entity_id), detail))

    stored, fresh = _entities(live, table), _entities(rebuilt, table)
    a, b = next(stored, None), next(fresh, None)
    try:
        while (a is not None or b is not None) and len(found) < MAX_DRIFT:
            if a is not None and (b is None or a[0] < b[0]):
                drifted(a[0], "its rows are in the read model but not in the events")
                a = next(stored, None)
            elif b is not None and (a is None or b[0] < a[0]):
                drifted(b[0], "its rows are in the events but missing from the read model")
                b = next(fresh, None)
            else:
                assert a is not None and b is not None  # the same entity on both sides
                if a[1] != b[1]:
                    drifted(a[0], _difference(columns, a[1], b[1]))
                a, b = next(stored, None), next(fresh, None)
    except (TypeError, ValueError) as error:  # a value edited into one of another kind
        drifted("?", f"a stored row cannot be read ({type(error).__name__})")
    return found


def _difference(
    columns: list[str], stored: list[tuple[Any, ...]], fresh: list[tuple[Any, ...]]
) -> str:
    for row, (mine, theirs) in enumerate(zip(stored, fresh, strict=False), 1):
        for column, value, expected in zip(columns, mine, theirs, strict=True):
            if value != expected:
                return (
                    f"{column} is {_short(value)} in the read model, {_short(expected)} from "
                    f"the events (its row {row} of {len(fresh)})"
                )
    return f"it has {len(stored)} row(s) in the read model, {len(fresh)} from the events"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
