"""Configuration, read from the environment once, in one place."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sqlalchemy.engine import URL, make_url

from events.quarters import YEAR_STYLES

DEFAULT_DATABASE_URL = "sqlite:///qa.sqlite3"


@dataclass(frozen=True)
class Settings:
    """``database_url``: ``sqlite:///FILE`` (the default) or ``postgresql://…``."""

    database_url: str = DEFAULT_DATABASE_URL
    schema: str = ""  # PostgreSQL schema (tests use one per test)
    timezone: str = "Europe/London"
    max_body_bytes: int = 1024 * 1024
    create_tables: bool = True
    lock_timeout_seconds: int = 30
    pool_size: int = 3
    report_year: str = "financial"  # reports count quarters by financial (April) or calendar year
    token_days: int = 90  # how long a new API token lasts, unless its issuer says otherwise
    trusted_proxies: int = 0  # reverse proxies in front whose X-Forwarded-For names the client

    @classmethod
    def from_env(cls, **overrides: Any) -> Settings:
        env = os.environ
        settings = cls(
            database_url=env.get("QA_DATABASE_URL") or DEFAULT_DATABASE_URL,
            schema=env.get("QA_DATABASE_SCHEMA", ""),
            timezone=env.get("QA_TIMEZONE", "Europe/London"),
            max_body_bytes=int(env.get("QA_MAX_BODY_BYTES", 1024 * 1024)),
            create_tables=env.get("QA_CREATE_TABLES", "yes").lower() in ("1", "yes", "true"),
            report_year=env.get("QA_REPORT_YEAR", "financial"),
            token_days=int(env.get("QA_TOKEN_DAYS", 90)),
            trusted_proxies=int(env.get("QA_TRUSTED_PROXIES", 0)),
        )
        if settings.report_year not in YEAR_STYLES:
            raise ValueError(
                f"QA_REPORT_YEAR must be one of {', '.join(YEAR_STYLES)}, "
                f"not {settings.report_year!r}"
            )
        if not 1 <= settings.token_days <= 3650:
            raise ValueError(f"QA_TOKEN_DAYS must be 1 to 3650, not {settings.token_days}")
        if settings.trusted_proxies < 0:
            raise ValueError("QA_TRUSTED_PROXIES must be 0 or more")
        return replace(settings, **overrides)

    @property
    def url(self) -> URL:
        return make_url(self.database_url)

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    @property
    def sqlite_path(self) -> Path:
        return Path(self.url.database or "qa.sqlite3").resolve()

    def eventsourcing_env(self) -> dict[str, str]:
        """The event store's settings, for the library's native recorders."""
        create = "yes" if self.create_tables else "no"
        if self.is_sqlite:
            return {
                "PERSISTENCE_MODULE": "eventsourcing.sqlite",
                "SQLITE_DBNAME": str(self.sqlite_path),
                "SQLITE_LOCK_TIMEOUT": str(self.lock_timeout_seconds),
                "CREATE_TABLE": create,
            }
        url = self.url
        return {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": url.database or "postgres",
            "POSTGRES_HOST": url.host or "127.0.0.1",
            "POSTGRES_PORT": str(url.port or 5432),
            "POSTGRES_USER": url.username or "postgres",
            "POSTGRES_PASSWORD": url.password or "",
            "POSTGRES_SCHEMA": self.schema,
            "POSTGRES_LOCK_TIMEOUT": str(self.lock_timeout_seconds),
            "POSTGRES_POOL_SIZE": str(self.pool_size),
            "POSTGRES_MAX_OVERFLOW": str(self.pool_size),
            "CREATE_TABLE": create,
        }

    def sqlalchemy_url(self) -> URL:
        if self.is_sqlite:
            return URL.create("sqlite", database=str(self.sqlite_path))
        return self.url.set(drivername="postgresql+psycopg")

    def sqlalchemy_options(self) -> dict[str, Any]:
        if self.is_sqlite:
            return {"connect_args": {"timeout": self.lock_timeout_seconds}}
        options: dict[str, Any] = {"pool_size": self.pool_size, "max_overflow": self.pool_size}
        if self.schema:
            options["connect_args"] = {"options": f"-csearch_path={self.schema}"}
        return options
