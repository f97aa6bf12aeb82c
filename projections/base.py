"""The machinery every read model shares: follow the event log a page at a time and
write each page's rows and the new tracking position in one transaction.

That is what makes a projection exactly-once (a page is either all in, with its
position, or not at all), resumable after a crash, and rebuildable from the events.

One bad event must not stop the read side: if a page fails, each read model tries it
alone, and one that still fails is taken event by event up to the event it cannot
apply. It is then marked failed at that position, with the reason, and left there; the
others go on, and so do writes. A failed read model is tried again now and then
(``retry_seconds``), and at once by ``rebuild`` or ``retry``; once the cause is fixed
it resumes from where it stopped. A database that is down is not an event's fault: such
errors stop the catch-up without marking anything.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    Date,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    delete,
    func,
    insert,
    inspect,
    select,
    update,
)
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.types import Uuid

from projections.temporal import Fact, Timeline, jsonable, micros

tracking_metadata = MetaData()
tracking = Table(
    "projection_tracking",
    tracking_metadata,
    Column("name", String(60), primary_key=True),
    Column("position", BigInteger, nullable=False),
)

failures = Table(
    "projection_failures",
    tracking_metadata,
    Column("name", String(60), primary_key=True),
    Column("position", BigInteger, nullable=False),  # the event it could not apply
    Column("reason", Text, nullable=False),
    Column("failed_at", BigInteger, nullable=False),  # seconds since the epoch, first failure
    Column("tried_at", BigInteger, nullable=False),  # the latest attempt
)

PAGE_SIZE = 1000
RETRY_SECONDS = 60
logger = logging.getLogger(__name__)

# Errors of the database itself, not of an event: they stop a catch-up, marking nothing.
UNAVAILABLE = (OperationalError, InterfaceError, DisconnectionError, PoolTimeout)


@dataclass(frozen=True)
class Failure:
    """A read model stopped at ``position``: the event there could not be applied."""

    name: str
    position: int
    reason: str
    failed_at: int
    tried_at: int


def describe(error: BaseException) -> str:
    """The reason, as an operator needs it: the error's type and the database's own
    message, never the SQL parameters (which may hold a child's personal data)."""
    if isinstance(error, DBAPIError) and error.orig is not None:
        message = str(error.orig)
    else:
        message = str(error)
    first = message.strip().splitlines()[0] if message.strip() else ""
    return f"{type(error).__name__}: {first[:300]}".rstrip(": ")


class EventSource(Protocol):
    """What a projection reads: the application's notification log and its mapper."""

    def select_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        *,
        inclusive_of_start: bool = True,
    ) -> Sequence[Any]: ...

    def max_notification_id(self) -> int | None: ...

    def to_domain_event(self, notification: Any) -> Any: ...


class Projection:
    """A read model: its own tables (``metadata``), fed only by events.

    Each subclass defines its own ``@singledispatchmethod handle`` and registers a
    handler per event class it needs; other events are skipped (but still tracked).
    """

    name: str = ""
    metadata: MetaData

    def __init__(self, zone: ZoneInfo):
        self.zone = zone

    def process(self, notification: Any, event: Any, conn: Connection) -> None:
        """One event from the log; most read models need only the decoded event."""
        self.handle(event, conn, notification.id)

    def handle(self, event: Any, conn: Connection, position: int) -> None:
        raise NotImplementedError

    def begin_page(self) -> None:
        """Called before each page."""

    def end_page(self, conn: Connection) -> None:
        """Write what the page's events buffered, in the page's transaction."""

    def discard_page(self) -> None:
        """Forget what a failed page buffered."""

    # Helpers for handlers.

    def recorded_us(self, event: Any) -> int:
        return micros(event.timestamp)

    def recorded_day(self, event: Any) -> Any:
        return event.timestamp.astimezone(self.zone).date()

    def is_late(self, event: Any, effective_on: Any) -> bool:
        """Recorded after the day it took effect (a late entry)."""
        return effective_on is not None and effective_on < self.recorded_day(event)

    def tables(self) -> Iterable[Table]:
        return self.metadata.sorted_tables


def facts_of(metadata: MetaData, name: str, key: str, *columns: Any) -> Table:
    """A table of facts about an entity (``key``): each row took effect on
    ``effective_on`` and was recorded at ``recorded_us``, and is never changed."""
    return Table(
        name,
        metadata,
        Column("position", BigInteger, primary_key=True),
        Column(key, Uuid, nullable=False, index=True),
        *columns,
        Column("effective_on", Date, nullable=False),
        Column("recorded_us", BigInteger, nullable=False),
        Column("late", Boolean, nullable=False),
        Column("actor", String(100), nullable=False),
    )


def changes_of(metadata: MetaData, name: str, key: str) -> Table:
    """One row per event about an entity (a change): its version as known at any time.

    Not an entity's state: that is what the bitemporal ``*_versions`` tables hold
    (``projections.temporal``)."""
    return Table(
        name,
        metadata,
        Column("position", BigInteger, primary_key=True),
        Column(key, Uuid, nullable=False, index=True),
        Column("version", Integer, nullable=False),
        Column("recorded_us", BigInteger, nullable=False),
    )


def as_known(table: Table, as_of: date, known_at_us: int) -> list[Any]:
    """A facts table's rows in effect by the end of ``as_of``, as recorded by ``known_at``."""
    return [table.c.effective_on <= as_of, table.c.recorded_us <= known_at_us]


def versions_known(
    conn: Connection, changes: Table, key: str, ids: Sequence[Any], known_at_us: int
) -> dict[Any, int]:
    """Each entity's version as known at ``known_at`` (from its ``changes_of`` table)."""
    column = changes.c[key]
    return {
        entity: int(version)
        for entity, version in conn.execute(
            select(column, func.max(changes.c.version))
            .where(column.in_(ids), changes.c.recorded_us <= known_at_us)
            .group_by(column)
        )
    }


def stopped_on(conn: Connection) -> dict[str, Failure]:
    """The read models that stopped, read on the caller's own connection."""
    return {row["name"]: Failure(**row) for row in conn.execute(select(failures)).mappings()}


class FactsProjection(Projection):
    """A read model of facts that are only ever added (plans, learning weeks)."""

    key: str  # the entity's id column in every table
    changes: Table  # one row per event (``changes_of``)

    def __init__(self, zone: ZoneInfo):
        super().__init__(zone)
        self.buffer = Buffered()

    def end_page(self, conn: Connection) -> None:
        self.buffer.flush(conn)

    def discard_page(self) -> None:
        self.buffer.discard()

    def add_fact(self, table: Table, event: Any, position: int, **row: Any) -> None:
        effective_on = row.pop("effective_on")
        self.buffer.add(
            table,
            position=position,
            effective_on=effective_on,
            recorded_us=self.recorded_us(event),
            late=self.is_late(event, effective_on),
            actor=event.actor,
            **{self.key: event.originator_id},
            **row,
        )
        self.changed(event, position)

    def changed(self, event: Any, position: int) -> None:
        self.buffer.add(
            self.changes,
            position=position,
            version=event.originator_version,
            recorded_us=self.recorded_us(event),
            **{self.key: event.originator_id},
        )


class TimelineProjection(Projection):
    """A read model of bitemporal rows (``projections.temporal``): each entity's facts
    are kept, and its rows recomputed from them by ``fold`` as each fact arrives."""

    versions: Table  # the bitemporal state rows (``*_versions``)
    facts: Table
    state: tuple[str, ...]

    @staticmethod
    def fold(facts: Any) -> Any:
        raise NotImplementedError

    def __init__(self, zone: ZoneInfo):
        super().__init__(zone)
        self.timeline = Timeline(self.versions, self.facts, type(self).fold, self.state)

    def add_fact(
        self,
        event: Any,
        conn: Connection,
        position: int,
        takes_effect: Any,
        **payload: Any,
    ) -> None:
        """One event as a fact of its entity, taking effect on ``takes_effect`` (None: from
        the entity's start); ``payload`` is what the fold needs of it."""
        effective_on = takes_effect
        payload.update(actor=event.actor, late=self.is_late(event, effective_on))
        self.timeline.add(
            conn,
            event.originator_id,
            Fact(
                position=position,
                version=event.originator_version,
                kind=type(event).__name__,
                effective_on=effective_on,
                recorded_us=self.recorded_us(event),
                payload=jsonable(payload),
            ),
        )

    def end_page(self, conn: Connection) -> None:
        self.timeline.flush(conn)

    def discard_page(self) -> None:
        self.timeline.discard()


class Buffered:
    """Rows a page's events add, written with one executemany per table at the page's end."""

    def __init__(self) -> None:
        self._rows: dict[Table, list[dict[str, Any]]] = {}

    def add(self, table: Table, **row: Any) -> None:
        self._rows.setdefault(table, []).append(row)

    def flush(self, conn: Connection) -> None:
        for table in sorted(self._rows, key=lambda t: t.name):
            conn.execute(insert(table), self._rows[table])
        self._rows = {}

    def discard(self) -> None:
        self._rows = {}


def position_of(conn: Connection, name: str) -> int:
    return conn.execute(select(tracking.c.position).where(tracking.c.name == name)).scalar() or 0


def _save_position(conn: Connection, name: str, old: int, new: int) -> None:
    """Move the tracking position; refuse if another runner moved it first."""
    result = conn.execute(
        update(tracking)
        .where(tracking.c.name == name, tracking.c.position == old)
        .values(position=new)
    )
    if result.rowcount != 1:
        raise AlreadyProcessed(name)


def _older_shape(conn: Connection, metadata: MetaData) -> bool:
    """Whether a stored table lacks one of the code's columns, or refuses an empty value
    in a column the code allows to be empty."""
    inspector = inspect(conn)
    for table in metadata.sorted_tables:
        if not inspector.has_table(table.name):
            continue
        stored = {column["name"]: column for column in inspector.get_columns(table.name)}
        for column in table.columns:
            found = stored.get(column.name)
            if found is None or (column.nullable and not found["nullable"]):
                return True
    return False


def _ensure_tracked(conn: Connection, name: str) -> None:
    if conn.execute(select(tracking.c.name).where(tracking.c.name == name)).first() is None:
        conn.execute(insert(tracking).values(name=name, position=0))


class AlreadyProcessed(Exception):
    """Another runner recorded this page first: nothing to do."""


class Runner:
    """Catches projections up with the event log, a page per transaction."""

    def __init__(
        self,
        engine: Engine,
        source: EventSource,
        projections: Sequence[Projection],
        *,
        page_size: int = PAGE_SIZE,
        retry_seconds: float = RETRY_SECONDS,
        clock: Callable[[], float] = time.time,
    ):
        self.engine = engine
        self.source = source
        self.projections = list(projections)
        self.page_size = page_size
        self.retry_seconds = retry_seconds
        self.clock = clock

    def create_tables(self) -> None:
        """Create what is missing; a read model whose stored tables are of an older shape
        than its code's (a column missing, or one that may now be empty) is dropped and
        left to be built again from the events by the next catch-up."""
        tracking_metadata.create_all(self.engine)
        with self.engine.begin() as conn:
            for projection in self.projections:
                if _older_shape(conn, projection.metadata):
                    logger.warning(
                        "read model %s: its tables are of an older shape; rebuilding it "
                        "from the events",
                        projection.name,
                    )
                    projection.metadata.drop_all(conn)
                    conn.execute(delete(tracking).where(tracking.c.name == projection.name))
                    conn.execute(delete(failures).where(failures.c.name == projection.name))
                projection.metadata.create_all(conn)
                _ensure_tracked(conn, projection.name)

    def positions(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            return {p.name: position_of(conn, p.name) for p in self.projections}

    def failures(self) -> dict[str, Failure]:
        """The read models that stopped, by name."""
        names = {p.name for p in self.projections}
        with self.engine.connect() as conn:
            return {name: f for name, f in stopped_on(conn).items() if name in names}

    def catch_up(self, progress: Callable[[str, int], None] | None = None) -> int:
        """Process every event not yet processed; return how many events were read."""
        done = 0
        retrying = self._due_for_retry()
        while True:
            count = self._page(retrying)
            if count == 0:
                return done
            done += count
            if progress:
                progress("", count)

    def retry(self, names: Iterable[str] | None = None) -> int:
        """Try failed read models again now (all, or the named ones)."""
        wanted = None if names is None else set(names)
        with self.engine.begin() as conn:
            query = update(failures).values(tried_at=0)
            if wanted is not None:
                query = query.where(failures.c.name.in_(wanted))
            conn.execute(query)
        return self.catch_up()

    def _due_for_retry(self) -> set[str]:
        now = self.clock()
        return {
            name
            for name, failure in self.failures().items()
            if now - failure.tried_at >= self.retry_seconds
        }

    def _page(self, retrying: set[str]) -> int:
        """One page of the log, for every projection behind it, in one transaction (or,
        if that fails, for each on its own)."""
        with self.engine.connect() as conn:
            positions = {p.name: position_of(conn, p.name) for p in self.projections}
            stopped = {name for (name,) in conn.execute(select(failures.c.name))}
        active = [p for p in self.projections if p.name not in stopped or p.name in retrying]
        if not active:
            return 0
        start = min(positions[p.name] for p in active)
        notifications = self.source.select_notifications(
            start, self.page_size, inclusive_of_start=False
        )
        if not notifications:
            return 0
        last = notifications[-1].id
        behind = [p for p in active if positions[p.name] < last]
        try:
            events = [(n, self.source.to_domain_event(n)) for n in notifications]
            self._apply(behind, events, positions, last)
        except AlreadyProcessed:
            return 0
        except UNAVAILABLE:
            raise
        except Exception:
            for projection in behind:
                self._isolate(projection, notifications, positions[projection.name], last)
        else:
            self._cleared([p.name for p in behind if p.name in stopped])
        for name in [p.name for p in behind]:
            retrying.discard(name)
        return len(notifications)

    def _apply(
        self,
        projections: Sequence[Projection],
        events: Sequence[tuple[Any, Any]],
        positions: dict[str, int],
        last: int,
    ) -> None:
        for projection in projections:
            projection.begin_page()
        try:
            with self.engine.begin() as conn:
                for projection in projections:
                    after = positions[projection.name]
                    for notification, event in events:
                        if notification.id > after:
                            projection.process(notification, event, conn)
                    projection.end_page(conn)
                    _save_position(conn, projection.name, after, last)
        except BaseException:
            for projection in projections:
                projection.discard_page()
            raise

    def _isolate(
        self, projection: Projection, notifications: Sequence[Any], after: int, last: int
    ) -> None:
        """The page for one read model alone; if it fails, event by event up to the one
        it cannot apply, which marks it failed there."""
        try:
            events = [(n, self.source.to_domain_event(n)) for n in notifications]
            self._apply([projection], events, {projection.name: after}, last)
        except AlreadyProcessed:
            return
        except UNAVAILABLE:
            raise
        except Exception:
            pass
        else:
            self._cleared([projection.name])
            return
        for notification in notifications:
            if notification.id <= after:
                continue
            try:
                event = self.source.to_domain_event(notification)
                self._apply(
                    [projection], [(notification, event)], {projection.name: after}, notification.id
                )
            except AlreadyProcessed:
                return
            except UNAVAILABLE:
                raise
            except Exception as error:
                self._failed(projection.name, notification.id, error)
                return
            after = notification.id
        self._cleared([projection.name])

    def _failed(self, name: str, position: int, error: BaseException) -> None:
        reason = describe(error)
        now = int(self.clock())
        logger.error("read model %s stopped at event %s: %s", name, position, reason)
        with self.engine.begin() as conn:
            done = conn.execute(
                update(failures)
                .where(failures.c.name == name)
                .values(position=position, reason=reason, tried_at=now)
            )
            if done.rowcount == 0:
                conn.execute(
                    insert(failures).values(
                        name=name, position=position, reason=reason, failed_at=now, tried_at=now
                    )
                )

    def _cleared(self, names: Sequence[str]) -> None:
        if not names:
            return
        with self.engine.begin() as conn:
            if conn.execute(delete(failures).where(failures.c.name.in_(names))).rowcount:
                logger.warning("read model(s) %s resumed", ", ".join(names))

    def rebuild(
        self, names: Iterable[str] | None = None, progress: Callable[[str, int], None] | None = None
    ) -> int:
        """Drop the named read models (all by default) and build them again from the events."""
        wanted = None if names is None else set(names)
        chosen = [p for p in self.projections if wanted is None or p.name in wanted]
        with self.engine.begin() as conn:
            for projection in chosen:
                projection.metadata.drop_all(conn)
                conn.execute(delete(tracking).where(tracking.c.name == projection.name))
                conn.execute(delete(failures).where(failures.c.name == projection.name))
            for projection in chosen:
                projection.metadata.create_all(conn)
                _ensure_tracked(conn, projection.name)
        runner = Runner(self.engine, self.source, chosen, page_size=self.page_size)
        return runner.catch_up(progress)

    def lag(self) -> dict[str, dict[str, Any]]:
        head = self.source.max_notification_id() or 0
        stopped = self.failures()
        out: dict[str, dict[str, Any]] = {}
        for name, position in self.positions().items():
            out[name] = {"position": position, "lag": head - position}
            if name in stopped:
                out[name]["failed"] = stopped[name]
        return out
