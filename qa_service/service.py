"""The composition root: the one place that wires concrete classes together."""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy import Engine, create_engine, event, text

from qa_service.accounts import Accounts, IdempotencyStore, create_tables
from qa_service.application import QALog
from qa_service.settings import Settings


@dataclass
class Service:
    settings: Settings
    log: QALog
    engine: Engine
    accounts: Accounts
    idempotency: IdempotencyStore

    def close(self) -> None:
        self.log.close()
        self.engine.dispose()


def _engine(settings: Settings) -> Engine:
    engine = create_engine(settings.sqlalchemy_url(), **settings.sqlalchemy_options())
    if settings.is_sqlite:

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # type: ignore[no-untyped-def]
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
        create_tables(engine)
    finally:
        engine.dispose()
    QALog(replace(settings, create_tables=True).eventsourcing_env()).close()


def build_service(settings: Settings) -> Service:
    """Open the stores. Tables must exist (``prepare_storage``) unless settings create them."""
    if settings.create_tables:
        prepare_storage(settings)
    engine = _engine(settings)
    log = QALog(
        replace(settings, create_tables=False).eventsourcing_env(),
        timezone=settings.timezone,
        writer_lock_path=(
            settings.sqlite_path.with_name(settings.sqlite_path.name + "-writer.lock")
            if settings.is_sqlite
            else None
        ),
    )
    return Service(
        settings=settings,
        log=log,
        engine=engine,
        accounts=Accounts(engine),
        idempotency=IdempotencyStore(engine),
    )
