"""What each kind of user does, through HTTP, on both stores."""

from __future__ import annotations

from tests.e2e.builders import audit_body, make_plan, remedial_action


def test_an_auditor_records_an_audit_and_anyone_reads_it(auditor, inspector):
    created = auditor.post(
        "/api/audits", audit_body(actions=[remedial_action()], overall_grade="requires_improvement")
    )
    assert created.status_code == 201, created.json
    assert created.headers["Location"] == f"/api/audits/{created.json['id']}"
    read = inspector.get(created.headers["Location"])
    assert read.status_code == 200
    audit = read.json
    assert audit["case_ref"] == "CS-104233"
    assert audit["grade"] == "requires_improvement"
    assert audit["auditor"] == "auditor-1"
    assert audit["version"] == 1
    assert [a["description"] for a in audit["actions"]] == [
        "Update the child protection plan with timescales"
    ]
    action = audit["actions"][0]
    assert action["origin"] == "audit"
    assert action["status"] == "not_started"
    assert action["audit_id"] == audit["id"]


def test_an_inadequate_audit_without_an_action_is_refused_and_nothing_is_written(auditor, service):
    before = service.commands.recorder.max_notification_id()
    r = auditor.post("/api/audits", audit_body(overall_grade="inadequate"))
    assert r.status_code == 422
    assert "actions" in r.json["errors"]["json"]
    assert "at least one action" in r.json["errors"]["json"]["actions"][0]
    assert service.commands.recorder.max_notification_id() == before


def test_an_inadequate_audit_with_its_action_is_saved_with_the_action(auditor):
    r = auditor.post(
        "/api/audits", audit_body(overall_grade="inadequate", actions=[remedial_action()])
    )
    assert r.status_code == 201, r.json
    assert r.json["grade"] == "inadequate"
    assert len(r.json["actions"]) == 1


def test_a_manager_moderates_and_the_moderated_grade_is_the_grade(auditor, manager):
    audit = auditor.post("/api/audits", audit_body()).json
    r = manager.post(
        f"/api/audits/{audit['id']}/moderation",
        {"grade": "requires_improvement", "rationale": "Plans lack timescales"},
        headers={"If-Match": '"1"'},
    )
    assert r.status_code == 200, r.json
    assert r.json["grade"] == "requires_improvement"
    assert r.json["auditor_grade"] == "good"
    assert r.json["moderation"]["moderator"] == "manager-1"
    assert r.json["version"] == 2


def test_moderating_down_to_inadequate_needs_an_action(auditor, manager):
    audit = auditor.post("/api/audits", audit_body()).json
    path = f"/api/audits/{audit['id']}/moderation"
    refused = manager.post(path, {"grade": "inadequate", "rationale": "Child left at risk"})
    assert refused.status_code == 422
    assert "grade" in refused.json["errors"]["json"]
    ok = manager.post(
        path,
        {
            "grade": "inadequate",
            "rationale": "Child left at risk",
            "effective_on": "2019-01-20",
            "actions": [remedial_action()],
        },
    )
    assert ok.status_code == 200, ok.json
    assert ok.json["grade"] == "inadequate"
    assert len(ok.json["actions"]) == 1


def test_an_auditor_corrects_their_audit_with_a_reason(auditor, as_role, service):
    audit = auditor.post("/api/audits", audit_body()).json
    path = f"/api/audits/{audit['id']}/corrections"
    r = auditor.post(path, {"changes": {"service_area": "children_in_need"}, "reason": "Typo"})
    assert r.status_code == 200, r.json
    assert r.json["service_area"] == "children_in_need"
    assert r.json["corrections"] == 1
    no_reason = auditor.post(path, {"changes": {"service_area": "early_help"}})
    assert no_reason.status_code == 422
    assert "reason" in no_reason.json["errors"]["json"]
    # Another auditor may not correct someone else's record.
    other = service.accounts.add("auditor-2", "auditor")
    from tests.conftest import Client

    stranger = Client(auditor.flask_client, other)
    r = stranger.post(path, {"changes": {"service_area": "early_help"}, "reason": "mine now"})
    assert r.status_code == 403


def test_a_withdrawn_audit_cannot_be_changed(auditor, manager):
    audit = auditor.post("/api/audits", audit_body()).json
    r = auditor.post(f"/api/audits/{audit['id']}/withdrawal", {"reason": "Wrong child's file"})
    assert r.status_code == 200
    assert r.json["withdrawn"]["reason"] == "Wrong child's file"
    r = manager.post(
        f"/api/audits/{audit['id']}/moderation", {"grade": "good", "rationale": "fine"}
    )
    assert r.status_code == 409
    assert "withdrawn" in r.json["message"]


def test_a_manager_builds_a_plan_and_reads_its_tree(manager, inspector):
    plan = make_plan(manager)
    tree = inspector.get(f"/api/plans/{plan['id']}").json
    assert [lead["initials"] for lead in tree["leads"]] == ["PK", "SK"]
    (rec,) = tree["recommendations"]
    assert rec["number"] == 1
    assert rec["leads"] == ["PK"]
    first, second = rec["actions"]
    assert first["due_on"] == "2016-03-31"
    assert first["overdue"] is True  # due in 2016, not completed
    assert second["due_on"] is None
    assert second["due_to_be_confirmed"] is True
    assert second["overdue"] is False
    assert tree["counts"] == {"actions": 2, "completed": 0, "overdue": 1}


def test_plan_action_owners_must_be_key_leads(manager):
    plan = make_plan(manager)
    r = manager.post(
        "/api/actions",
        {
            "plan_id": plan["id"],
            "recommendation": 1,
            "description": "Audit the front door",
            "owners": ["PK", "ZZ"],
            "due_on": "2016-06-30",
        },
    )
    assert r.status_code == 422
    assert "'ZZ' is not a key lead" in r.json["errors"]["json"]["owners"][0]


def test_an_action_moves_through_its_lifecycle(manager):
    plan = make_plan(manager)
    action = plan["recommendations"][0]["actions"][0]
    path = f"/api/actions/{action['id']}"
    r = manager.post(f"{path}/status", {"status": "in_progress", "effective_on": "2016-02-10"})
    assert r.status_code == 200, r.json
    assert r.json["status"] == "in_progress"
    r = manager.post(f"{path}/status", {"status": "completed", "effective_on": "2016-03-20"})
    assert r.json["status"] == "completed"
    assert r.json["overdue"] is False
    # Reopening needs a reason.
    r = manager.post(f"{path}/status", {"status": "in_progress", "effective_on": "2016-04-01"})
    assert r.status_code == 422
    assert "reason" in r.json["errors"]["json"]
    r = manager.post(
        f"{path}/status",
        {"status": "in_progress", "effective_on": "2016-04-01", "reason": "Not embedded"},
    )
    assert r.status_code == 200
    assert r.json["status_reason"] == "Not embedded"
    # An effective date before the last change is refused.
    r = manager.post(f"{path}/status", {"status": "completed", "effective_on": "2016-03-01"})
    assert r.status_code == 422
    assert "effective_on" in r.json["errors"]["json"]


def test_cancelling_needs_a_reason_and_a_move_to_the_same_status_conflicts(manager):
    plan = make_plan(manager)
    action = plan["recommendations"][0]["actions"][0]
    path = f"/api/actions/{action['id']}/status"
    r = manager.post(path, {"status": "cancelled"})
    assert r.status_code == 422
    assert r.json["errors"]["json"]["reason"] == ["a reason is required when cancelling an action"]
    r = manager.post(path, {"status": "not_started", "reason": "still not started"})
    assert r.status_code == 409
    assert r.json["message"] == "the action is already not_started"


def test_reschedule_and_reassign_need_reasons(manager):
    plan = make_plan(manager)
    action = plan["recommendations"][0]["actions"][1]
    path = f"/api/actions/{action['id']}"
    r = manager.post(f"{path}/reschedule", {"due_on": "2016-09-30"})
    assert r.status_code == 422
    assert "reason" in r.json["errors"]["json"]
    r = manager.post(
        f"{path}/reschedule", {"due_on": "2016-09-30", "reason": "IT provider confirmed"}
    )
    assert r.status_code == 200
    assert r.json["due_on"] == "2016-09-30"
    r = manager.post(f"{path}/owners", {"owners": ["SK"], "reason": "PK moved post"})
    assert r.status_code == 200
    assert r.json["owners"] == ["SK"]
    r = manager.post(f"{path}/owners", {"owners": ["XY"], "reason": "typo"})
    assert r.status_code == 422


def test_quarterly_reviews_show_as_the_latest_review(manager):
    plan = make_plan(manager)
    path = f"/api/plans/{plan['id']}/reviews"
    for quarter, progress in (("2016-Q1", "amber"), ("2016-Q2", "green")):
        r = manager.post(
            path,
            {
                "recommendation": 1,
                "quarter": quarter,
                "progress": progress,
                "impact": "amber",
                "commentary": "MASH go-live slipped",
                "effective_on": "2016-07-05",
            },
        )
        assert r.status_code == 200, r.json
    latest = r.json["recommendations"][0]["latest_review"]
    assert latest["quarter"] == "2016-Q2"
    assert latest["progress"] == "green"
    r = manager.post(
        path,
        {"recommendation": 9, "quarter": "2016-Q2", "progress": "pink", "impact": "red"},
    )
    assert r.status_code == 422
    assert set(r.json["errors"]["json"]) == {"progress"}
    r = manager.post(
        path, {"recommendation": 9, "quarter": "2016-Q2", "progress": "red", "impact": "red"}
    )
    assert r.status_code == 422
    assert "no recommendation 9" in r.json["errors"]["json"]["recommendation"][0]


def test_a_learning_week_collects_audits_feedback_and_findings(manager, auditor):
    week = manager.post(
        "/api/learning-weeks",
        {"title": "December 2018", "starts_on": "2018-12-03", "ends_on": "2018-12-07"},
    )
    assert week.status_code == 201, week.json
    week_id = week.json["id"]
    r = auditor.post(
        "/api/audits",
        audit_body(audit_type="learning_week", learning_week_id=week_id, audited_on="2018-12-04"),
    )
    assert r.status_code == 201, r.json
    r = auditor.post(
        f"/api/learning-weeks/{week_id}/feedback",
        {"respondent": "parent", "satisfaction": 8, "knew_why_involved": True},
    )
    assert r.status_code == 200, r.json
    r = auditor.post(
        f"/api/learning-weeks/{week_id}/findings",
        {"kind": "strength", "theme": "voice of the child", "text": "Children are seen alone"},
    )
    assert r.status_code == 200, r.json
    summary = r.json
    assert summary["audits"] == 1
    assert summary["good_or_better"] == 1
    assert summary["feedback_count"] == 1
    assert summary["mean_satisfaction"] == 8.0
    assert [f["text"] for f in summary["findings"]["strength"]] == ["Children are seen alone"]
    assert summary["findings"]["improvement"] == []
    assert summary["share_knew_why_involved"] == 1.0
    assert summary["grades"]["good"] == 1
    closed = manager.post(f"/api/learning-weeks/{week_id}/closure", {})
    assert closed.status_code == 200
    late = auditor.post(
        f"/api/learning-weeks/{week_id}/feedback",
        {"respondent": "child", "satisfaction": 5, "knew_why_involved": False},
    )
    assert late.status_code == 409


def test_health_reports_events_and_each_read_models_lag(as_role, auditor):
    auditor.post("/api/audits", audit_body())
    health = as_role(None).get("/api/health").json
    assert health["status"] == "ok"
    assert health["events"] >= 1
    assert set(health["projections"]) == {"actions", "audits", "plans", "learning_weeks", "trail"}
    assert all(
        p["lag"] == 0 and p["position"] == health["events"] for p in health["projections"].values()
    )


def test_reads_as_of_a_date_before_a_thing_existed_answer_404(auditor):
    audit = auditor.post("/api/audits", audit_body(audited_on="2019-01-15")).json
    r = auditor.get(f"/api/audits/{audit['id']}?as_of=2019-01-14")
    assert r.status_code == 404
    assert "on 2019-01-14" in r.json["message"]
    r = auditor.get(f"/api/audits/{audit['id']}?as_of=2019-01-15")
    assert r.status_code == 200
    assert r.json["as_of"] == "2019-01-15"
    r = auditor.get(f"/api/audits/{audit['id']}?known_at=2019-01-16T00:00:00")
    assert r.status_code == 404  # recorded today, so not known then
    r = auditor.get(f"/api/audits/{audit['id']}?as_of=2019-02-30")
    assert r.status_code == 422
    assert r.json["errors"]["query"]["as_of"] == ["there is no 30 February 2019"]


def test_the_audit_register_filters_pages_and_counts_grades(auditor, manager):
    for i, (grade, area) in enumerate(
        [
            ("good", "early_help"),
            ("good", "child_protection"),
            ("requires_improvement", "early_help"),
        ]
    ):
        auditor.post(
            "/api/audits",
            audit_body(case_ref=f"CS-{i + 10}", overall_grade=grade, service_area=area),
        )
    register = auditor.get("/api/audits?service_area=early_help&page_size=1").json
    assert register["total"] == 2
    assert len(register["items"]) == 1
    overall = register["distribution"]["overall"]
    assert overall["counts"]["good"] == 1 and overall["counts"]["requires_improvement"] == 1
    assert overall["good_or_better"] == 0.5
    assert register["distribution"]["quarter"][0]["key"] == "2019-Q1"
    everything = auditor.get("/api/audits").json["distribution"]
    assert [row["key"] for row in everything["service_area"]] == ["child_protection", "early_help"]
