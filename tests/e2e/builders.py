"""Request bodies a user might send, with sensible defaults."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

# Safely in the future whenever the suite runs (even across midnight).
TOMORROW = (date.today() + timedelta(days=7)).isoformat()


def audit_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "case_ref": "CS-104233",
        "service_area": "child_protection",
        "audit_type": "core",
        "audited_on": "2019-01-15",
        "judgements": {"assessment": "good", "planning": "requires_improvement"},
        "overall_grade": "good",
        "strengths": ["The child's voice is clear in the assessment"],
        "improvements": ["Plan actions are not timebound"],
        "actions": [],
    }
    body.update(overrides)
    return body


def remedial_action(**overrides: Any) -> dict[str, Any]:
    body = {
        "description": "Update the child protection plan with timescales",
        "owners": ["Team manager, CP2"],
        "due_on": "2019-02-15",
    }
    body.update(overrides)
    return body


def make_plan(manager: Any) -> dict[str, Any]:
    """A plan with two key leads and one recommendation carrying two actions."""
    plan = manager.post(
        "/api/plans",
        {
            "title": "Post-inspection improvement plan",
            "source": "Ofsted inspection, October-November 2015",
            "published_on": "2016-02-01",
        },
    )
    assert plan.status_code == 201, plan.json
    plan_id = plan.json["id"]
    for initials, name in (("SK", "Stephen Kitchman"), ("PK", "Paul King")):
        r = manager.post(
            f"/api/plans/{plan_id}/leads",
            {"initials": initials, "name": name, "job_title": "Director"},
        )
        assert r.status_code == 200, r.json
    r = manager.post(
        f"/api/plans/{plan_id}/recommendations",
        {
            "number": 1,
            "area": "Early Help and Protection",
            "text": "Review processes within the duty team",
            "leads": ["PK"],
            "partners": ["Police"],
            "actions": [
                {"description": "Develop project plan", "owners": ["PK"], "due_on": "2016-03-31"},
                {"description": "Agree IT changes", "owners": ["PK", "SK"], "due_on": None},
            ],
        },
    )
    assert r.status_code == 200, r.json
    return r.json
