"""Backups that verify, and restoring them.

A backup is a consistent copy of the whole store taken while the service runs, checked
as soon as it is written: the hash chain is recomputed over exactly what was copied, so
the report names the events, the head position and the head hash the backup holds.

- SQLite: the online backup API (``sqlite3.Connection.backup``) in one step, so the
  copy is one moment of the database, including what is still in the WAL; writers go
  on meanwhile (WAL readers do not block them). The copy is one self-contained file (its
  journal mode set back to DELETE, so no ``-wal``/``-shm`` go with it), written under a
  temporary name beside DEST and renamed at the end: an interrupted backup never leaves
  half a file under DEST's name.
- PostgreSQL: ``pg_dump`` (custom format, ``--no-owner``) in a snapshot exported by a
  REPEATABLE READ transaction, in which the chain is recomputed too: the figures
  printed are those of the dump. Without ``pg_dump`` on PATH, the command to run.

No key is ever in a backup: the keys live in files outside the database, and
``keys_to_keep`` lists every one to keep apart from the backups (one place to add a key).
Restoring: SQLite copies a backup into place through the same backup API, refusing a
non-empty store without ``force`` and a store whose writer lock is held; PostgreSQL runs
``pg_restore`` into an empty database or schema. Then ``verify`` checks it all.
"""

from __future__ import annotations

import fcntl
import os
import re
import shlex
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from projections.base import position_of
from projections.verification import Verdict, verify
from qa_service.checkpoints import (
    key_path,
    public_key_path,
    retired_keys_path,
)
from qa_service.service import build_service
from qa_service.settings import Settings

if TYPE_CHECKING:
    from qa_service.service import Service

SQLITE_EVENTS = "stored_events"  # where the library's SQLite recorder keeps the events


class BackupError(Exception):
    """Nothing was written (or restored): the message says why and what to do."""


@dataclass(frozen=True)
class KeyToKeep:
    what: str
    path: Path
    secret: bool  # a private key: owner-only, never given to anyone

    @property
    def present(self) -> bool:
        return self.path.exists()


def keys_to_keep(settings: Settings) -> list[KeyToKeep]:
    """Every key a backup cannot be verified (or, later, read) without. They are never in
    the database, so never in a backup: keep them apart from the backups. A new key
    (issue 13's encryption key) is added here, once."""
    keys = [
        KeyToKeep(
            "the checkpoint signing key (private: signs checkpoints and packs)",
            key_path(settings),
            secret=True,
        ),
        KeyToKeep(
            "its public half (verifies the checkpoints; inspectors hold a copy)",
            public_key_path(settings),
            secret=False,
        ),
    ]
    retired = retired_keys_path(settings)
    if retired.exists():
        keys.append(
            KeyToKeep(
                "the public halves of retired signing keys (verify older checkpoints)",
                retired,
                secret=False,
            )
        )
    return keys


@dataclass(frozen=True)
class Written:
    """What a backup holds, as verified when it was written."""

    path: Path
    size: int
    verdict: Verdict
    notes: list[str] = field(default_factory=list)

    @property
    def events(self) -> int:
        return self.verdict.count + self.verdict.unchained


def _destination(dest: Path, suffix: str, force: bool) -> Path:
    """DEST itself, or in a directory a new file named by the time."""
    if dest.is_dir():
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        dest = dest / f"qa-backup-{stamp}{suffix}"
    if dest.exists() and not force:
        raise BackupError(f"{dest} already exists: nothing was written (--force replaces it)")
    if not dest.parent.is_dir():
        raise BackupError(f"there is no directory {dest.parent}: nothing was written")
    return dest


def _partial(dest: Path) -> Path:
    """An empty file beside DEST, readable by its owner only (a backup holds everything the
    store does), to write the backup in before it takes DEST's name."""
    partial = dest.with_name(f".{dest.name}.partial-{os.getpid()}")
    partial.unlink(missing_ok=True)
    os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    return partial


def _publish(partial: Path, dest: Path) -> None:
    """Make the finished file appear under DEST's name, whole, even after a crash."""
    with open(partial, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(partial, dest)
    directory = os.open(dest.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


# SQLite.


def backup_sqlite(settings: Settings, dest: Path, *, force: bool = False) -> Written:
    live = settings.sqlite_path
    if not live.exists():
        raise BackupError(f"there is no store at {live}: nothing was written")
    dest = _destination(dest, ".sqlite3", force)
    partial = _partial(dest)
    try:
        source = sqlite3.connect(live, timeout=settings.lock_timeout_seconds)
        try:
            copy = sqlite3.connect(partial)
            try:
                source.backup(copy)  # one step (pages=-1): one moment of the store
            finally:
                copy.close()
        finally:
            source.close()
        verdict = _chain_of_sqlite_file(settings, partial)
        self_contained(partial)
        _publish(partial, dest)
    finally:
        partial.unlink(missing_ok=True)
    return Written(dest, dest.stat().st_size, verdict)


def self_contained(path: Path) -> None:
    """Leave the file in rollback-journal mode: one file, no ``-wal`` or ``-shm`` beside
    it (the service turns WAL on again when it opens a restored store)."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA journal_mode=DELETE")
    finally:
        conn.close()


def _chain_of_sqlite_file(settings: Settings, path: Path) -> Verdict:
    """The chain recomputed over the copy alone (the read models' check is ``verify``'s,
    on a restored store: it rebuilds them all)."""
    copy = replace(settings, database_url=f"sqlite:///{path}", create_tables=False)
    with build_service(copy) as svc:
        return svc.reads.verify(read_models=False)


@contextmanager
def _writer_lock_free(settings: Settings) -> Iterator[None]:
    """Hold the SQLite writer lock (the file ``service._writer_lock`` uses) throughout, or
    refuse at once if a writer holds it."""
    path = settings.sqlite_path.with_name(settings.sqlite_path.name + "-writer.lock")
    with open(path, "a+b") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BackupError(
                f"a writer holds {path}: stop the service (and `qa-service projections run`) "
                "before restoring; nothing was restored"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _sqlite_events(path: Path, *, read_only: bool) -> int | None:
    """How many events the SQLite file at ``path`` holds (None: not a QA log store)."""
    uri = f"file:{path}?mode=ro" if read_only else f"file:{path}"
    try:
        conn = sqlite3.connect(uri, uri=True)
    except sqlite3.Error:
        return None
    try:
        count = conn.execute(f"SELECT count(*) FROM {SQLITE_EVENTS}").fetchone()[0]
        return int(count)
    except sqlite3.Error:
        return None
    finally:
        conn.close()


def restore_sqlite(settings: Settings, backup: Path, *, force: bool = False) -> int:
    """Copy ``backup`` into the configured SQLite store, through the backup API (so a WAL
    left by the store it replaces cannot be replayed over it). Returns the events restored."""
    events = _sqlite_events(backup, read_only=True) if backup.is_file() else None
    if events is None:
        raise BackupError(f"{backup} is not a QA log backup (no event table): nothing was restored")
    live = settings.sqlite_path
    live.parent.mkdir(parents=True, exist_ok=True)
    with _writer_lock_free(settings):
        held = _sqlite_events(live, read_only=False) if live.exists() else None
        if held and not force:
            raise BackupError(
                f"the store {live} holds {held} events: nothing was restored (--force "
                "replaces them with the backup's; back the store up first)"
            )
        source = sqlite3.connect(f"file:{backup}?mode=ro", uri=True)
        try:
            target = sqlite3.connect(live, timeout=settings.lock_timeout_seconds)
            try:
                source.backup(target)
                target.execute("PRAGMA journal_mode=WAL")
                target.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                target.close()
        finally:
            source.close()
    return events


# PostgreSQL.


@dataclass(frozen=True)
class _Notification:
    id: int
    originator_id: Any
    originator_version: int
    topic: str
    state: bytes


class _SnapshotEvents:
    """The event log as one connection (one snapshot) sees it, in the shape
    ``projections.verification.verify`` reads."""

    def __init__(self, conn: Connection, table: str):
        self.conn = conn
        self.table = table

    def select_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        *,
        inclusive_of_start: bool = True,
    ) -> list[_Notification]:
        where = []
        if start is not None:
            where.append(
                "notification_id >= :start" if inclusive_of_start else "notification_id > :start"
            )
        if stop is not None:
            where.append("notification_id <= :stop")
        clause = f"WHERE {' AND '.join(where)} " if where else ""
        rows = self.conn.execute(
            text(
                "SELECT notification_id, originator_id, originator_version, topic, state "
                f"FROM {self.table} {clause}ORDER BY notification_id LIMIT :limit"
            ),
            {"start": start, "stop": stop, "limit": limit},
        )
        return [_Notification(*row) for row in rows]

    def max_notification_id(self) -> int | None:
        value = self.conn.execute(text(f"SELECT max(notification_id) FROM {self.table}"))
        return value.scalar()


def _major(version_text: str) -> int | None:
    found = re.search(r"(\d+)(?:\.\d+)*", version_text)
    return int(found.group(1)) if found else None


def _client_major(program: str) -> int | None:
    out = subprocess.run([program, "--version"], capture_output=True, text=True, check=False)
    return _major(out.stdout)


def _server_major(conn: Connection) -> int:
    return int(conn.execute(text("SHOW server_version_num")).scalar_one()) // 10000


def _connection_args(settings: Settings) -> tuple[list[str], dict[str, str]]:
    """Where the client programs connect, and their environment: a password only ever in
    the child's ``PGPASSWORD``, never on a command line."""
    url = settings.url
    args = [
        "--host", url.host or "127.0.0.1",
        "--port", str(url.port or 5432),
        "--username", url.username or "postgres",
        "--no-password",
    ]  # fmt: skip
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = url.password
    return args, env


def pg_dump_command(settings: Settings, dest: Path, program: str = "pg_dump") -> list[str]:
    connection, _env = _connection_args(settings)
    schema = ["--schema", settings.schema] if settings.schema else []
    return [
        program, "--format=custom", "--no-owner", *schema, *connection,
        "--file", str(dest), settings.url.database or "postgres",
    ]  # fmt: skip


def shown(command: list[str], settings: Settings) -> str:
    """A command as a person would type it, with the password as a placeholder."""
    prefix = "PGPASSWORD='<the password>' " if settings.url.password else ""
    return prefix + " ".join(shlex.quote(part) for part in command)


def backup_postgres(svc: Service, dest: Path, *, force: bool = False) -> Written:
    settings = svc.settings
    program = shutil.which("pg_dump")
    dest = _destination(dest, ".pgdump", force)
    if program is None:
        raise BackupError(
            "pg_dump is not on PATH, so nothing was written. Install the PostgreSQL client "
            "of the server's major version (Debian: apt-get install postgresql-client-NN) "
            "or run, where it is:\n  " + shown(pg_dump_command(settings, dest), settings)
        )
    notes = []
    _connection, env = _connection_args(settings)
    partial = _partial(dest)
    try:
        with svc.engine.connect() as base:
            conn = base.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                server = _server_major(conn)
                client = _client_major(program)
                if client is not None and client < server:
                    raise BackupError(
                        f"pg_dump is version {client} and the server {server}: an older "
                        f"pg_dump cannot dump a newer server. Install postgresql-client-{server} "
                        "and run the backup again; nothing was written"
                    )
                if client is not None and client > server:
                    notes.append(
                        f"pg_dump {client} wrote it for a PostgreSQL {server} server: restore "
                        f"it with pg_restore {client} or newer"
                    )
                snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
                # Every recorder of the library's has it; their base class does not declare it.
                table = svc.commands.recorder.events_table_name  # type: ignore[attr-defined]
                verdict = verify(conn, _SnapshotEvents(conn, table), position_of(conn, "trail"))
                command = pg_dump_command(settings, partial, program)
                command.insert(1, f"--snapshot={snapshot}")
                done = subprocess.run(command, env=env, capture_output=True, text=True)
                if done.returncode != 0:
                    raise BackupError(
                        f"pg_dump failed (exit {done.returncode}), nothing was written: "
                        f"{done.stderr.strip()}"
                    )
        _publish(partial, dest)
    finally:
        partial.unlink(missing_ok=True)
    return Written(dest, dest.stat().st_size, verdict, notes)


def _dumped_schemas(program: str, backup: Path) -> set[str]:
    listing = subprocess.run(
        [program, "--list", str(backup)], capture_output=True, text=True, check=False
    )
    if listing.returncode != 0:
        raise BackupError(
            f"{backup} is not a pg_dump archive pg_restore can read: "
            f"{listing.stderr.strip()}; nothing was restored"
        )
    return set(re.findall(r"^\d+; \d+ \d+ SCHEMA - (\S+) ", listing.stdout, re.MULTILINE))


def pg_restore_command(settings: Settings, backup: Path, program: str = "pg_restore") -> list[str]:
    connection, _env = _connection_args(settings)
    return [
        program, "--no-owner", "--exit-on-error", "--single-transaction", *connection,
        "--dbname", settings.url.database or "postgres", str(backup),
    ]  # fmt: skip


def restore_postgres(settings: Settings, backup: Path) -> None:
    """``pg_restore`` into the configured database and schema, which must be empty."""
    program = shutil.which("pg_restore")
    if program is None:
        command = pg_restore_command(settings, backup)
        raise BackupError(
            "pg_restore is not on PATH, so nothing was restored. Install the PostgreSQL "
            "client of the server's major version, or run, where it is, into an empty "
            "database:\n  " + shown(command, settings)
        )
    dumped = _dumped_schemas(program, backup)
    if settings.schema and dumped and settings.schema not in dumped:
        raise BackupError(
            f"the backup holds the schema {', '.join(sorted(dumped))}, not {settings.schema}: "
            "set QA_DATABASE_SCHEMA to it (in an empty database); nothing was restored"
        )
    engine = create_engine(settings.sqlalchemy_url(), poolclass=NullPool)  # no search_path
    try:
        _check_empty(engine, settings, program)
    finally:
        engine.dispose()
    _connection, env = _connection_args(settings)
    command = pg_restore_command(settings, backup, program)
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(
            f"pg_restore failed (exit {done.returncode}), nothing was restored (it runs in "
            f"one transaction): {done.stderr.strip()}"
        )


def _check_empty(engine: Engine, settings: Settings, program: str) -> None:
    schema = settings.schema or "public"
    with engine.begin() as conn:
        client, server = _client_major(program), _server_major(conn)
        if client is not None and client < server:
            raise BackupError(
                f"pg_restore is version {client} and the server {server}: install "
                f"postgresql-client-{server}; nothing was restored"
            )
        tables = conn.execute(
            text("SELECT count(*) FROM information_schema.tables WHERE table_schema = :s"),
            {"s": schema},
        ).scalar_one()
        if tables:
            raise BackupError(
                f"the schema {schema} of {settings.url.database} already holds {tables} "
                "tables: restore into an empty database or schema (create one and point "
                "QA_DATABASE_URL / QA_DATABASE_SCHEMA at it); nothing was restored"
            )
        if settings.schema:  # empty, so dropping it loses nothing; the dump creates it
            try:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{settings.schema}"'))
            except DBAPIError:
                raise BackupError(
                    f"the schema {schema} is not empty: restore into an empty database or "
                    "schema; nothing was restored"
                ) from None
