"""A store made by the version before tokens expired keeps working: its users table gains
the expiry column in place at start-up, and its tokens are given 90 days from then."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import create_engine, inspect, text

from qa_service.accounts import hash_token
from qa_service.service import build_service, prepare_storage

OLD_TABLES = (
    # As the previous version's SQLAlchemy metadata created them.
    """CREATE TABLE qa_users (
        name VARCHAR(100) NOT NULL PRIMARY KEY,
        role VARCHAR(20) NOT NULL,
        token_hash VARCHAR(64) NOT NULL UNIQUE,
        created_at {timestamp} NOT NULL,
        revoked_at {timestamp},
        password_hash VARCHAR(200)
    )""",
    """CREATE TABLE qa_sign_in_failures (
        name VARCHAR(100) NOT NULL PRIMARY KEY,
        failures INTEGER NOT NULL,
        last_failed_at {timestamp} NOT NULL
    )""",
)


def make_old_store(settings) -> None:
    engine = create_engine(settings.sqlalchemy_url(), **settings.sqlalchemy_options())
    timestamp = "DATETIME" if settings.is_sqlite else "TIMESTAMP WITH TIME ZONE"
    try:
        with engine.begin() as conn:
            if not settings.is_sqlite:
                conn.execute(text(f'CREATE SCHEMA "{settings.schema}"'))
            for statement in OLD_TABLES:
                conn.execute(text(statement.format(timestamp=timestamp)))
            conn.execute(
                text(
                    "INSERT INTO qa_users (name, role, token_hash, created_at) "
                    "VALUES ('Old Hand', 'manager', :hash, :created)"
                ),
                {"hash": hash_token("an old token"), "created": datetime(2025, 1, 6, tzinfo=UTC)},
            )
            conn.execute(
                text("INSERT INTO qa_sign_in_failures VALUES ('Old Hand', 2, :t)"),
                {"t": datetime(2025, 1, 6, tzinfo=UTC)},
            )
    finally:
        engine.dispose()


def test_an_old_users_table_gains_the_expiry_in_place_and_its_tokens_last_90_days(settings):
    make_old_store(settings)
    started = datetime.now(UTC)
    with build_service(settings) as svc:
        columns = {c["name"] for c in inspect(svc.engine).get_columns("qa_users")}
        assert "token_expires_at" in columns
        assert not inspect(svc.engine).has_table("qa_sign_in_failures")
        (old,) = svc.accounts.list()
        assert old.name == "Old Hand" and old.created_at == datetime(2025, 1, 6, tzinfo=UTC)
        expires = old.token_expires_at
        assert started + timedelta(days=90) <= expires <= datetime.now(UTC) + timedelta(days=90)
        assert svc.accounts.authenticate("an old token", "192.0.2.1").name == "Old Hand"
        assert not svc.accounts.user("Old Hand").token_expired(started)
        assert svc.accounts.user("Old Hand").token_expired(expires)
    # Starting again changes nothing: the 90 days run from the first start.
    prepare_storage(settings)
    with build_service(settings) as svc:
        assert svc.accounts.user("Old Hand").token_expires_at == expires
        svc.accounts.add("New Starter", "auditor")
        assert svc.accounts.user("New Starter").token_expires_at is not None
