"""The command line: ``qa-service serve``, ``qa-service users …``."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from qa_service.accounts import AccountError
from qa_service.service import Service, build_service, prepare_storage
from qa_service.settings import Settings

if TYPE_CHECKING:
    from flask import Flask

    from qa_service.exports import Download


def _service(**overrides: Any) -> Service:
    """The service as the environment configures it; use it as ``with _service() as svc``."""
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
    _first_admin(settings)  # and brings the read models up to date
    where = settings.sqlite_path if settings.is_sqlite else settings.url.render_as_string()
    click.echo(
        f"QA log on http://{host}:{port}/  (store: {where})\n"
        f"Sign in at http://{host}:{port}/sign-in with a name and password (`qa-service demo` "
        "prints its people's; `qa-service users add NAME --role ROLE --password` adds one).\n"
        f"The API and its documentation: http://{host}:{port}/api/docs",
        err=True,
    )

    class Server(BaseApplication):
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("threads", threads)
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("accesslog", "-")
            self.cfg.set("graceful_timeout", 10)

        # Flask is a WSGI application, but types-gunicorn's start_response is narrower than
        # the one Werkzeug's types ask for (no exc_info), so the two cannot agree.
        def load(self) -> Flask:  # type: ignore[override]
            # Each worker builds its own application after the fork.
            from qa_service.app import create_app

            return create_app(replace(settings, create_tables=False))

    Server().run()


def _first_admin(settings: Settings) -> None:
    """On a store with no users at all, create an admin so a new install can be used."""
    with build_service(replace(settings, create_tables=False)) as svc:
        svc.commands.catch_up()
        if svc.accounts.list():
            return
        token = svc.accounts.add("admin", "admin")
        admin = svc.accounts.user("admin")
    expires = f"expires {_when(admin.token_expires_at)}; " if admin else ""
    click.echo(
        f"No users yet, so an admin called 'admin' was created. Its token ({expires}shown "
        f"only this once; add others with `qa-service users add NAME --role ROLE`):\n{token}",
        err=True,
    )


@main.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--actor", default="command line", show_default=True, help="recorded as who did it")
def import_(file: str, actor: str) -> None:
    """Import a whole improvement plan from a JSON document, all or nothing."""
    from events import InvalidInput
    from qa_service.application import Actor
    from qa_service.plan_document import read_plan_document
    from qa_service.plan_import import import_plan

    with _service() as svc:
        try:
            document = read_plan_document(file)
            plan_id = import_plan(svc.commands, Actor(actor, "manager"), document)
        except InvalidInput as error:
            for path, messages in error.errors.items():
                for message in messages:
                    click.echo(f"{path}: {message}", err=True)
            raise click.ClickException("nothing was imported: the document has errors") from None
    click.echo(f"Imported the plan {document['title']!r}.")
    click.echo(str(plan_id))


@main.command()
@click.option("--seed", default=2016, show_default=True, help="the history's random seed")
@click.option("--until", default="2021-12-31", show_default=True, help="the history's last day")
def demo(seed: int, until: str) -> None:
    """Load the 2016 improvement plan from the sources and a plausible history around it."""
    from datetime import date
    from zoneinfo import ZoneInfo

    from qa_service.demo import SimClock, load_demo

    settings = Settings.from_env()
    zone = ZoneInfo(settings.timezone)
    clock = SimClock(now=datetime.now(zone))
    with build_service(settings, clock=clock) as svc:
        events = svc.commands.recorder.max_notification_id() or 0
        if events:
            click.echo(f"The store already holds {events} events: the demo was not loaded again.")
            return
        bar: Any = None

        def total(n: int) -> None:
            nonlocal bar
            bar = click.progressbar(length=n, label="Loading the demo history").__enter__()

        summary = load_demo(
            svc.commands, clock, zone, seed=seed, until=date.fromisoformat(until),
            progress_total=total, progress=lambda n: bar.update(n),
        )  # fmt: skip
        if bar is not None:
            bar.__exit__(None, None, None)
        people = _demo_people(svc)
    click.echo(
        f"Loaded the 2016 improvement plan ({summary.plan_id}), {summary.audits} audits, "
        f"{summary.moderations} moderations, {summary.reviews} quarterly reviews and "
        f"{summary.learning_weeks} Listening and Learning weeks ({summary.late_entries} "
        "entries recorded late)."
    )
    if people:
        click.echo("People to sign in to the pages as (their passwords are shown only now):")
        for name, role, password in people:
            click.echo(f"  {role:9}  name: {name:14}  password: {password}")


DEMO_PEOPLE = (
    ("Mo Manager", "manager"),
    ("Ann Auditor", "auditor"),
    ("Ian Inspector", "inspector"),
)


def _demo_people(svc: Service) -> list[tuple[str, str, str]]:
    """A manager, an auditor and an inspector with new passwords, to try the pages as."""
    import secrets

    made = []
    known = {user.name for user in svc.accounts.list()}
    for name, role in DEMO_PEOPLE:
        if name in known:
            continue
        password = "-".join(secrets.token_hex(3) for _ in range(3))  # 20 characters
        svc.accounts.add(name, role)
        svc.accounts.set_password(name, password)
        made.append((name, role, password))
    return made


NOT_OK_EXIT = 1  # the chain, a checkpoint or a read model disagrees with the events
KEY_MISSING_EXIT = 3  # checkpoints are stored but their public key is not here


@main.command()
def verify() -> None:
    """Recompute the hash chain over the stored events, check every signed checkpoint, and
    check every read model against a rebuild of it from the events.

    Exit status: 0 OK; 1 NOT OK; 3 NOT VERIFIED (checkpoints, but no public key here)."""
    with _service() as svc:
        status = _verify(svc)
    if status:
        raise SystemExit(status)


def _verify(svc: Service) -> int:
    """``verify``'s checks and sentences (also after a restore); the exit status."""
    from qa_service.checkpoints import check_stored_checkpoints, stored_checkpoints

    try:
        svc.commands.catch_up()
    except Exception as error:  # an event the read models cannot take: verify says where
        click.echo(
            f"The read models could not catch up ({type(error).__name__}); "
            "verifying what they hold.",
            err=True,
        )
    positions = [c["signed"]["position"] for c in stored_checkpoints(svc)]
    verdict = svc.reads.verify(at=positions)
    if not verdict.chain_ok:
        click.echo(
            f"NOT OK: {verdict.problem} at position {verdict.position}: {verdict.detail} "
            f"({verdict.count} events verified before it)."
        )
        return NOT_OK_EXIT
    checked = check_stored_checkpoints(svc, verdict.hashes_at)
    problems = checked.problems + [str(drift) for drift in verdict.drift]
    for problem in problems:
        click.echo(f"NOT OK: {problem}")
    if checked.missing_key:
        click.echo(f"NOT VERIFIED: {checked.missing_key}.")
    if problems:
        return NOT_OK_EXIT
    newer = (
        f"; {verdict.unchained} newer event(s) not in the chain yet" if verdict.unchained else ""
    )
    chain = (
        f"{verdict.count} events verified, head position {verdict.head_position}, head hash "
        f"{verdict.head_hash}"
    )
    if checked.missing_key:
        click.echo(
            f"The chain itself holds ({chain}) and every read model matches the events; "
            f"only the {checked.count} signed checkpoint(s) could not be checked{newer}."
        )
        return KEY_MISSING_EXIT
    held = (
        f"{checked.count} signed checkpoint(s) hold"
        if checked.count
        else "no signed checkpoints yet"
    )
    click.echo(f"OK: {chain}; {held}; every read model matches the events{newer}.")
    return 0


@main.command()
@click.option(
    "--new-key",
    is_flag=True,
    help="first make a new signing key pair (rotation): the old public key is kept in "
    "the retired list, so earlier checkpoints still verify, and the old private key deleted",
)
def checkpoint(new_key: bool) -> None:
    """Sign the chain's head (position, hash, time) with the service's Ed25519 key."""
    from qa_service.checkpoints import (
        issue_checkpoint,
        key_path,
        retired_keys_path,
        rotate,
        signer,
    )

    with _service() as svc:
        svc.commands.catch_up()
        if new_key:
            had_private = key_path(svc.settings).exists()
            _signer, retired = rotate(svc.settings)
            if retired:
                deleted = "; its private key is deleted" if had_private else ""
                click.echo(
                    f"A new signing key: the old public key {retired[:16]}… is kept in "
                    f"{retired_keys_path(svc.settings)} (checkpoints signed with it still "
                    f"verify){deleted}. Give inspectors the new public key.",
                    err=True,
                )
        try:
            issued = issue_checkpoint(svc)
        except ValueError as error:
            raise click.ClickException(str(error)) from None
        public = signer(svc.settings).public_path
    click.echo(json.dumps(issued, indent=1))
    click.echo(f"Public key for inspectors: {public}", err=True)


@main.command()
@click.argument("dest", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="replace DEST if it exists")
def backup(dest: Path, force: bool) -> None:
    """Write a consistent copy of the store to DEST (a file, or a directory to write a
    dated file in) while the service runs, verify the copy's chain, and name the keys to
    keep apart from it. SQLite: one self-contained file; PostgreSQL: a pg_dump archive.

    Exit status: 0 written and verified; 1 nothing written, or the copy does not verify."""
    from qa_service.backup import BackupError, backup_postgres, backup_sqlite, keys_to_keep

    settings = Settings.from_env()
    try:
        if settings.is_sqlite:
            written = backup_sqlite(settings, dest, force=force)
        else:
            with _service() as svc:
                written = backup_postgres(svc, dest, force=force)
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    verdict = written.verdict
    click.echo(f"Wrote {written.path} ({written.size:,} bytes): {written.events} events.")
    if verdict.chain_ok:
        newer = f" ({verdict.unchained} newer not in the chain yet)" if verdict.unchained else ""
        click.echo(
            f"The copy's chain verifies: {verdict.count} events, head position "
            f"{verdict.head_position}, head hash {verdict.head_hash}{newer}."
        )
    else:
        click.echo(
            f"NOT OK: the copy's chain fails: {verdict.problem} at position "
            f"{verdict.position}: {verdict.detail}. It was written, as the store is."
        )
    for note in written.notes:
        click.echo(f"Note: {note}.")
    click.echo(
        "It holds no key. Keep these apart from it (never in the same file or place), "
        "as safely as the backups themselves:"
    )
    for key in keys_to_keep(settings):
        state = "" if key.present else "  (NOT HERE: none made yet, or lost)"
        secret = ", secret, owner-only" if key.secret else ""
        click.echo(f"  {key.path}  {key.what}{secret}{state}")
    if not verdict.chain_ok:
        raise SystemExit(NOT_OK_EXIT)


@main.command()
@click.argument("backup_file", metavar="BACKUP", type=click.Path(path_type=Path, exists=True))
@click.option(
    "--force", is_flag=True, help="SQLite: replace a store that holds events with the backup"
)
def restore(backup_file: Path, force: bool) -> None:
    """Put a backup made by `qa-service backup` in place of the configured store, then
    verify it. Stop the service first. SQLite: refuses a store that holds events (without
    --force) or whose writer lock is held; PostgreSQL: pg_restore into an empty database
    or schema."""
    from qa_service.backup import BackupError, restore_postgres, restore_sqlite

    settings = Settings.from_env()
    try:
        if settings.is_sqlite:
            restore_sqlite(settings, backup_file, force=force)
            where = str(settings.sqlite_path)
        else:
            restore_postgres(settings, backup_file)
            where = settings.url.render_as_string() + (
                f" (schema {settings.schema})" if settings.schema else ""
            )
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Restored {backup_file} into {where}. Verifying it:")
    with build_service(replace(settings, create_tables=False)) as svc:
        status = _verify(svc)
    if status:
        raise SystemExit(status)


@main.command("export-pack")
@click.option(
    "--as-of", "as_of", required=True, help="the date the plan status and register are for"
)
@click.option(
    "--known-at",
    "known_at",
    default=None,
    help="as known at this time (ISO 8601; local time without a zone); default: now",
)
@click.option("--out", default=None, help="the zip to write (default qa-pack-DATE.zip)")
def export_pack_command(as_of: str, known_at: str | None, out: str | None) -> None:
    """Write an inspection pack, and verify_pack.py beside it, to verify offline with the
    public key."""
    from datetime import date
    from pathlib import Path

    from qa_service.checkpoints import export_pack, signer, verifier_source

    try:
        day = date.fromisoformat(as_of)
    except ValueError:
        raise click.BadParameter(f"{as_of!r} is not a date: write it as YYYY-MM-DD") from None
    try:
        moment = datetime.fromisoformat(known_at) if known_at else None
    except ValueError:
        raise click.BadParameter(
            f"{known_at!r} is not a time: write it as YYYY-MM-DDTHH:MM[:SS][+HH:MM]"
        ) from None
    path = Path(out or f"qa-pack-{day.isoformat()}.zip")
    with _service() as svc:
        svc.commands.catch_up()
        try:
            data = export_pack(svc, day, moment, pack_name=path.name)
        except ValueError as error:
            raise click.ClickException(str(error)) from None
        public = signer(svc.settings).public_path
    path.write_bytes(data)
    verifier = path.with_name("verify_pack.py")
    verifier.write_bytes(verifier_source())
    click.echo(
        f"Wrote {path} and, beside it, {verifier}. Give an inspector both, and the public key "
        f"{public} by a separate channel. Verify it with: python {verifier} {path} {public}"
    )


def _moment(value: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if value else None
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not a time: write it as YYYY-MM-DD or YYYY-MM-DDTHH:MM[+HH:MM]"
        ) from None


def _write_report(download: Download, out: str | None) -> None:
    """Write the report to ``out`` (``-``: standard output), else to its own name."""
    from pathlib import Path

    if out == "-":
        sys.stdout.buffer.write(download.body)
        return
    path = Path(out or download.filename)
    path.write_bytes(download.body)
    click.echo(f"Wrote {path} ({len(download.body):,} bytes).")


KNOWN_AT_HELP = (
    "as known at this time (as the committee saw it: the paper's date; local time without "
    "a zone); default: now"
)
FORMAT_OPTION = click.option(
    "--format", "fmt", type=click.Choice(["html", "pdf", "xlsx"]), default="html",
    show_default=True, help="a printable page, a PDF or a spreadsheet",
)  # fmt: skip
OUT_OPTION = click.option(
    "-o", "--out", default=None, help="the file to write ('-': standard output); default: "
    "the report's own name in this directory",
)  # fmt: skip


@main.group()
def report() -> None:
    """The reports that go to committee."""


@report.command("quarterly")
@click.option("--plan", "plan", default=None, help="the plan's id (default: the only plan)")
@click.option("--quarter", required=True, help='"Q1 2016/17" (April to June 2016) or "2016-Q2"')
@click.option("--known-at", "known_at", default=None, help=KNOWN_AT_HELP)
@FORMAT_OPTION
@OUT_OPTION
def report_quarterly(
    plan: str | None, quarter: str, known_at: str | None, fmt: str, out: str | None
) -> None:
    """The quarterly monitoring report of an improvement plan, as of the quarter's end."""
    from uuid import UUID

    from events.quarters import parse_quarter
    from qa_service.errors import NotFound
    from qa_service.reports.files import quarterly_file
    from qa_service.reports.quarterly import quarterly_report
    from qa_service.reports.render import PdfUnavailable

    try:
        which = parse_quarter(quarter)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--quarter") from None
    moment = _moment(known_at)
    with _service() as svc:
        svc.commands.catch_up()
        if plan is None:
            plans = svc.queries.plans(page_size=100)["items"]
            if len(plans) != 1:
                listed = "".join(f"\n  {p['id']}  {p['title']}" for p in plans)
                raise click.UsageError(
                    f"there are {len(plans)} plans: name one with --plan{listed}"
                )
            plan_id = plans[0]["id"]
        else:
            try:
                plan_id = UUID(plan)
            except ValueError:
                raise click.BadParameter(
                    f"{plan!r} is not a plan id", param_hint="--plan"
                ) from None
        try:
            model = quarterly_report(
                svc.queries, plan_id, which, known_at=moment,
                year_style=svc.settings.report_year,
            )  # fmt: skip
            download = quarterly_file(model, fmt)
        except (NotFound, PdfUnavailable) as error:
            raise click.ClickException(str(error)) from None
    _write_report(download, out)


def _month_or_day(value: str, *, last: bool) -> date:
    from qa_service.reports.six_monthly import month_or_day

    try:
        return month_or_day(value, last=last)
    except ValueError:
        raise click.BadParameter(
            f"{value!r}: write a month as YYYY-MM or a day as YYYY-MM-DD"
        ) from None


@report.command("six-monthly")
@click.option("--from", "period_from", required=True, help="the first month (YYYY-MM) or day")
@click.option("--to", "period_to", required=True, help="the last month (YYYY-MM) or day")
@click.option("--known-at", "known_at", default=None, help=KNOWN_AT_HELP)
@FORMAT_OPTION
@OUT_OPTION
def report_six_monthly(
    period_from: str, period_to: str, known_at: str | None, fmt: str, out: str | None
) -> None:
    """The six-monthly quality assurance report: audits, moderation, Listening and
    Learning weeks and family feedback over a period, against the periods before it."""
    from events import InvalidInput
    from qa_service.reports.files import six_monthly_file
    from qa_service.reports.render import PdfUnavailable
    from qa_service.reports.six_monthly import six_monthly_report

    first = _month_or_day(period_from, last=False)
    last = _month_or_day(period_to, last=True)
    moment = _moment(known_at)
    with _service() as svc:
        svc.commands.catch_up()
        try:
            model = six_monthly_report(svc.queries, first, last, known_at=moment)
            download = six_monthly_file(model, fmt)
        except InvalidInput as error:  # the period's end before its start, or too long
            field, messages = next(iter(error.errors.items()))
            raise click.BadParameter(messages[0], param_hint=f"--{field}") from None
        except PdfUnavailable as error:
            raise click.ClickException(str(error)) from None
    _write_report(download, out)


@main.group()
def projections() -> None:
    """The read models: rebuild them from the events, or keep them up to date."""


@projections.command("rebuild")
@click.argument("names", nargs=-1)
def projections_rebuild(names: tuple[str, ...]) -> None:
    """Drop the read models (all, or those NAMEd) and rebuild them from the events.

    Writes wait while it runs; reads of the models being rebuilt are incomplete until it ends.
    """
    with _service() as svc:
        known = svc.reads.names
        unknown = [n for n in names if n not in known]
        if unknown:
            raise click.BadParameter(
                f"no read model called {', '.join(unknown)}; they are: {', '.join(known)}",
                param_hint="NAMES",
            )
        chosen = list(names) or known
        total = svc.commands.recorder.max_notification_id() or 0
        with (
            svc.commands.writer(),
            click.progressbar(length=total, label="Rebuilding " + ", ".join(chosen)) as bar,
        ):
            done = svc.reads.rebuild(chosen, progress=lambda _name, count: bar.update(count))
        click.echo(f"Rebuilt {', '.join(chosen)} from {done} events.")
        stopped = [name for name in svc.reads.failures() if name in chosen]
        if stopped:
            _report_positions(svc)
    if stopped:
        raise SystemExit(1)


@projections.command("status")
def projections_status() -> None:
    """Each read model's position in the event log, how far behind it is, and any that has
    stopped at an event it cannot apply (then the exit status is 1)."""
    with _service() as svc:
        stopped = _report_positions(svc)
    if stopped:
        raise SystemExit(1)


def _report_positions(svc: Service) -> bool:
    stopped = False
    for name, where in svc.reads.lag().items():
        line = f"{name:16} position {where['position']:>9}   behind by {where['lag']}"
        failure = where.get("failed")
        if failure is not None:
            stopped = True
            since = datetime.fromtimestamp(failure.failed_at, UTC).isoformat(timespec="seconds")
            line += f"   STOPPED at event {failure.position} since {since}: {failure.reason}"
        click.echo(line)
    return stopped


@projections.command("retry")
@click.argument("names", nargs=-1)
def projections_retry(names: tuple[str, ...]) -> None:
    """Try stopped read models (all, or those NAMEd) again now, e.g. after an upgrade that
    fixes the cause; they are also tried again by themselves every minute."""
    with _service() as svc:
        with svc.commands.writer():
            svc.reads.retry(list(names) or None)
        stopped = _report_positions(svc)
    if stopped:
        raise SystemExit(1)


@projections.command("run")
@click.option("--interval", default=0.5, show_default=True, help="seconds between polls")
def projections_run(interval: float) -> None:
    """Keep the read models up to date as a separate worker process (until stopped)."""
    import signal
    import time

    from projections.base import UNAVAILABLE

    stopping = False

    def stop(*_: Any) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    click.echo("Following the event log; stop with Ctrl-C.", err=True)
    with _service() as svc:
        while not stopping:
            try:
                svc.commands.catch_up()
            except UNAVAILABLE as error:  # the database went away: wait for it
                click.echo(
                    f"the database is unavailable ({type(error).__name__}); retrying", err=True
                )
            time.sleep(interval)


@main.group()
def users() -> None:
    """Manage users and their bearer tokens."""


EXPIRES_OPTION = click.option(
    "--expires-in-days",
    type=click.IntRange(1, 3650),
    default=None,
    help="how long the token lasts [default: QA_TOKEN_DAYS, 90]",
)


@users.command("add")
@click.argument("name")
@click.option(
    "--role",
    required=True,
    type=click.Choice(["auditor", "manager", "inspector", "admin"]),
)
@click.option(
    "--password",
    "with_password",
    is_flag=True,
    help="also ask for a password, to sign in to the pages",
)
@EXPIRES_OPTION
def users_add(name: str, role: str, with_password: bool, expires_in_days: int | None) -> None:
    """Create a user; prints the new API token as the last line (it is shown only once)."""
    password = _ask_password(name) if with_password else None
    with _service() as svc:
        try:
            token = svc.accounts.add(name, role, expires_in_days=expires_in_days)
            if password is not None:
                svc.accounts.set_password(name.strip(), password)
        except AccountError as error:
            raise click.ClickException(str(error)) from None
        user = svc.accounts.user(name.strip())
    if password is not None:
        click.echo(f"{name} can sign in to the pages with that password.")
    expires = _when(user.token_expires_at) if user else "?"
    click.echo(f"Created {role} {name!r}. Their API token (expires {expires}; shown only once):")
    click.echo(token)


@users.command("token")
@click.argument("name")
@EXPIRES_OPTION
def users_token(name: str, expires_in_days: int | None) -> None:
    """Issue a new API token for a user (the old one stops working at once); prints it as
    the last line (it is shown only once)."""
    with _service() as svc:
        try:
            token = svc.accounts.new_token(name, expires_in_days=expires_in_days)
        except AccountError as error:
            raise click.ClickException(str(error)) from None
        user = svc.accounts.user(name)
    expires = _when(user.token_expires_at) if user else "?"
    click.echo(
        f"A new API token for {name!r} (expires {expires}; their old one no longer works; "
        "shown only once):"
    )
    click.echo(token)


def _when(moment: datetime | None) -> str:
    return "never recorded" if moment is None else f"{moment:%Y-%m-%d %H:%M} UTC"


@users.command("password")
@click.argument("name")
def users_password(name: str) -> None:
    """Set or change a user's password for the pages (their sessions end)."""
    password = _ask_password(name)
    with _service() as svc:
        try:
            svc.accounts.set_password(name, password)
        except AccountError as error:
            raise click.ClickException(str(error)) from None
    click.echo(f"{name} has a new password.")


def _ask_password(name: str) -> str:
    from qa_service.accounts import check_password

    def valid(value: str) -> str:
        try:
            check_password(value)
        except AccountError as error:
            raise click.BadParameter(str(error)) from None
        return value

    return str(
        click.prompt(
            f"Password for {name}",
            hide_input=True,
            confirmation_prompt=True,
            value_proc=valid,
        )
    )


@users.command("list")
def users_list() -> None:
    """List users, their roles, and when their tokens expire (or expired)."""
    with _service() as svc:
        rows = svc.accounts.list()
    if not rows:
        click.echo("No users yet: add one with `qa-service users add NAME --role ROLE`.")
    now = datetime.now(UTC)
    for user in rows:
        if user.revoked_at:
            state, token = f"revoked {user.revoked_at:%Y-%m-%d}", ""
        else:
            verb = "expired" if user.token_expired(now) else "expires"
            state, token = "active", f"token {verb} {_when(user.token_expires_at)}"
        click.echo(f"{user.name:30} {user.role:10} {state:18} {token}".rstrip())


@users.command("revoke")
@click.argument("name")
def users_revoke(name: str) -> None:
    """Revoke a user's token at once."""
    with _service() as svc:
        try:
            svc.accounts.revoke(name)
        except AccountError as error:
            raise click.ClickException(str(error)) from None
    click.echo(f"Revoked {name!r}.")


if __name__ == "__main__":  # pragma: no cover
    main()
