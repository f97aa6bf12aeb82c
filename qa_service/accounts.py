"""Users, their bearer tokens (stored only as hashes), and idempotency keys.

These are the service's own bookkeeping, not the QA record: SQLAlchemy tables in the
same database as the events.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Engine,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    delete,
    insert,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError

from events.rules import ROLES
from projections.temporal import micros
from projections.trail import trail

metadata = MetaData()

users = Table(
    "qa_users",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("role", String(20), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
    Column("password_hash", String(200)),  # Argon2id, for the pages; NULL: API token only
)

sign_in_failures = Table(
    "qa_sign_in_failures",
    metadata,
    Column("name", String(100), primary_key=True),  # as typed, so a guess at no one counts
    Column("failures", Integer, nullable=False),
    Column("last_failed_at", DateTime(timezone=True), nullable=False),
)

idempotency_keys = Table(
    "qa_idempotency_keys",
    metadata,
    Column("user_name", String(100), nullable=False),
    Column("key", String(200), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("status_code", Integer),  # NULL while the first request is being handled
    Column("headers", JSON),
    Column("body", LargeBinary),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("claimed_by", String(200)),  # host:pid:start of the process handling it
    PrimaryKeyConstraint("user_name", "key"),
)


class AccountError(Exception):
    pass


class SignInRefused(Exception):
    """Wrong name or password, or too many failures lately (then ``wait`` seconds)."""

    def __init__(self, message: str, wait: int = 0):
        super().__init__(message)
        self.wait = wait


MIN_PASSWORD = 12
MAX_PASSWORD = 200
FREE_FAILURES = 3  # then each failure doubles the wait before the next try, up to a minute
MAX_WAIT = 60
_hasher = PasswordHasher()
_NO_ONE = _hasher.hash("a password no account has")  # to spend the same time on no one


@dataclass(frozen=True)
class User:
    name: str
    role: str
    created_at: datetime
    revoked_at: datetime | None = None


def check_password(password: str) -> None:
    """The rules for a password: long enough to resist guessing, short enough to hash."""
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"a password is at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise AccountError(f"a password is at most {MAX_PASSWORD} characters")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Accounts:
    def __init__(self, engine: Engine):
        self.engine = engine

    def add(self, name: str, role: str) -> str:
        """Create a user; return the new token (shown once, never stored)."""
        name = name.strip()
        if not name or len(name) > 100:
            raise AccountError("a user name is 1 to 100 characters")
        if role not in ROLES:
            raise AccountError(f"role must be one of: {', '.join(ROLES)}")
        token = secrets.token_urlsafe(32)
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(users).values(
                        name=name,
                        role=role,
                        token_hash=hash_token(token),
                        created_at=datetime.now(UTC),
                    )
                )
        except IntegrityError:
            raise AccountError(f"there is already a user called {name!r}") from None
        return token

    def list(self) -> list[User]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(users.c.name, users.c.role, users.c.created_at, users.c.revoked_at).order_by(
                    users.c.name
                )
            ).all()
        return [User(*row) for row in rows]

    def revoke(self, name: str) -> None:
        with self.engine.begin() as conn:
            result = conn.execute(
                update(users)
                .where(users.c.name == name, users.c.revoked_at.is_(None))
                .values(revoked_at=datetime.now(UTC))
            )
        if result.rowcount != 1:
            raise AccountError(f"there is no active user called {name!r}")

    def set_password(self, name: str, password: str) -> None:
        """Give a user a password for the pages (Argon2id; only the hash is kept)."""
        check_password(password)
        with self.engine.begin() as conn:
            result = conn.execute(
                update(users)
                .where(users.c.name == name, users.c.revoked_at.is_(None))
                .values(password_hash=_hasher.hash(password))
            )
        if result.rowcount != 1:
            raise AccountError(f"there is no active user called {name!r}")

    def sign_in(self, name: str, password: str, now: datetime | None = None) -> SignedIn:
        """Check a name and password. Failures are counted per name typed: after a few,
        each must wait longer before the next try, so guessing is slow, and a real user
        who mistyped waits seconds, not hours."""
        now = now or datetime.now(UTC)
        key = name.strip()[:100]
        with self.engine.connect() as conn:
            failed = conn.execute(
                select(sign_in_failures).where(sign_in_failures.c.name == key)
            ).first()
            row = conn.execute(
                select(users.c.name, users.c.role, users.c.created_at, users.c.revoked_at,
                       users.c.password_hash).where(users.c.name == key)
            ).first()  # fmt: skip
        if failed is not None:
            wait = _wait_after(failed.failures)
            last = failed.last_failed_at
            last = last if last.tzinfo else last.replace(tzinfo=UTC)
            left = int((last + timedelta(seconds=wait) - now).total_seconds() + 0.999)
            if left > 0:
                unit = "second" if left == 1 else "seconds"
                raise SignInRefused(
                    f"too many failed sign-ins for this name: try again in {left} {unit}", left
                )
        stored = row.password_hash if row is not None else None
        try:
            _hasher.verify(stored or _NO_ONE, password)
            good = stored is not None and row is not None and row.revoked_at is None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            good = False
        if not good:
            self._failed(key, now)
            raise SignInRefused("the name or the password is not right")
        with self.engine.begin() as conn:
            conn.execute(delete(sign_in_failures).where(sign_in_failures.c.name == key))
        assert row is not None and stored is not None
        return SignedIn(User(*row[:4]), session_stamp(stored))

    def _failed(self, key: str, now: datetime) -> None:
        with self.engine.begin() as conn:
            done = conn.execute(
                update(sign_in_failures)
                .where(sign_in_failures.c.name == key)
                .values(failures=sign_in_failures.c.failures + 1, last_failed_at=now)
            )
            if done.rowcount == 0:
                conn.execute(
                    insert(sign_in_failures).values(name=key, failures=1, last_failed_at=now)
                )

    def signed_in(self, name: str, stamp: str) -> User | None:
        """The user a session names, if they may still use it: not revoked, and their
        password unchanged since they signed in (a new password ends old sessions)."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(users.c.name, users.c.role, users.c.created_at, users.c.revoked_at,
                       users.c.password_hash).where(users.c.name == name)
            ).first()  # fmt: skip
        if row is None or row.revoked_at is not None or row.password_hash is None:
            return None
        if not secrets.compare_digest(session_stamp(row.password_hash), stamp):
            return None
        return User(*row[:4])

    def authenticate(self, token: str) -> User | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(users.c.name, users.c.role, users.c.created_at, users.c.revoked_at).where(
                    users.c.token_hash == hash_token(token)
                )
            ).first()
        if row is None or row.revoked_at is not None:
            return None
        return User(*row)


@dataclass(frozen=True)
class SignedIn:
    user: User
    stamp: str  # kept in the session: it changes when the password does


def session_stamp(password_hash: str) -> str:
    return hashlib.sha256(password_hash.encode()).hexdigest()[:32]


def _wait_after(failures: int) -> int:
    if failures < FREE_FAILURES:
        return 0
    return int(min(MAX_WAIT, 2 ** (failures - FREE_FAILURES)))


@dataclass(frozen=True)
class StoredResponse:
    status_code: int
    headers: dict[str, str]
    body: bytes


class IdempotencyKeyInUse(Exception):
    pass


class IdempotencyKeyReused(Exception):
    pass


STALE_CLAIM_AFTER = timedelta(minutes=5)


class IdempotencyStore:
    """The first answer to each (user, key); a retry gets it back and writes nothing.

    A claim stays "in flight" (no answer stored) only if the server died mid-request: a
    failure on our side releases it at once. While the first request may still be running,
    a retry is refused (409), since running both could record the thing twice. After
    ``stale_after`` (5 minutes) no request can still be running (gunicorn restarts a worker
    that is silent for 30 s, and a wait for a lock gives up after 30 s), so the claim is
    stale. So is a claim whose process, on this host, no longer runs (the claim names it:
    host, pid and start time): its request cannot be running, so a retry need not wait.
    A retry takes a stale claim over and runs, if nothing was written for it: no event by
    that user has been recorded since the claim was made (the trail says who recorded
    what). If one has, the first request may have been saved, and the retry is refused
    for good, with a message that says to look and, if it is not there, to use a new key.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        stale_after: timedelta = STALE_CLAIM_AFTER,
        clock: Callable[[], datetime] | None = None,
    ):
        self.engine = engine
        self.stale_after = stale_after
        self.clock = clock or (lambda: datetime.now(UTC))

    def _now(self) -> datetime:
        """In UTC, as stored (SQLite keeps the wall time and drops the zone)."""
        return self.clock().astimezone(UTC)

    def claim(self, user: str, key: str, fingerprint: str) -> StoredResponse | None:
        """None if this request is the first with the key (or takes over a stale claim):
        handle it, then ``complete``."""
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(idempotency_keys).values(
                        user_name=user,
                        key=key,
                        fingerprint=fingerprint,
                        created_at=self._now(),
                        claimed_by=this_process(),
                    )
                )
            return None
        except IntegrityError:
            pass
        with self.engine.connect() as conn:
            row = conn.execute(
                select(idempotency_keys).where(
                    idempotency_keys.c.user_name == user, idempotency_keys.c.key == key
                )
            ).one()
        if row.fingerprint != fingerprint:
            raise IdempotencyKeyReused(
                "this Idempotency-Key was already used for a different request"
            )
        if row.status_code is None:
            self._take_over(user, key, row.created_at, row.claimed_by)
            return None
        return StoredResponse(row.status_code, dict(row.headers or {}), row.body or b"")

    def _take_over(self, user: str, key: str, claimed_at: datetime, claimed_by: str | None) -> None:
        """Take a claim left in flight, if it is stale (or the process that made it is
        gone) and nothing was written for it; else refuse, saying why."""
        since = claimed_at if claimed_at.tzinfo else claimed_at.replace(tzinfo=UTC)
        usable_from = since + self.stale_after
        if self._now() < usable_from and not process_gone(claimed_by):
            minutes = round(self.stale_after.total_seconds() / 60)
            raise IdempotencyKeyInUse(
                "a request with this Idempotency-Key is still being handled: read the "
                "record to see whether it was saved. If that request was interrupted, the "
                f"key can be used again from {usable_from:%Y-%m-%d %H:%M:%S} UTC "
                f"({minutes} minutes after it was sent)"
            )
        with self.engine.begin() as conn:
            written = conn.execute(
                select(trail.c.position)
                .where(trail.c.actor == user, trail.c.recorded_us >= micros(since))
                .limit(1)
            ).first()
            if written is None:
                taken = conn.execute(
                    update(idempotency_keys)
                    .where(
                        idempotency_keys.c.user_name == user,
                        idempotency_keys.c.key == key,
                        idempotency_keys.c.status_code.is_(None),
                        idempotency_keys.c.created_at == claimed_at,
                    )
                    .values(created_at=self._now(), claimed_by=this_process())
                )
                if taken.rowcount == 1:
                    return
                raise IdempotencyKeyInUse(
                    "a retry with this Idempotency-Key is being handled at this moment"
                )
        raise IdempotencyKeyInUse(
            "a request with this Idempotency-Key was interrupted and may have been saved "
            "(you have recorded something since it was sent): read the record to see; if "
            "it is not there, send the request again with a new Idempotency-Key"
        )

    def complete(self, user: str, key: str, response: StoredResponse) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(idempotency_keys)
                .where(idempotency_keys.c.user_name == user, idempotency_keys.c.key == key)
                .values(
                    status_code=response.status_code,
                    headers=response.headers,
                    body=response.body,
                )
            )

    def release(self, user: str, key: str) -> None:
        """Forget a claim whose request failed on our side, so a retry can run."""
        with self.engine.begin() as conn:
            conn.execute(
                delete(idempotency_keys).where(
                    idempotency_keys.c.user_name == user, idempotency_keys.c.key == key
                )
            )


def _process_start(pid: int) -> str | None:
    """When a process started (Linux clock ticks since boot), so a reused pid is told
    apart; None where /proc cannot say."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            return handle.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def this_process() -> str:
    pid = os.getpid()
    return f"{socket.gethostname()}:{pid}:{_process_start(pid) or ''}"


def process_gone(claimed_by: str | None) -> bool:
    """Is the process that claimed a key certainly gone (this host, and that process no
    longer runs)? Then its request is not being handled, and a retry need not wait."""
    if not claimed_by:
        return False
    host, _, rest = claimed_by.partition(":")
    pid_text, _, started = rest.partition(":")
    if host != socket.gethostname() or not pid_text.isdigit() or not started:
        return False
    if not os.path.isdir("/proc/self"):
        return False
    return _process_start(int(pid_text)) != started


def create_tables(engine: Engine) -> None:
    metadata.create_all(engine)
    for table, column in (("qa_idempotency_keys", "claimed_by"), ("qa_users", "password_hash")):
        columns = {c["name"] for c in inspect(engine).get_columns(table)}
        if column not in columns:  # a database made before the column existed
            with engine.begin() as conn:
                conn.execute(text(f"ALTER TABLE {table} ADD COLUMN {column} VARCHAR(200)"))


__all__: list[Any] = ["Accounts", "IdempotencyStore", "StoredResponse", "User", "create_tables"]
