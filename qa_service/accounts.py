"""Users, their bearer tokens (stored only as hashes), and idempotency keys.

These are the service's own bookkeeping, not the QA record: SQLAlchemy tables in the
same database as the events.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

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
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from events.rules import ROLES

metadata = MetaData()

users = Table(
    "qa_users",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("role", String(20), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
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
    PrimaryKeyConstraint("user_name", "key"),
)


class AccountError(Exception):
    pass


@dataclass(frozen=True)
class User:
    name: str
    role: str
    created_at: datetime
    revoked_at: datetime | None = None


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
class StoredResponse:
    status_code: int
    headers: dict[str, str]
    body: bytes


class IdempotencyKeyInUse(Exception):
    pass


class IdempotencyKeyReused(Exception):
    pass


class IdempotencyStore:
    """The first answer to each (user, key); a retry gets it back and writes nothing."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def claim(self, user: str, key: str, fingerprint: str) -> StoredResponse | None:
        """None if this request is the first with the key: handle it, then ``complete``."""
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(idempotency_keys).values(
                        user_name=user,
                        key=key,
                        fingerprint=fingerprint,
                        created_at=datetime.now(UTC),
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
            raise IdempotencyKeyInUse(
                "a request with this Idempotency-Key is still being handled (or was "
                "interrupted): read the record to see whether it was saved"
            )
        return StoredResponse(row.status_code, dict(row.headers or {}), row.body or b"")

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


def create_tables(engine: Engine) -> None:
    metadata.create_all(engine)


__all__: list[Any] = ["Accounts", "IdempotencyStore", "StoredResponse", "User", "create_tables"]
