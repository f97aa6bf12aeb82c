"""A correction of an audit's case reference reaches the audit's actions, as of any date
and as known at any time, on both stores; a rebuild gives the same answers.

The steps, on a simulated clock:
  2019-01-15 10:00  auditor records audit CS-104233 (inadequate) with one remedial action
  2019-01-20 10:00  auditor corrects its case_ref to CS-204233 (wrong case number)
A correction fixes the record from its start: as of any date, as known now, the action
says CS-204233; as known before 2019-01-20 10:00 it still says CS-104233.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from qa_service.app import create_app
from qa_service.service import build_service
from tests.conftest import Client
from tests.e2e.builders import audit_body, remedial_action

LONDON = ZoneInfo("Europe/London")
BEFORE_CORRECTION = "2019-01-18T12:00:00+00:00"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2019, 1, 15, 10, 0, tzinfo=LONDON)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def corrected(settings):
    """The service, an auditor's client, the audit's id and its action's id."""
    clock = Clock()
    svc = build_service(settings, clock=clock)
    app = create_app(settings, service=svc, TESTING=True)
    auditor = Client(app.test_client(), svc.accounts.add("Amy Auditor", "auditor"))
    body = audit_body(overall_grade="inadequate", actions=[remedial_action()])
    audit = auditor.post("/api/audits", body)
    assert audit.status_code == 201, audit.json
    assert audit.json["actions"][0]["case_ref"] == "CS-104233"
    clock.now = datetime(2019, 1, 20, 10, 0, tzinfo=LONDON)
    r = auditor.post(
        f"/api/audits/{audit.json['id']}/corrections",
        {"changes": {"case_ref": "CS-204233"}, "reason": "Wrong case number"},
    )
    assert r.status_code == 200, r.json
    yield svc, auditor, audit.json["id"], audit.json["actions"][0]["id"]
    svc.close()


def case_refs(client: Client, audit_id: str, action_id: str, query: str = "") -> list[str]:
    """The case reference the audit, its actions in the register, the action itself and
    the audit's own list of actions show, asked about with ``query``."""
    audit = client.get(f"/api/audits/{audit_id}?{query}")
    register = client.get(f"/api/actions?audit_id={audit_id}&{query}")
    action = client.get(f"/api/actions/{action_id}?{query}")
    for response in (audit, register, action):
        assert response.status_code == 200, response.json
    return [
        audit.json["case_ref"],
        *(a["case_ref"] for a in audit.json["actions"]),
        *(a["case_ref"] for a in register.json["items"]),
        action.json["case_ref"],
    ]


def test_the_corrected_case_ref_reaches_the_audits_actions(corrected):
    _, auditor, audit_id, action_id = corrected
    assert case_refs(auditor, audit_id, action_id) == ["CS-204233"] * 4


def test_the_correction_fixes_the_record_from_its_start(corrected):
    _, auditor, audit_id, action_id = corrected
    assert case_refs(auditor, audit_id, action_id, "as_of=2019-01-16") == ["CS-204233"] * 4


def test_as_known_before_the_correction_the_actions_show_the_old_case_ref(corrected):
    _, auditor, audit_id, action_id = corrected
    query = f"known_at={BEFORE_CORRECTION.replace('+', '%2B')}"
    assert case_refs(auditor, audit_id, action_id, query) == ["CS-104233"] * 4


def test_a_rebuild_gives_the_same_case_refs(corrected):
    svc, auditor, audit_id, action_id = corrected
    query = f"known_at={BEFORE_CORRECTION.replace('+', '%2B')}"
    before = case_refs(auditor, audit_id, action_id), case_refs(auditor, audit_id, action_id, query)
    svc.reads.rebuild()
    after = case_refs(auditor, audit_id, action_id), case_refs(auditor, audit_id, action_id, query)
    assert after == before == (["CS-204233"] * 4, ["CS-104233"] * 4)
