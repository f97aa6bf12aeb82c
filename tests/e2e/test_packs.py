"""Inspection packs, as an operator makes one and an inspector checks it: the figures in a
pack come from the events, whatever was done to the service's tables; the pack says as of
when and as known at when; and the README's offline check works exactly as written."""

from __future__ import annotations

import csv
import io
import json
import shlex
import shutil
import subprocess
import sys
import zipfile
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update

from projections.actions import action_versions
from projections.trail import trail
from qa_service.application import Actor
from qa_service.demo import SimClock
from qa_service.service import build_service
from tests.e2e.test_server import QA, cli_env

LONDON = ZoneInfo("Europe/London")
MANAGER = Actor("mo", "manager")


@pytest.fixture
def recorded(settings):
    """A plan with one action, recorded on 1 February 2016; the action started, recorded
    on 1 March 2016. Yields the service and the action's id."""
    clock = SimClock(now=datetime(2016, 2, 1, 9, tzinfo=LONDON))
    svc = build_service(settings, clock=clock)
    log = svc.commands
    plan_id = log.create_plan(MANAGER, title="Plan", source="Ofsted", published_on=date(2016, 2, 1))
    log.add_lead(MANAGER, plan_id, initials="PK", name="Paul King", job_title=None,
                 effective_on=None)  # fmt: skip
    [action_id] = log.add_recommendation(
        MANAGER, plan_id,
        fields={"number": 1, "area": "A", "text": "Review the duty team", "leads": ["PK"]},
        actions=[{"description": "Audit the duty team", "owners": ["PK"], "due_on": None}],
    )  # fmt: skip
    clock.now = datetime(2016, 3, 1, 9, tzinfo=LONDON)
    log.change_action_status(
        MANAGER, action_id, status="in_progress", effective_on=date(2016, 3, 1), reason=None
    )
    yield svc, action_id
    svc.close()


def public_key(settings, tmp_path: Path) -> Path:
    """Where the service keeps the key's public half: beside the SQLite file, under its
    own name; on PostgreSQL, where ``QA_SIGNING_KEY`` (set by ``export``) says."""
    if settings.is_sqlite:
        return settings.sqlite_path.with_name("qa.sqlite3-signing-key.pub")
    return tmp_path / "keys" / "qa-signing-key.pub"


def export(settings, tmp_path: Path, folder: Path, *args: str) -> subprocess.CompletedProcess:
    """``qa-service export-pack ARGS``, run in ``folder`` as an operator would."""
    env = cli_env(settings)
    if not settings.is_sqlite:
        env["QA_SIGNING_KEY"] = str(tmp_path / "keys" / "qa-signing-key.pem")
    folder.mkdir(exist_ok=True)
    return subprocess.run(
        [QA, "export-pack", *args], cwd=folder, env=env, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip


def action_status(pack: Path) -> str:
    with zipfile.ZipFile(pack) as z:
        [plan] = json.loads(z.read("plan_status.json"))
    return plan["recommendations"][0]["actions"][0]["status"]


def test_a_pack_holds_the_true_status_though_the_table_was_edited(settings, recorded, tmp_path):
    svc, action_id = recorded
    with svc.engine.begin() as conn:  # someone with write access to the read models
        conn.execute(
            update(action_versions)
            .where(action_versions.c.entity_id == action_id)
            .values(status="done")
        )
        conn.execute(update(trail).values(actor="someone else"))
    assert svc.queries.action(action_id)["status"] == "done"  # the API carries the edit
    folder = tmp_path / "out"
    made = export(settings, tmp_path, folder, "--as-of", "2017-03-31")
    assert made.returncode == 0, made.stdout + made.stderr
    assert action_status(folder / "qa-pack-2017-03-31.zip") == "in_progress"  # the pack does not
    with zipfile.ZipFile(folder / "qa-pack-2017-03-31.zip") as z:
        readme = z.read("README.txt").decode()
        rows = list(csv.DictReader(io.StringIO(z.read("trail.csv").decode())))
    assert {row["actor"] for row in rows} == {"mo"}
    assert "rebuilt from the events in this pack, not copied from the\nservice's tables" in readme


def test_the_readmes_offline_check_works_exactly_as_written(settings, recorded, tmp_path):
    inspector = tmp_path / "inspector"
    made = export(settings, tmp_path, inspector, "--as-of", "2017-03-31")
    assert made.returncode == 0, made.stdout + made.stderr
    assert "Wrote qa-pack-2017-03-31.zip and, beside it, verify_pack.py" in made.stdout
    assert sorted(p.name for p in inspector.iterdir()) == ["qa-pack-2017-03-31.zip",
                                                           "verify_pack.py"]  # fmt: skip
    with zipfile.ZipFile(inspector / "qa-pack-2017-03-31.zip") as z:
        readme = z.read("README.txt").decode()
    [command] = [line.strip() for line in readme.splitlines() if "python verify_pack.py" in line]
    public = public_key(settings, tmp_path)
    assert command == f"python verify_pack.py qa-pack-2017-03-31.zip {public.name}"
    if settings.is_sqlite:
        assert command.endswith("qa.sqlite3-signing-key.pub")  # as the project README says
    shutil.copy(public, inspector)  # by a separate channel, from the service

    python, *arguments = shlex.split(command)
    assert python == "python"
    checked = subprocess.run(
        [sys.executable, *arguments], cwd=inspector, capture_output=True, text=True, timeout=60
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.startswith("VERIFIED: ")
    assert "as of 2017-03-31." in checked.stdout  # as known when it was made: nothing more


def test_a_pack_as_known_at_a_time_says_so_and_shows_what_was_known_then(
    settings, recorded, tmp_path
):
    folder = tmp_path / "then"
    made = export(settings, tmp_path, folder, "--as-of", "2017-03-31",
                  "--known-at", "2016-02-15T12:00", "--out", "then.zip")  # fmt: skip
    assert made.returncode == 0, made.stdout + made.stderr
    pack = folder / "then.zip"
    assert action_status(pack) == "not_started"  # its start was recorded on 1 March
    with zipfile.ZipFile(pack) as z:
        readme = z.read("README.txt").decode()
        signed = json.loads(z.read("checkpoint.json"))["signed"]
    assert (signed["as_of"], signed["known_at"]) == ("2017-03-31", "2016-02-15T12:00:00+00:00")
    assert "as of 2017-03-31, as known at 2016-02-15T12:00:00+00:00.\n" in readme
    assert "python verify_pack.py then.zip " in readme
    checked = subprocess.run(
        [sys.executable, str(folder / "verify_pack.py"), str(pack),
         str(public_key(settings, tmp_path))],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "as of 2017-03-31, as known at 2016-02-15T12:00:00+00:00." in checked.stdout

    now = export(settings, tmp_path, folder, "--as-of", "2017-03-31", "--out", "now.zip")
    assert now.returncode == 0, now.stdout + now.stderr
    assert action_status(folder / "now.zip") == "in_progress"
    with zipfile.ZipFile(folder / "now.zip") as z:
        assert json.loads(z.read("checkpoint.json"))["signed"]["known_at"] is None
        assert "as known when the pack was made" in z.read("README.txt").decode()

    bad = export(settings, tmp_path, folder, "--as-of", "2017-03-31", "--known-at", "soon")
    assert bad.returncode == 2 and "'soon' is not a time" in bad.stderr
