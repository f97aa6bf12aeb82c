"""Fixtures: every store-facing test runs on SQLite and on the real PostgreSQL.

PostgreSQL: ``QA_TEST_POSTGRES_URL`` (default the local server) names a server; each run
creates a fresh database there and drops it at the end, and each test gets its own
schema in it. Set ``QA_TEST_POSTGRES_URL=`` (empty) to skip the PostgreSQL half.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from sqlalchemy.engine import make_url

from qa_service.app import create_app
from qa_service.service import Service, build_service
from qa_service.settings import Settings

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"
# Sessions are signed with a key from a file beside a SQLite database, or, on PostgreSQL,
# in the working directory: the tests give one here, so no run writes into the checkout.
os.environ.setdefault("QA_SECRET_KEY", "a key for the test suite only")
ROLES = ("auditor", "manager", "inspector", "admin")


def _pg_admin_url() -> str:
    return os.environ.get("QA_TEST_POSTGRES_URL", DEFAULT_PG)


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A fresh database for this run; its URL."""
    admin = _pg_admin_url()
    if not admin:
        pytest.skip("QA_TEST_POSTGRES_URL is empty: PostgreSQL tests skipped")
    name = f"qa_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = make_url(admin).set(database=name).render_as_string(hide_password=False)
    yield url
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def settings(store: str, tmp_path: Any, request: pytest.FixtureRequest) -> Settings:
    if store == "sqlite":
        return Settings(database_url=f"sqlite:///{tmp_path / 'qa.sqlite3'}")
    url = request.getfixturevalue("postgres_database")
    return Settings(database_url=url, schema=f"t_{uuid.uuid4().hex[:12]}", pool_size=2)


@pytest.fixture
def service(settings: Settings) -> Iterator[Service]:
    svc = build_service(settings)
    yield svc
    svc.close()


@dataclass
class Client:
    """A small API client that signs in as one user."""

    flask_client: Any
    token: str | None

    def _headers(self, headers: dict[str, str] | None) -> dict[str, str]:
        out = dict(headers or {})
        if self.token:
            out.setdefault("Authorization", f"Bearer {self.token}")
        return out

    def get(self, path: str, **kw: Any) -> Any:
        return self.flask_client.get(path, headers=self._headers(kw.pop("headers", None)), **kw)

    def post(self, path: str, json: Any = None, **kw: Any) -> Any:
        return self.flask_client.post(
            path, json=json, headers=self._headers(kw.pop("headers", None)), **kw
        )


@pytest.fixture
def app(service: Service) -> Any:
    return create_app(service.settings, service=service, TESTING=True)


@pytest.fixture
def tokens(service: Service) -> dict[str, str]:
    return {role: service.accounts.add(f"{role}-1", role) for role in ROLES}


@pytest.fixture
def as_role(app: Any, tokens: dict[str, str]) -> Any:
    """``as_role("manager").post(...)``; ``as_role(None)`` sends no token."""

    def make(role: str | None) -> Client:
        return Client(app.test_client(), tokens[role] if role else None)

    return make


@pytest.fixture
def auditor(as_role: Any) -> Client:
    return as_role("auditor")


@pytest.fixture
def manager(as_role: Any) -> Client:
    return as_role("manager")


@pytest.fixture
def inspector(as_role: Any) -> Client:
    return as_role("inspector")
