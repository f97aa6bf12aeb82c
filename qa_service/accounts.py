"""Users, their bearer tokens (stored only as hashes, each with an expiry), the count of
failed sign-ins, and idempotency keys.

These are the service's own bookkeeping, not the QA record: SQLAlchemy tables in the
same database as the events. Every request reads them afresh (nothing is cached), so a
revoked or expired token stops working on the very next request, and the failure counts
are shared by every process and thread of the server.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import socket
from collections.abc import Callable, Sequence
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
    bindparam,
    delete,
    insert,
    inspect,
    literal,
    select,
    text,
    update,
)
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

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
    # NULL only in a store upgraded from before tokens expired (create_tables fills it in).
    Column("token_expires_at", DateTime(timezone=True)),
)

auth_failures = Table(
    "qa_auth_failures",
    metadata,
    # "client 203.0.113.9" (any failed token or password from there) or "account Sam
    # Jones" (a wrong password for that name, as typed, so a guess at no one counts too)
    Column("key", String(200), primary_key=True),
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


class TokenRefused(Exception):
    """A bearer token that is not known, was revoked or has expired."""


class TokenExpired(TokenRefused):
    def __init__(self, expired_at: datetime):
        super().__init__(
            f"the token expired on {expired_at:%Y-%m-%d %H:%M} UTC: ask an admin for a new "
            "one (`qa-service users token NAME`)"
        )
        self.expired_at = expired_at


class TooManyFailures(Exception):
    """Too many failed authentications from this client lately: wait ``wait`` seconds."""

    def __init__(self, wait: int):
        unit = "second" if wait == 1 else "seconds"
        super().__init__(
            f"too many failed sign-ins from this client lately: try again in {wait} {unit}"
        )
        self.wait = wait


MIN_PASSWORD = 12
MAX_PASSWORD = 200
TOKEN_DAYS = 90  # how long a new token lasts unless its issuer says otherwise
MAX_TOKEN_DAYS = 3650
_hasher = PasswordHasher()
_NO_ONE = _hasher.hash("a password no account has")  # to spend the same time on no one


@dataclass(frozen=True)
class Limit:
    """``free`` failures, then each failure doubles the wait before the next try (1, 2,
    4 … seconds, up to ``max_wait``). A try while waiting is refused unchecked, even with
    the right password or token, so guessing cannot go faster. Failures are forgotten
    after ``FORGET_AFTER`` without one, and a key's right password clears its count."""

    free: int
    max_wait: int = 60

    def wait_after(self, failures: int) -> int:
        if failures < self.free:
            return 0
        return int(min(self.max_wait, 2 ** min(failures - self.free, 30)))


PER_ACCOUNT = Limit(free=3)  # wrong passwords for one name, from anywhere
PER_CLIENT = Limit(free=10)  # wrong passwords or tokens from one address, for anyone
FORGET_AFTER = timedelta(minutes=15)


@dataclass(frozen=True)
class User:
    name: str
    role: str
    created_at: datetime
    revoked_at: datetime | None = None
    token_expires_at: datetime | None = None  # None: never recorded (treated as expired)

    def token_expired(self, now: datetime) -> bool:
        return self.token_expires_at is None or _utc(self.token_expires_at) <= now


def check_password(password: str) -> None:
    """The rules for a password: long enough to resist guessing, short enough to hash."""
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"a password is at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise AccountError(f"a password is at most {MAX_PASSWORD} characters")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


USER_COLUMNS = (
    users.c.name,
    users.c.role,
    users.c.created_at,
    users.c.revoked_at,
    users.c.token_expires_at,
)

# The token's user, if any, and the client's failures, if any, in one round trip: the
# query is built once (a request pays only for running it).
_probe = select(literal(1).label("one")).subquery("probe")
_TOKEN_AND_CLIENT = select(
    *USER_COLUMNS, auth_failures.c.failures, auth_failures.c.last_failed_at
).select_from(
    _probe.outerjoin(users, users.c.token_hash == bindparam("hash")).outerjoin(
        auth_failures, auth_failures.c.key == bindparam("key")
    )
)


class Accounts:
    def __init__(
        self,
        engine: Engine,
        *,
        token_days: int = TOKEN_DAYS,
        clock: Callable[[], datetime] | None = None,
    ):
        self.engine = engine
        self.token_days = token_days
        self.clock = clock or (lambda: datetime.now(UTC))

    def _now(self) -> datetime:
        return self.clock().astimezone(UTC)

    def _expiry(self, days: int | None) -> datetime:
        days = self.token_days if days is None else days
        if not 1 <= days <= MAX_TOKEN_DAYS:
            raise AccountError(f"a token lasts 1 to {MAX_TOKEN_DAYS} days")
        return self._now() + timedelta(days=days)

    def add(self, name: str, role: str, *, expires_in_days: int | None = None) -> str:
        """Create a user; return the new token (shown once, never stored), which expires
        after ``expires_in_days`` (default: the service's ``token_days``, 90)."""
        name = name.strip()
        if not name or len(name) > 100:
            raise AccountError("a user name is 1 to 100 characters")
        if role not in ROLES:
            raise AccountError(f"role must be one of: {', '.join(ROLES)}")
        expires = self._expiry(expires_in_days)
        token = secrets.token_urlsafe(32)
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(users).values(
                        name=name,
                        role=role,
                        token_hash=hash_token(token),
                        created_at=self._now(),
                        token_expires_at=expires,
                    )
                )
        except IntegrityError:
            raise AccountError(f"there is already a user called {name!r}") from None
        return token

    def new_token(self, name: str, *, expires_in_days: int | None = None) -> str:
        """A new token for an active user (their old one stops working at once)."""
        expires = self._expiry(expires_in_days)
        token = secrets.token_urlsafe(32)
        with self.engine.begin() as conn:
            result = conn.execute(
                update(users)
                .where(users.c.name == name, users.c.revoked_at.is_(None))
                .values(token_hash=hash_token(token), token_expires_at=expires)
            )
        if result.rowcount != 1:
            raise AccountError(f"there is no active user called {name!r}")
        return token

    def user(self, name: str) -> User | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(*USER_COLUMNS).where(users.c.name == name)).first()
        return None if row is None else _user(row)

    def list(self) -> list[User]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(*USER_COLUMNS).order_by(users.c.name)).all()
        return [_user(row) for row in rows]

    def revoke(self, name: str) -> None:
        with self.engine.begin() as conn:
            result = conn.execute(
                update(users)
                .where(users.c.name == name, users.c.revoked_at.is_(None))
                .values(revoked_at=self._now())
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

    def sign_in(
        self, name: str, password: str, now: datetime | None = None, *, client: str = ""
    ) -> SignedIn:
        """Check a name and password. Failures are counted per name typed and per client
        (``client_address``): past a few, each must wait longer before the next try
        (``Limit``), so guessing one person's password, or many people's, is slow, and a
        real user who mistyped waits seconds, not hours."""
        now = (now or self._now()).astimezone(UTC)
        account = "account " + name.strip()[:100]
        keys = {account: PER_ACCOUNT} | ({"client " + client: PER_CLIENT} if client else {})
        with self.engine.connect() as conn:
            failed = conn.execute(
                select(auth_failures).where(auth_failures.c.key.in_(list(keys)))
            ).all()
            row = conn.execute(
                select(*USER_COLUMNS, users.c.password_hash).where(
                    users.c.name == name.strip()[:100]
                )
            ).first()
        for key, failures, last_failed_at in sorted(failed, key=lambda f: f.key != account):
            left = _left(keys[key], failures, last_failed_at, now)
            if left > 0:
                whose = "for this name" if key == account else "from this client"
                unit = "second" if left == 1 else "seconds"
                raise SignInRefused(
                    f"too many failed sign-ins {whose}: try again in {left} {unit}", left
                )
        stored = row.password_hash if row is not None else None
        try:
            _hasher.verify(stored or _NO_ONE, password)
            good = stored is not None and row is not None and row.revoked_at is None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            good = False
        if not good:
            self._failed(list(keys), now)
            raise SignInRefused("the name or the password is not right")
        with self.engine.begin() as conn:
            conn.execute(delete(auth_failures).where(auth_failures.c.key == account))
        assert row is not None and stored is not None
        return SignedIn(_user(row), session_stamp(stored))

    def _failed(self, keys: Sequence[str], now: datetime) -> None:
        """Count a failure against each key (and forget the failures nobody repeated)."""
        for attempt in range(3):
            try:
                with self.engine.begin() as conn:
                    conn.execute(
                        delete(auth_failures).where(
                            auth_failures.c.last_failed_at < now - FORGET_AFTER
                        )
                    )
                    for key in keys:
                        done = conn.execute(
                            update(auth_failures)
                            .where(auth_failures.c.key == key)
                            .values(failures=auth_failures.c.failures + 1, last_failed_at=now)
                        )
                        if done.rowcount == 0:
                            conn.execute(
                                insert(auth_failures).values(
                                    key=key, failures=1, last_failed_at=now
                                )
                            )
                return
            except (IntegrityError, OperationalError):
                # Another process counted the first failure at the same moment, or the two
                # waited on each other: count again.
                if attempt == 2:
                    raise

    def signed_in(self, name: str, stamp: str) -> User | None:
        """The user a session names, if they may still use it: not revoked, and their
        password unchanged since they signed in (a new password ends old sessions)."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(*USER_COLUMNS, users.c.password_hash).where(users.c.name == name)
            ).first()
        if row is None or row.revoked_at is not None or row.password_hash is None:
            return None
        if not secrets.compare_digest(session_stamp(row.password_hash), stamp):
            return None
        return _user(row)

    def authenticate(self, token: str, client: str) -> User:
        """The user a bearer token names, read afresh (so revoking or expiring a token
        takes effect on the next request). One query reads the token's user and the
        client's failures; a success writes nothing. Raises ``TooManyFailures`` while the
        client must wait, even for a good token, and ``TokenRefused`` (counted against the
        client) for a token that is not known, was revoked or has expired."""
        now = self._now()
        key = "client " + client
        with self.engine.connect() as conn:
            row = conn.execute(_TOKEN_AND_CLIENT, {"hash": hash_token(token), "key": key}).one()
        if row.failures is not None:
            left = _left(PER_CLIENT, row.failures, row.last_failed_at, now)
            if left > 0:
                raise TooManyFailures(left)
        if row.name is None or row.revoked_at is not None:
            self._failed([key], now)
            raise TokenRefused("the token is not known or was revoked")
        user = _user(row)
        if user.token_expired(now):
            self._failed([key], now)
            raise TokenExpired(_utc(user.token_expires_at or now))
        return user


def _utc(moment: datetime) -> datetime:
    """In UTC (SQLite keeps the wall time and drops the zone; it is stored in UTC)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _user(row: Any) -> User:
    expires = row.token_expires_at
    return User(
        row.name,
        row.role,
        _utc(row.created_at),
        None if row.revoked_at is None else _utc(row.revoked_at),
        None if expires is None else _utc(expires),
    )


def _left(limit: Limit, failures: int, last_failed_at: datetime, now: datetime) -> int:
    """Whole seconds still to wait before the next try (0: go ahead)."""
    until = _utc(last_failed_at) + timedelta(seconds=limit.wait_after(failures))
    return max(0, int((until - now).total_seconds() + 0.999))


def client_address(remote_addr: str | None, forwarded_for: str, trusted_proxies: int) -> str:
    """Who is asking, for counting failures per client: the address that connected, or,
    behind ``trusted_proxies`` reverse proxies (``QA_TRUSTED_PROXIES``), the address the
    outermost of them saw (as werkzeug's ProxyFix reads ``X-Forwarded-For``). Untrusted,
    the header is ignored: anyone can write it."""
    if trusted_proxies > 0:
        hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
        if len(hops) >= trusted_proxies:
            return hops[-trusted_proxies][:100]
    return (remote_addr or "unknown")[:100]


@dataclass(frozen=True)
class SignedIn:
    user: User
    stamp: str  # kept in the session: it changes when the password does


def session_stamp(password_hash: str) -> str:
    return hashlib.sha256(password_hash.encode()).hexdigest()[:32]


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


def create_tables(
    engine: Engine, *, token_days: int = TOKEN_DAYS, now: datetime | None = None
) -> None:
    """Create the tables, and bring a store made by an earlier version up to date (safe to
    run again): the columns added since are added, and a token issued before tokens
    expired is given ``token_days`` from now (from the first start of this version), so
    none stays valid forever."""
    metadata.create_all(engine)
    timestamp = DateTime(timezone=True).compile(dialect=engine.dialect)
    for table, column, kind in (
        ("qa_idempotency_keys", "claimed_by", "VARCHAR(200)"),
        ("qa_users", "password_hash", "VARCHAR(200)"),
        ("qa_users", "token_expires_at", timestamp),
    ):
        _add_column(engine, table, column, kind)
    with engine.begin() as conn:
        conn.execute(
            update(users)
            .where(users.c.token_expires_at.is_(None))
            .values(token_expires_at=(now or datetime.now(UTC)) + timedelta(days=token_days))
        )
    if inspect(engine).has_table("qa_sign_in_failures"):  # replaced by qa_auth_failures
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS qa_sign_in_failures"))


def _add_column(engine: Engine, table: str, column: str, kind: str) -> None:
    """Add a column that a database made before it existed lacks."""
    if column in {c["name"] for c in inspect(engine).get_columns(table)}:
        return
    try:
        with engine.begin() as conn:
            conn.execute(text(f"ALTER TABLE {table} ADD COLUMN {column} {kind}"))
    except DBAPIError:  # another process starting at the same moment may have added it
        if column not in {c["name"] for c in inspect(engine).get_columns(table)}:
            raise


__all__: list[Any] = [
    "Accounts",
    "IdempotencyStore",
    "StoredResponse",
    "User",
    "client_address",
    "create_tables",
]
