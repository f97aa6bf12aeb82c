"""Backups that verify, on both stores: a backup taken while writes go on is one moment of
the log (its chain verifies, its count between before and after), holds what SQLite still
keeps in the WAL, holds no key, and restored gives a store that verifies, read models
and all. The signing key: verifying never makes one, a missing one is said plainly, and a
rotation keeps every earlier checkpoint verifiable."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import threading
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from qa_service import backup as backups
from qa_service.application import Actor
from qa_service.checkpoints import (
    MissingSigningKey,
    check_stored_checkpoints,
    issue_checkpoint,
    key_path,
    public_key_path,
    retired_keys_path,
    rotate,
    signer,
)
from qa_service.service import build_service
from qa_service.settings import Settings

MANAGER = Actor("mo", "manager")


@pytest.fixture(autouse=True)
def signing_key_in_tmp(monkeypatch, tmp_path, request):
    """On PostgreSQL the key would be in the working directory: keep it in the test's own."""
    if "settings" in request.fixturenames and not request.getfixturevalue("settings").is_sqlite:
        monkeypatch.setenv("QA_SIGNING_KEY", str(tmp_path / "keys" / "qa-signing-key.pem"))


def record_plans(service, n: int, prefix: str = "Plan") -> None:
    for i in range(n):
        service.commands.create_plan(
            MANAGER, title=f"{prefix} {i}", source="Ofsted", published_on=date(2016, 2, 1)
        )


def events(service) -> int:
    return service.commands.recorder.max_notification_id() or 0


def server_major(settings: Settings) -> int:
    url = make_url(settings.database_url).set(drivername="postgresql")
    with psycopg.connect(url.render_as_string(hide_password=False)) as conn:
        row = conn.execute("SHOW server_version_num").fetchone()
    assert row is not None
    return int(row[0]) // 10000


def postgres_tools_or_skip(settings: Settings) -> None:
    """pg_dump and pg_restore of the server's major version, or a clear skip."""
    if settings.is_sqlite:
        return
    for program in ("pg_dump", "pg_restore"):
        found = shutil.which(program)
        if found is None:
            pytest.skip(f"{program} is not on PATH (Debian: apt-get install postgresql-client)")
        out = subprocess.run([found, "--version"], capture_output=True, text=True).stdout
        client = backups._major(out)
        if client != server_major(settings):
            pytest.skip(
                f"{program} is version {client}, the server {server_major(settings)}: "
                "restoring across major versions is not what this test checks"
            )


def take_backup(service, dest: Path) -> backups.Written:
    if service.settings.is_sqlite:
        return backups.backup_sqlite(service.settings, dest)
    return backups.backup_postgres(service, dest)


@pytest.fixture
def restored_settings(settings, tmp_path) -> Iterator[Settings]:
    """Where to restore to: a new SQLite file, or a new empty PostgreSQL database (the
    dump recreates its schema, under the same name)."""
    if settings.is_sqlite:
        yield replace(settings, database_url=f"sqlite:///{tmp_path / 'restored' / 'qa.sqlite3'}")
        return
    url = make_url(settings.database_url)
    name = f"{url.database}_r{uuid.uuid4().hex[:6]}"
    admin = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield replace(settings, database_url=url.set(database=name).render_as_string(False))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def restore(backup: Path, settings: Settings) -> None:
    if settings.is_sqlite:
        backups.restore_sqlite(settings, backup)
    else:
        backups.restore_postgres(settings, backup)


def test_a_backup_taken_while_another_thread_writes_is_one_moment_of_the_log(service, tmp_path):
    postgres_tools_or_skip(service.settings)
    record_plans(service, 5)
    before = events(service)
    stop = threading.Event()
    errors: list[BaseException] = []

    def keep_writing() -> None:
        i = 0
        try:
            while not stop.is_set():
                record_plans(service, 1, prefix=f"Meanwhile {i}")
                i += 1
        except BaseException as error:  # the test fails on it below
            errors.append(error)

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        while events(service) < before + 3:  # the writer is under way
            pass
        written = take_backup(service, tmp_path / "backup")
    finally:
        stop.set()
        writer.join()
    assert errors == []
    after = events(service)
    verdict = written.verdict
    assert verdict.chain_ok, verdict
    assert before < written.events <= after
    assert verdict.head_position <= written.events


def test_the_sqlite_backup_holds_what_is_still_in_the_wal_and_needs_no_wal(service, tmp_path):
    if not service.settings.is_sqlite:
        pytest.skip("SQLite's write-ahead log")
    record_plans(service, 20)
    live = service.settings.sqlite_path
    wal = live.with_name(live.name + "-wal")
    assert wal.exists() and wal.stat().st_size > 0  # not checkpointed: the service is open
    alone = tmp_path / "main-file-alone.sqlite3"
    shutil.copyfile(live, alone)  # what a plain copy of the main file would hold
    in_main_file = sqlite3.connect(alone).execute("SELECT count(*) FROM stored_events").fetchone()
    assert in_main_file[0] < 20

    written = take_backup(service, tmp_path / "backup.sqlite3")
    assert written.path == tmp_path / "backup.sqlite3"
    assert not Path(f"{written.path}-wal").exists() and not Path(f"{written.path}-shm").exists()
    copy = sqlite3.connect(f"file:{written.path}?mode=ro", uri=True)
    assert copy.execute("SELECT count(*) FROM stored_events").fetchone()[0] == 20
    assert copy.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # one file
    copy.close()
    assert written.verdict.count == 20 and written.verdict.ok
    assert oct(written.path.stat().st_mode & 0o777) == "0o600"  # it holds everything
    assert [p.name for p in tmp_path.iterdir() if ".partial" in p.name] == []


def test_an_interrupted_backup_leaves_nothing_under_dest(service, tmp_path, monkeypatch):
    record_plans(service, 2)
    dest = tmp_path / "backup"

    def interrupted(*_args, **_kwargs):
        raise KeyboardInterrupt

    if service.settings.is_sqlite:
        monkeypatch.setattr(backups, "_chain_of_sqlite_file", interrupted)
    else:
        postgres_tools_or_skip(service.settings)
        monkeypatch.setattr(backups, "verify", interrupted)
    with pytest.raises(KeyboardInterrupt):
        take_backup(service, dest)
    assert [p.name for p in tmp_path.iterdir() if "backup" in p.name] == []  # nor a partial


def test_a_backup_never_overwrites_unless_forced(service, tmp_path):
    postgres_tools_or_skip(service.settings)
    record_plans(service, 1)
    dest = tmp_path / "backup"
    dest.write_bytes(b"an older backup")
    with pytest.raises(backups.BackupError, match="already exists"):
        take_backup(service, dest)
    assert dest.read_bytes() == b"an older backup"


def test_restored_the_store_verifies_and_its_read_models_equal_a_rebuild(
    service, tmp_path, restored_settings
):
    postgres_tools_or_skip(service.settings)
    record_plans(service, 3)
    issue_checkpoint(service)
    record_plans(service, 2, prefix="After the checkpoint")
    plans_before = service.queries.plans(page_size=100)
    written = take_backup(service, tmp_path / "backup")

    restore(written.path, restored_settings)
    # The keys come back from where they were kept, apart from the backup.
    for kept, put_back in zip(
        backups.keys_to_keep(service.settings), backups.keys_to_keep(restored_settings), strict=True
    ):
        if kept.path != put_back.path:
            shutil.copy2(kept.path, put_back.path)
    with build_service(replace(restored_settings, create_tables=False)) as restored:
        verdict = restored.reads.verify()
        assert verdict.ok and verdict.read_models_ok and verdict.drift == []
        assert (verdict.count, verdict.head_hash) == (5, written.verdict.head_hash)
        assert restored.queries.plans(page_size=100) == plans_before
        check = check_stored_checkpoints(restored, restored.reads.verify(at=[3]).hashes_at)
        assert check.ok and check.count == 1  # the key, kept beside the store, still fits
        record_plans(restored, 1, prefix="After the restore")  # it takes writes again
        assert restored.reads.verify().ok and events(restored) == 6


def test_restoring_refuses_a_store_that_holds_events(service, tmp_path):
    postgres_tools_or_skip(service.settings)
    record_plans(service, 2)
    written = take_backup(service, tmp_path / "backup")
    with pytest.raises(backups.BackupError, match="nothing was restored"):
        restore(written.path, service.settings)
    if service.settings.is_sqlite:  # forced, it replaces them
        record_plans(service, 1, prefix="Lost by the restore")
        assert backups.restore_sqlite(service.settings, written.path, force=True) == 2
        fresh = build_service(replace(service.settings, create_tables=False))
        with fresh:
            assert events(fresh) == 2 and fresh.reads.verify().ok


def test_restoring_sqlite_waits_for_no_writer_it_refuses(service, tmp_path):
    if not service.settings.is_sqlite:
        pytest.skip("the SQLite writer lock")
    record_plans(service, 1)
    written = take_backup(service, tmp_path / "backup")
    with (
        service.commands.writer(),  # a write under way
        pytest.raises(backups.BackupError, match="a writer holds"),
    ):
        backups.restore_sqlite(service.settings, written.path, force=True)


def test_the_backup_holds_no_key(service, tmp_path):
    postgres_tools_or_skip(service.settings)
    record_plans(service, 2)
    issue_checkpoint(service)
    key = signer(service.settings)
    private_pem = key.path.read_bytes()
    secrets = [
        private_pem,
        b"".join(private_pem.splitlines()[1:-1]),  # the PEM's base64 body
        key.private.private_bytes_raw(),
        key.private.private_bytes_raw().hex().encode(),
        key.public_hex.encode(),  # not secret, but trusting a copy inside a backup defeats it
        bytes.fromhex(key.public_hex),
    ]
    written = take_backup(service, tmp_path / "backup")
    contents = written.path.read_bytes()
    if not service.settings.is_sqlite:  # a custom-format dump is compressed: its SQL too
        contents += subprocess.run(
            [shutil.which("pg_restore") or "pg_restore", "--file=-", str(written.path)],
            capture_output=True,
            check=True,
        ).stdout
        assert b"qa_checkpoints" in contents  # the search reads the dump's content
    for secret in secrets:
        assert secret not in contents
    kept = {k.path for k in backups.keys_to_keep(service.settings)}
    assert {key.path, key.public_path} <= kept


# The signing key: verifying never makes one; rotation keeps the old public halves.


def test_verifying_without_a_key_makes_none_and_says_it_is_missing(service):
    record_plans(service, 2)
    assert check_stored_checkpoints(service, {}).ok  # no checkpoints: nothing to check
    issue_checkpoint(service)
    private, public = key_path(service.settings), public_key_path(service.settings)
    private.unlink()
    public.unlink()
    check = check_stored_checkpoints(service, service.reads.verify(at=[2]).hashes_at)
    assert check.problems == []  # not "a bad signature": nothing was tampered with
    assert check.missing_key is not None
    assert check.missing_key.startswith(f"1 signed checkpoint(s) exist but the public key {public}")
    assert "restore it from where you keep your keys" in check.missing_key
    assert not private.exists() and not public.exists()  # checking made no key
    with pytest.raises(MissingSigningKey, match="1 signed checkpoint"):
        issue_checkpoint(service)  # nor does signing, quietly, with a stranger key
    assert not private.exists()


def test_the_public_half_alone_verifies_and_stops_a_quiet_new_key(service):
    record_plans(service, 2)
    issue_checkpoint(service)
    key_path(service.settings).unlink()
    assert check_stored_checkpoints(service, service.reads.verify(at=[2]).hashes_at).ok
    with pytest.raises(MissingSigningKey, match="checkpoint --new-key"):
        signer(service.settings)


def test_a_new_key_signs_new_checkpoints_and_the_old_ones_still_verify(service):
    record_plans(service, 2)
    issue_checkpoint(service)
    old = signer(service.settings)
    new, retired = rotate(service.settings)
    assert retired == old.public_hex and new.public_hex != old.public_hex
    assert public_key_path(service.settings).read_text().strip() == new.public_hex
    assert old.public_hex in retired_keys_path(service.settings).read_text()
    assert oct(key_path(service.settings).stat().st_mode & 0o777) == "0o600"
    record_plans(service, 1)
    issue_checkpoint(service)
    assert signer(service.settings).public_hex == new.public_hex
    check = check_stored_checkpoints(service, service.reads.verify(at=[2, 3]).hashes_at)
    assert (check.ok, check.count) == (True, 2)

    retired_keys_path(service.settings).unlink()  # the old public half lost
    check = check_stored_checkpoints(service, service.reads.verify(at=[2, 3]).hashes_at)
    [problem] = check.problems
    assert problem.startswith("the checkpoint at position 2 has a bad signature: none of the 1")
    assert "no longer in" in problem


def test_rotating_when_the_private_key_was_lost_keeps_its_public_half(service):
    record_plans(service, 1)
    issue_checkpoint(service)
    lost = signer(service.settings).public_hex
    os.remove(key_path(service.settings))
    _new, retired = rotate(service.settings)
    assert retired == lost
    issue_checkpoint(service)
    assert check_stored_checkpoints(service, service.reads.verify(at=[1]).hashes_at).ok


def test_a_password_never_goes_on_a_command_line():
    settings = Settings(
        database_url="postgresql://qa:s3cret-pw@db.example:5433/qa", schema="council"
    )
    command = backups.pg_dump_command(settings, Path("/backups/qa.pgdump"))
    assert "s3cret-pw" not in " ".join(command)
    assert command[:3] == ["pg_dump", "--format=custom", "--no-owner"]
    assert command[3:5] == ["--schema", "council"] and command[-1] == "qa"
    assert command[5:11] == ["--host", "db.example", "--port", "5433", "--username", "qa"]
    _args, env = backups._connection_args(settings)
    assert env["PGPASSWORD"] == "s3cret-pw"  # the child's environment only
    shown = backups.shown(command, settings)
    assert shown.startswith("PGPASSWORD='<the password>' pg_dump ") and "s3cret" not in shown
    restore = backups.pg_restore_command(settings, Path("/backups/qa.pgdump"))
    assert "s3cret-pw" not in " ".join(restore) and "--single-transaction" in restore
