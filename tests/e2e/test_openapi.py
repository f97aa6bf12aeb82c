"""The API documents itself, from the same schemas that check requests."""

from __future__ import annotations

import pytest


@pytest.fixture
def spec(as_role):
    response = as_role(None).get("/api/openapi.json")
    assert response.status_code == 200
    return response.json


def test_every_endpoint_is_documented(spec, app):
    documented = {path for path in spec["paths"]}
    for path in (
        "/api/audits",
        "/api/audits/{audit_id}",
        "/api/audits/{audit_id}/moderation",
        "/api/audits/{audit_id}/corrections",
        "/api/audits/{audit_id}/withdrawal",
        "/api/learning-weeks",
        "/api/learning-weeks/{week_id}/feedback",
        "/api/learning-weeks/{week_id}/findings",
        "/api/plans",
        "/api/plans/{plan_id}",
        "/api/plans/{plan_id}/leads",
        "/api/plans/{plan_id}/recommendations",
        "/api/plans/{plan_id}/reviews",
        "/api/actions",
        "/api/actions/{action_id}",
        "/api/actions/{action_id}/status",
        "/api/actions/{action_id}/reschedule",
        "/api/actions/{action_id}/owners",
        "/api/health",
    ):
        assert path in documented, path


def test_rules_show_in_the_documented_schemas(spec):
    schemas = spec["components"]["schemas"]
    audit_in = schemas["AuditIn"]
    assert set(audit_in["required"]) >= {"case_ref", "service_area", "audit_type", "overall_grade"}
    assert audit_in["properties"]["overall_grade"]["enum"] == [
        "outstanding",
        "good",
        "requires_improvement",
        "inadequate",
    ]
    assert "child_protection" in audit_in["properties"]["service_area"]["enum"]
    assert schemas["StatusIn"]["properties"]["status"]["enum"] == [
        "not_started",
        "in_progress",
        "completed",
        "cancelled",
    ]
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


def test_the_interactive_docs_load_without_the_internet(as_role):
    page = as_role(None).get("/api/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "/api/docs/static/swagger-ui-bundle.js" in html
    script = as_role(None).get("/api/docs/static/swagger-ui-bundle.js")
    assert script.status_code == 200
    assert len(script.get_data()) > 100_000
