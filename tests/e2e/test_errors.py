"""Every error a user can meet: one shape, the right code, and nothing written."""

from __future__ import annotations

import uuid

import pytest

from tests.e2e.builders import TOMORROW, audit_body, make_plan, remedial_action

ERROR_KEYS = {"code", "status", "message"}


def events_in(service) -> int:
    return service.commands.recorder.max_notification_id() or 0


def assert_error(response, code: int) -> dict:
    assert response.status_code == code, response.json
    body = response.json
    assert body["code"] == code
    assert set(body) >= ERROR_KEYS or {"code", "status", "errors"} <= set(body)
    return body


def test_422_names_each_field_and_the_rule(auditor, service):
    before = events_in(service)
    r = auditor.post(
        "/api/audits",
        audit_body(
            service_area="the moon",
            overall_grade="excellent",
            audited_on=TOMORROW,
            case_ref="Jane Smith",
            actions=[remedial_action(owners=[], due_on="2019-02-31")],
            colour="blue",
        ),
    )
    errors = assert_error(r, 422)["errors"]["json"]
    assert "Must be one of" in errors["service_area"][0]
    assert "Must be one of" in errors["overall_grade"][0]
    assert errors["colour"][0].startswith("is not known here; the known names are: actions,")
    assert errors["actions[0].due_on"] == ["there is no 31 February 2019"]
    assert events_in(service) == before


def test_422_from_the_domain_rules(auditor, service):
    before = events_in(service)
    r = auditor.post(
        "/api/audits",
        audit_body(audited_on=TOMORROW, case_ref="Jane Smith", audit_type="thematic"),
    )
    body = assert_error(r, 422)
    errors = body["errors"]["json"]
    assert "is in the future" in errors["audited_on"][0]
    assert "never a name" in errors["case_ref"][0]
    assert errors["theme"] == ["a thematic audit names its theme"]
    assert "audited_on" in body["message"]
    assert events_in(service) == before


def test_422_for_a_remedial_action_names_its_place_in_the_list(auditor):
    r = auditor.post(
        "/api/audits",
        audit_body(
            overall_grade="inadequate",
            actions=[remedial_action(), remedial_action(owners=[], due_on="2018-01-01")],
        ),
    )
    errors = assert_error(r, 422)["errors"]["json"]
    assert errors["actions[1].owners"] == ["at least one owner is required"]
    assert errors["actions[1].due_on"] == ["must not be before 2019-01-15"]


def test_409_for_a_stale_version_and_nothing_is_written(auditor, manager, service):
    audit = auditor.post("/api/audits", audit_body()).json
    path = f"/api/audits/{audit['id']}/moderation"
    ok = manager.post(path, {"grade": "good", "rationale": "Agreed"}, headers={"If-Match": "1"})
    assert ok.status_code == 200
    before = events_in(service)
    stale = manager.post(
        path,
        {"grade": "requires_improvement", "rationale": "Second look"},
        headers={"If-Match": "1"},
    )
    body = assert_error(stale, 409)
    assert "version 2, not 1" in body["message"]
    assert events_in(service) == before
    assert manager.get(f"/api/audits/{audit['id']}").json["grade"] == "good"


def test_if_match_must_be_a_version_number(auditor, manager):
    audit = auditor.post("/api/audits", audit_body()).json
    r = manager.post(
        f"/api/audits/{audit['id']}/moderation",
        {"grade": "good", "rationale": "Agreed"},
        headers={"If-Match": "yesterday"},
    )
    assert assert_error(r, 422)["errors"]["headers"]["If-Match"]


def test_409_for_an_impossible_transition(manager, service):
    plan = make_plan(manager)
    action_id = plan["recommendations"][0]["actions"][0]["id"]
    r = manager.post(
        f"/api/actions/{action_id}/status", {"status": "cancelled", "reason": "Superseded"}
    )
    assert r.status_code == 200
    before = events_in(service)
    r = manager.post(f"/api/actions/{action_id}/status", {"status": "completed"})
    assert "cannot move from cancelled to completed" in assert_error(r, 409)["message"]
    assert events_in(service) == before


@pytest.mark.parametrize(
    "path",
    [
        "/api/audits/{id}",
        "/api/plans/{id}",
        "/api/actions/{id}",
        "/api/learning-weeks/{id}",
    ],
)
def test_404_for_an_unknown_id(inspector, path):
    r = inspector.get(path.format(id=uuid.uuid4()))
    assert "no " in assert_error(r, 404)["message"]
    assert_error(inspector.get(path.format(id="not-a-uuid")), 404)


def test_404_when_writing_to_an_unknown_record(manager, service):
    before = events_in(service)
    r = manager.post(f"/api/actions/{uuid.uuid4()}/status", {"status": "in_progress"})
    assert_error(r, 404)
    assert events_in(service) == before


def test_an_unknown_id_inside_a_body_is_a_422_naming_the_field(auditor):
    r = auditor.post(
        "/api/audits",
        audit_body(audit_type="learning_week", learning_week_id=str(uuid.uuid4())),
    )
    errors = assert_error(r, 422)["errors"]["json"]
    assert "no learning week with id" in errors["learning_week_id"][0]


def test_401_without_a_token_or_with_a_bad_or_revoked_one(as_role, service, app):
    from tests.conftest import Client

    assert_error(as_role(None).get(f"/api/audits/{uuid.uuid4()}"), 401)
    r = Client(app.test_client(), "not-a-real-token").get(f"/api/plans/{uuid.uuid4()}")
    assert "not known or was revoked" in assert_error(r, 401)["message"]
    token = service.accounts.add("leaver", "auditor")
    client = Client(app.test_client(), token)
    assert client.get(f"/api/plans/{uuid.uuid4()}").status_code == 404
    service.accounts.revoke("leaver")
    assert_error(client.get(f"/api/plans/{uuid.uuid4()}"), 401)


def test_413_for_an_oversized_body(auditor, service):
    before = events_in(service)
    huge = audit_body(strengths=["x" * 4000] * 400)  # about 1.6 MB
    r = auditor.post("/api/audits", huge)
    assert_error(r, 413)
    assert events_in(service) == before


def test_415_for_a_body_that_is_not_json(auditor, service):
    before = events_in(service)
    r = auditor.flask_client.post(
        "/api/audits",
        data="case_ref=CS-1",
        headers={
            "Authorization": f"Bearer {auditor.token}",
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    assert "JSON" in assert_error(r, 415)["message"]
    r = auditor.flask_client.post(
        "/api/audits",
        data="{not json",
        headers={"Authorization": f"Bearer {auditor.token}", "Content-Type": "application/json"},
    )
    assert "not valid JSON" in assert_error(r, 415)["message"]
    assert events_in(service) == before


def test_405_and_unknown_paths_answer_in_the_same_shape(inspector):
    headers = {"Authorization": f"Bearer {inspector.token}"}
    assert_error(inspector.flask_client.delete("/api/audits", headers=headers), 405)
    assert_error(inspector.get("/api/nothing-here"), 404)


def test_an_idempotent_retry_gets_the_first_answer_and_writes_nothing(auditor, service):
    key = {"Idempotency-Key": "audit-2019-01-15-CS-104233"}
    first = auditor.post("/api/audits", audit_body(), headers=key)
    assert first.status_code == 201
    after_first = events_in(service)
    again = auditor.post("/api/audits", audit_body(), headers=key)
    assert again.status_code == 201
    assert again.json == first.json
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert events_in(service) == after_first


def test_an_idempotency_key_reused_for_another_request_is_refused(auditor, service):
    key = {"Idempotency-Key": "k-1"}
    assert auditor.post("/api/audits", audit_body(), headers=key).status_code == 201
    before = events_in(service)
    r = auditor.post("/api/audits", audit_body(case_ref="CS-999"), headers=key)
    assert "different request" in assert_error(r, 422)["message"]
    assert events_in(service) == before


def test_idempotency_keys_belong_to_their_user(auditor, service, app):
    from tests.conftest import Client

    other = Client(app.test_client(), service.accounts.add("auditor-2", "auditor"))
    key = {"Idempotency-Key": "same-key"}
    a = auditor.post("/api/audits", audit_body(), headers=key)
    b = other.post("/api/audits", audit_body(), headers=key)
    assert a.status_code == b.status_code == 201
    assert a.json["id"] != b.json["id"]


def test_a_refused_request_is_replayed_too(manager, auditor):
    audit = auditor.post("/api/audits", audit_body()).json
    key = {"Idempotency-Key": "moderate-once"}
    path = f"/api/audits/{audit['id']}/moderation"
    body = {"grade": "inadequate", "rationale": "No plan"}
    first = manager.post(path, body, headers=key)
    assert first.status_code == 422
    assert manager.post(path, body, headers=key).json == first.json
