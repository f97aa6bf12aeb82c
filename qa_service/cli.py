"""The command line: ``qa-service serve``, ``qa-service users …``."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import click

from qa_service.accounts import AccountError
from qa_service.service import build_service, prepare_storage
from qa_service.settings import Settings


def _service(**overrides: Any):  # type: ignore[no-untyped-def]
    return build_service(Settings.from_env(**overrides))


@click.group(help="The QA log: an event-sourced audit and quality-assurance record.")
def main() -> None:
    pass


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int, help="processes")
@click.option("--threads", default=4, show_default=True, type=int, help="threads per process")
def serve(host: str, port: int, workers: int, threads: int) -> None:
    """Run the service with gunicorn (a production WSGI server)."""
    from gunicorn.app.base import BaseApplication

    settings = Settings.from_env()
    prepare_storage(settings)  # once, before any worker starts
    _first_admin(settings)
    where = settings.sqlite_path if settings.is_sqlite else settings.url.render_as_string()
    click.echo(f"QA log on http://{host}:{port}/api/docs  (store: {where})", err=True)

    class Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("threads", threads)
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("accesslog", "-")
            self.cfg.set("graceful_timeout", 10)

        def load(self):  # type: ignore[no-untyped-def]
            # Each worker builds its own application after the fork.
            from qa_service.app import create_app

            return create_app(replace(settings, create_tables=False))

    Server().run()


def _first_admin(settings: Settings) -> None:
    """On a store with no users at all, create an admin so a new install can be used."""
    svc = build_service(replace(settings, create_tables=False))
    try:
        if svc.accounts.list():
            return
        token = svc.accounts.add("admin", "admin")
    finally:
        svc.close()
    click.echo(
        "No users yet, so an admin called 'admin' was created. Its token (shown only this "
        f"once; add others with `qa-service users add NAME --role ROLE`):\n{token}",
        err=True,
    )


@main.group()
def users() -> None:
    """Manage users and their bearer tokens."""


@users.command("add")
@click.argument("name")
@click.option(
    "--role",
    required=True,
    type=click.Choice(["auditor", "manager", "inspector", "admin"]),
)
def users_add(name: str, role: str) -> None:
    """Create a user; prints the new token as the last line (it is shown only once)."""
    svc = _service()
    try:
        token = svc.accounts.add(name, role)
    except AccountError as error:
        raise click.ClickException(str(error)) from None
    finally:
        svc.close()
    click.echo(f"Created {role} {name!r}. Their token (shown only this once):")
    click.echo(token)


@users.command("list")
def users_list() -> None:
    """List users and their roles."""
    svc = _service()
    try:
        rows = svc.accounts.list()
    finally:
        svc.close()
    if not rows:
        click.echo("No users yet: add one with `qa-service users add NAME --role ROLE`.")
    for user in rows:
        state = f"revoked {user.revoked_at:%Y-%m-%d}" if user.revoked_at else "active"
        click.echo(f"{user.name:30} {user.role:10} {state}")


@users.command("revoke")
@click.argument("name")
def users_revoke(name: str) -> None:
    """Revoke a user's token at once."""
    svc = _service()
    try:
        svc.accounts.revoke(name)
    except AccountError as error:
        raise click.ClickException(str(error)) from None
    finally:
        svc.close()
    click.echo(f"Revoked {name!r}.")


if __name__ == "__main__":  # pragma: no cover
    main()
