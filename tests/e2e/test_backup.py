"""`qa-service backup`, `restore`, `verify` and `checkpoint --new-key`, run as an operator
runs them: a backup says what it holds and which keys to keep apart from it; a restore
verifies; a missing public key is "NOT VERIFIED" with its own exit status, never a tamper
alarm; after a rotation the old checkpoints and the new verify."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from qa_service.application import Actor
from qa_service.service import build_service
from tests.e2e.test_server import QA, cli_env
from tests.integration.test_backup import postgres_tools_or_skip, restored_settings

__all__ = ["restored_settings"]  # a fixture, used by name

MANAGER = Actor("mo", "manager")


def qa(settings, tmp_path: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """`qa-service ARGS` with the signing key in the test's folder on PostgreSQL (on
    SQLite it is beside the database, in the test's folder too)."""
    env = cli_env(settings)
    if not settings.is_sqlite:
        env["QA_SIGNING_KEY"] = str(tmp_path / "keys" / "qa-signing-key.pem")
    result = subprocess.run(
        [QA, *args], env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


def keys(settings, tmp_path: Path) -> tuple[Path, Path, Path]:
    """The private key, its public half and the retired public keys."""
    if settings.is_sqlite:
        base = str(settings.sqlite_path.with_name("qa.sqlite3-signing-key"))
    else:
        base = str(tmp_path / "keys" / "qa-signing-key")
    return Path(f"{base}.pem"), Path(f"{base}.pub"), Path(f"{base}.retired.pub")


@pytest.fixture
def recorded(settings):
    with build_service(settings) as svc:
        for i in range(4):
            svc.commands.create_plan(
                MANAGER, title=f"Plan {i}", source="Ofsted", published_on=date(2016, 2, 1)
            )
    return settings


def test_backup_says_what_it_wrote_and_which_keys_to_keep_and_restore_verifies(
    recorded, tmp_path, restored_settings
):
    settings = recorded
    postgres_tools_or_skip(settings)
    qa(settings, tmp_path, "checkpoint")
    private, public, _retired = keys(settings, tmp_path)
    dest = tmp_path / "qa-backup.bin"
    out = qa(settings, tmp_path, "backup", str(dest)).stdout
    lines = out.splitlines()
    assert lines[0] == f"Wrote {dest} ({dest.stat().st_size:,} bytes): 4 events."
    assert lines[1].startswith("The copy's chain verifies: 4 events, head position 4, head hash ")
    assert "It holds no key. Keep these apart from it" in out
    assert f"  {private}  the checkpoint signing key (private" in out
    assert f"  {public}  its public half" in out
    assert private.read_bytes() not in dest.read_bytes()

    again = qa(settings, tmp_path, "backup", str(dest), check=False)
    assert again.returncode == 1 and "already exists" in again.stderr
    assert qa(settings, tmp_path, "backup", "--force", str(dest)).returncode == 0

    refused = qa(settings, tmp_path, "restore", str(dest), check=False)
    assert refused.returncode == 1 and "nothing was restored" in refused.stderr

    target = restored_settings
    if target.is_sqlite:  # the keys come back beside the database, from where they were kept
        target.sqlite_path.parent.mkdir(parents=True)
        for kept in (private, public):
            shutil.copy2(kept, target.sqlite_path.with_name(kept.name))
    restored = qa(target, tmp_path, "restore", str(dest))
    assert restored.stdout.startswith(f"Restored {dest} into ")
    assert "OK: 4 events verified, head position 4" in restored.stdout
    assert "1 signed checkpoint(s) hold; every read model matches the events." in restored.stdout
    assert "OK: 4 events verified" in qa(target, tmp_path, "verify").stdout


def test_a_missing_public_key_is_not_verified_never_a_tamper_alarm(recorded, tmp_path):
    settings = recorded
    fresh = qa(settings, tmp_path, "verify").stdout
    assert "no signed checkpoints yet" in fresh
    private, public, _retired = keys(settings, tmp_path)
    assert not private.exists() and not public.exists()  # verifying made no key

    qa(settings, tmp_path, "checkpoint")
    qa(settings, tmp_path, "checkpoint")
    private.unlink()
    public.unlink()
    result = qa(settings, tmp_path, "verify", check=False)
    assert result.returncode == 3
    assert result.stdout.startswith(
        f"NOT VERIFIED: 2 signed checkpoint(s) exist but the public key {public} "
    )
    assert "restore it from where you keep your keys (see the README's backup section)" in (
        result.stdout
    )
    assert "NOT OK" not in result.stdout and "bad signature" not in result.stdout
    assert "The chain itself holds (4 events verified" in result.stdout
    assert not private.exists() and not public.exists()

    refused = qa(settings, tmp_path, "checkpoint", check=False)
    assert refused.returncode == 1 and "signing key" in refused.stderr
    assert "is missing, but 2 signed checkpoint(s) are stored" in refused.stderr
    assert not private.exists()


def test_a_new_key_signs_from_now_on_and_the_old_checkpoints_still_verify(recorded, tmp_path):
    settings = recorded
    first = qa(settings, tmp_path, "checkpoint")
    private, public, retired = keys(settings, tmp_path)
    old_public = public.read_text().strip()
    with build_service(replace(settings, create_tables=False)) as svc:
        svc.commands.create_plan(
            MANAGER, title="Later", source="Ofsted", published_on=date(2016, 2, 1)
        )
    rotated = qa(settings, tmp_path, "checkpoint", "--new-key")
    assert "A new signing key: the old public key" in rotated.stderr
    assert f"is kept in {retired}" in rotated.stderr
    new_public = public.read_text().strip()
    assert new_public != old_public and old_public in retired.read_text()
    assert f'"public_key": "{new_public}"' in rotated.stdout
    assert f'"public_key": "{old_public}"' in first.stdout
    verified = qa(settings, tmp_path, "verify").stdout
    assert verified.startswith("OK: 5 events verified")
    assert "2 signed checkpoint(s) hold" in verified

    # Backed up with the rotation, the retired public keys are among the keys to keep.
    if settings.is_sqlite:
        out = qa(settings, tmp_path, "backup", str(tmp_path / "after-rotation")).stdout
        assert f"  {retired}  the public halves of retired signing keys" in out

    # Without the retired list the old checkpoint cannot be vouched for, and it says why.
    retired.unlink()
    failing = qa(settings, tmp_path, "verify", check=False)
    assert failing.returncode == 1
    assert "the checkpoint at position 4 has a bad signature: none of the 1 kept" in (
        failing.stdout
    )


def test_without_pg_dump_it_prints_the_command_to_run_and_writes_nothing(settings, tmp_path):
    if settings.is_sqlite:
        pytest.skip("PostgreSQL's pg_dump")
    env = cli_env(settings)
    env["PATH"] = str(Path(QA).parent)  # the venv's programs, and no pg_dump
    env["QA_SIGNING_KEY"] = str(tmp_path / "keys" / "qa-signing-key.pem")
    dest = tmp_path / "qa.pgdump"
    result = subprocess.run(
        [QA, "backup", str(dest)], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1 and not dest.exists()
    assert "pg_dump is not on PATH, so nothing was written" in result.stderr
    assert "pg_dump --format=custom --no-owner --schema " + settings.schema in result.stderr
    assert f"--file {dest}" in result.stderr
