"""The composition root: the one place that wires concrete classes together."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.pool import ConnectionPoolEntry

from projections import ReadModels
from qa_service import accounts, checkpoints
from qa_service.accounts import Accounts, IdempotencyStore
from qa_service.application import Commands
from qa_service.locks import file_lock
from qa_service.queries import Queries
from qa_service.settings import Settings


@dataclass
class Service:
    settings: Settings
    commands: Commands
    engine: Engine
    accounts: Accounts
    idempotency: IdempotencyStore
    reads: ReadModels
    queries: Queries

    def close(self) -> None:
        self.commands.close()
        self.engine.dispose()

    def __enter__(self) -> Service:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def _engine(settings: Settings) -> Engine:
    # hide_parameters: an error's message never carries a child's personal text to a log.
    engine = create_engine(
        settings.sqlalchemy_url(), hide_parameters=True, **settings.sqlalchemy_options()
    )
    if settings.is_sqlite:

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(
            dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry
        ) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={settings.lock_timeout_seconds * 1000}")
            cursor.close()

    return engine


def prepare_storage(settings: Settings) -> None:
    """Create every table once, before any worker starts (safe to run again)."""
    if settings.is_sqlite:
        settings.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
    engine = _engine(settings)
    try:
        if not settings.is_sqlite and settings.schema:
            with engine.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{settings.schema}"'))
        accounts.create_tables(engine, token_days=settings.token_days)
        checkpoints.create_tables(engine)
        commands = Commands(replace(settings, create_tables=True).eventsourcing_env())
        try:
            ReadModels(engine, StoredEvents(commands), ZoneInfo(settings.timezone)).create_tables()
            # Every recorder of the library's has it; their base class does not declare it.
            table = commands.recorder.events_table_name  # type: ignore[attr-defined]
            protect_events(settings, engine, table)
        finally:
            commands.close()
    finally:
        engine.dispose()


def protect_events(settings: Settings, engine: Engine, table: str) -> None:
    """The events table refuses UPDATE and DELETE (and, on PostgreSQL, TRUNCATE) in the
    database itself, so not even a direct SQL session can rewrite history quietly."""
    with engine.begin() as conn:
        if settings.is_sqlite:
            for operation, verb in (("UPDATE", "changed"), ("DELETE", "removed")):
                conn.execute(
                    text(
                        f"CREATE TRIGGER IF NOT EXISTS {table}_no_{operation.lower()} "
                        f"BEFORE {operation} ON {table} BEGIN SELECT RAISE(ABORT, "
                        f"'the event log is append-only: events cannot be {verb}'); END"
                    )
                )
            return
        schema = f'"{settings.schema}".' if settings.schema else ""
        conn.execute(
            text(
                f"CREATE OR REPLACE FUNCTION {schema}qa_append_only() RETURNS trigger "
                "LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION "
                "'the event log is append-only: % refused', TG_OP; END $$"
            )
        )
        conn.execute(
            text(
                f"CREATE OR REPLACE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE "
                f"ON {schema}{table} FOR EACH ROW EXECUTE FUNCTION {schema}qa_append_only()"
            )
        )
        conn.execute(
            text(
                f"CREATE OR REPLACE TRIGGER {table}_no_truncate BEFORE TRUNCATE "
                f"ON {schema}{table} FOR EACH STATEMENT EXECUTE FUNCTION {schema}qa_append_only()"
            )
        )


class StoredEvents:
    """The application's notification log, as the projections read it."""

    def __init__(self, commands: Commands):
        self.select_notifications = commands.recorder.select_notifications
        self.max_notification_id = commands.recorder.max_notification_id
        self.to_domain_event = commands.mapper.to_domain_event


WRITER_LOCK_KEY = 0x51A_106  # the PostgreSQL advisory lock all writers take


def _writer_lock(settings: Settings, engine: Engine) -> Callable[[], AbstractContextManager[Any]]:
    """One writer at a time across processes, so a command's read-check-write is atomic."""
    if settings.is_sqlite:
        path = settings.sqlite_path.with_name(settings.sqlite_path.name + "-writer.lock")
        return lambda: file_lock(path)

    @contextmanager
    def advisory_lock() -> Iterator[None]:
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": WRITER_LOCK_KEY})
            conn.commit()
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": WRITER_LOCK_KEY})
                conn.commit()

    return advisory_lock


def build_service(settings: Settings, *, clock: Callable[[], datetime] | None = None) -> Service:
    """Open the stores. Tables must exist (``prepare_storage``) unless settings create them."""
    if settings.create_tables:
        prepare_storage(settings)
    engine = _engine(settings)
    commands = Commands(
        replace(settings, create_tables=False).eventsourcing_env(),
        timezone=settings.timezone,
        writer_lock=_writer_lock(settings, engine),
        clock=clock,
    )
    zone = ZoneInfo(settings.timezone)
    reads = ReadModels(engine, StoredEvents(commands), zone)
    commands.follow_with(reads.catch_up)
    return Service(
        settings=settings,
        commands=commands,
        engine=engine,
        accounts=Accounts(engine, token_days=settings.token_days),
        idempotency=IdempotencyStore(engine),
        reads=reads,
        queries=Queries(reads, zone, commands.today),
    )
