"""The role matrix: each endpoint, each role, and no token (PRODUCT.md, 'Who uses it')."""

from __future__ import annotations

import pytest

from tests.conftest import Client
from tests.e2e.builders import audit_body, make_plan, remedial_action

ALL = ("auditor", "manager", "inspector", "admin")
TRAIL_READERS = ("manager", "inspector", "admin")

# (method, path, the roles that may call it)
MATRIX = [
    ("GET", "/api/audits", ALL),
    ("POST", "/api/audits", ("auditor",)),
    ("GET", "/api/audits/{audit}", ALL),
    ("GET", "/api/audits/{audit}/history", TRAIL_READERS),
    ("POST", "/api/audits/{audit}/moderation", ("manager",)),
    ("POST", "/api/audits/{audit}/corrections", ("auditor", "manager")),
    ("POST", "/api/audits/{audit}/withdrawal", ("auditor", "manager")),
    ("GET", "/api/learning-weeks", ALL),
    ("POST", "/api/learning-weeks", ("manager",)),
    ("GET", "/api/learning-weeks/{week}", ALL),
    ("POST", "/api/learning-weeks/{week}/feedback", ("auditor",)),
    ("POST", "/api/learning-weeks/{week}/findings", ("auditor",)),
    ("POST", "/api/learning-weeks/{week}/closure", ("manager",)),
    ("GET", "/api/plans", ALL),
    ("POST", "/api/plans", ("manager",)),
    ("POST", "/api/plans/import", ("manager",)),
    ("GET", "/api/plans/{plan}", ALL),
    ("GET", "/api/plans/{plan}/history", TRAIL_READERS),
    ("POST", "/api/plans/{plan}/leads", ("manager",)),
    ("POST", "/api/plans/{plan}/recommendations", ("manager",)),
    ("POST", "/api/plans/{plan}/reviews", ("manager",)),
    ("GET", "/api/plans/{plan}/reviews", ALL),
    ("GET", "/api/actions", ALL),
    ("POST", "/api/actions", ("auditor", "manager")),
    ("GET", "/api/actions/{action}", ALL),
    ("GET", "/api/actions/{action}/history", TRAIL_READERS),
    ("GET", "/api/trail", TRAIL_READERS),
    ("GET", "/api/trail/verify", TRAIL_READERS),
    ("POST", "/api/actions/{action}/status", ("manager",)),
    ("POST", "/api/actions/{action}/reschedule", ("manager",)),
    ("POST", "/api/actions/{action}/owners", ("manager",)),
]
PUBLIC = {"/api/health", "/api/openapi.json", "/api/docs", "/api/docs/static/<path:filename>"}


@pytest.fixture
def ids(auditor, manager):
    plan = make_plan(manager)
    week = manager.post(
        "/api/learning-weeks",
        {"title": "June 2019", "starts_on": "2019-06-03", "ends_on": "2019-06-07"},
    ).json
    audit = auditor.post("/api/audits", audit_body()).json
    return {
        "plan": plan["id"],
        "action": plan["recommendations"][0]["actions"][0]["id"],
        "week": week["id"],
        "audit": audit["id"],
    }


@pytest.mark.parametrize(
    ("method", "path", "allowed"), MATRIX, ids=[f"{m} {p}" for m, p, _ in MATRIX]
)
def test_each_role_may_do_only_what_it_should(as_role, ids, method, path, allowed):
    url = path.format(**ids)
    for role in (None, *ALL):
        client = as_role(role)
        response = client.get(url) if method == "GET" else client.post(url, {})
        if role is None:
            assert response.status_code == 401, (role, response.json)
        elif role in allowed:
            assert response.status_code not in (401, 403), (role, response.json)
            assert response.status_code in (200, 201, 422), (role, response.json)
        else:
            assert response.status_code == 403, (role, response.json)
            article = "an" if role[0] in "aeiou" else "a"
            assert f"{article} {role} may not do this" in response.json["message"]


def test_the_matrix_covers_every_endpoint(app):
    routes = {
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api") and rule.rule not in PUBLIC
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    listed = {
        (
            m,
            p.replace("{audit}", "<uuid:audit_id>")
            .replace("{week}", "<uuid:week_id>")
            .replace("{plan}", "<uuid:plan_id>")
            .replace("{action}", "<uuid:action_id>"),
        )
        for m, p, _ in MATRIX
    }
    assert routes == listed


def test_only_a_manager_raises_an_action_on_a_plan(auditor, ids):
    r = auditor.post(
        "/api/actions",
        {"plan_id": ids["plan"], "recommendation": 1, "description": "x", "owners": ["PK"]},
    )
    assert r.status_code == 403
    assert "only a manager" in r.json["message"]


def test_an_auditor_raises_a_remedial_action_on_an_audit(auditor, ids):
    r = auditor.post(
        "/api/actions",
        {
            "audit_id": ids["audit"],
            "description": "Visit the child within 5 working days",
            "owners": ["Social worker, CP2"],
            "due_on": "2019-01-22",
            "effective_on": "2019-01-16",
        },
    )
    assert r.status_code == 201, r.json
    assert r.json["origin"] == "audit"
    assert r.json["case_ref"] == "CS-104233"
    audit = auditor.get(f"/api/audits/{ids['audit']}").json
    assert [a["id"] for a in audit["actions"]] == [r.json["id"]]


def remedial_on(audit_id: str) -> dict:
    return {
        "audit_id": audit_id,
        "description": "Visit the child within 5 working days",
        "owners": ["Social worker, CP2"],
        "due_on": "2019-01-22",
        "effective_on": "2019-01-16",
    }


def test_an_auditor_may_not_raise_an_action_on_another_auditors_audit(app, service, ids):
    other = Client(app.test_client(), service.accounts.add("auditor-2", "auditor"))
    r = other.post("/api/actions", remedial_on(ids["audit"]))
    assert r.status_code == 403, r.json
    assert r.json["message"] == (
        "an auditor may raise actions only on their own audits; this audit was recorded "
        "by auditor-1: ask them or a manager to raise it"
    )
    assert other.get(f"/api/audits/{ids['audit']}").json["actions"] == []


def test_a_manager_raises_an_action_on_any_audit(manager, ids):
    r = manager.post("/api/actions", remedial_on(ids["audit"]))
    assert r.status_code == 201, r.json
    assert r.json["raised_by"] == "manager-1"


def test_actions_raised_by_a_moderation_stay_a_managers(auditor, manager, ids):
    body = {
        "grade": "inadequate",
        "rationale": "The child was not seen",
        "effective_on": "2019-01-20",
        "actions": [remedial_action()],
    }
    refused = auditor.post(f"/api/audits/{ids['audit']}/moderation", body)
    assert refused.status_code == 403
    moderated = manager.post(f"/api/audits/{ids['audit']}/moderation", body)
    assert moderated.status_code == 200, moderated.json
    assert [a["raised_by"] for a in moderated.json["actions"]] == ["manager-1"]
