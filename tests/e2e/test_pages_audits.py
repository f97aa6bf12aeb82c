"""The audit pages through Flask's test client, on both stores: recording an audit in the
form (with action rows added and removed without JavaScript), the register, an audit's
page with its history, and correcting, withdrawing and moderating one."""

from __future__ import annotations

import html
import re
from typing import Any
from uuid import UUID

import pytest

from tests.e2e.pages import csrf, person, sign_in, text


@pytest.fixture
def auditor_page(app, service):
    person(service, "Ann Auditor", "auditor")
    client = app.test_client()
    sign_in(client, "Ann Auditor")
    return client


def signed_in_as(app, service, name, role):
    person(service, name, role)
    client = app.test_client()
    sign_in(client, name)
    return client


def audit_form(page: Any, **fields: str) -> dict[str, str]:
    """What a person fills in on the new-audit form (one action row, left blank)."""
    data = {
        "csrf_token": csrf(page),
        "action_rows": "1",
        "case_ref": "CS-104233",
        "service_area": "child_protection",
        "audit_type": "core",
        "audited_on": "2019-01-15",
        "judgements-assessment": "good",
        "judgements-planning": "requires_improvement",
        "overall_grade": "good",
        "strengths": "The child's voice is clear in the assessment\n\nVisits are on time",
        "improvements": "Plan actions are not timebound",
        "actions-0-description": "",
        "actions-0-owners": "",
        "actions-0-due_on": "",
    }
    data.update(fields)
    return data


def field_error(page: Any, field_id: str) -> str:
    """The error message shown beside a field (GOV.UK's ``ID-error`` element)."""
    markup = page.get_data(as_text=True)
    found = re.search(rf'<p id="{re.escape(field_id)}-error"[^>]*>(.*?)</p>', markup, re.S)
    assert found, f"no error message beside {field_id}"
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(1))).strip())


def record(client: Any, **fields: str) -> Any:
    page = client.get("/audits/new")
    return client.post("/audits/new", data=audit_form(page, **fields))


def test_an_auditor_records_an_audit_and_sees_it_on_its_page_and_in_the_register(
    service, auditor_page
):
    form = auditor_page.get("/audits/new")
    assert form.status_code == 200
    assert "Record a case audit" in text(form)
    done = record(
        auditor_page,
        **{
            "actions-0-description": "Update the child protection plan with timescales",
            "actions-0-owners": "Team manager CP2, SK",
            "actions-0-due_on": "2019-02-15",
        },
    )
    assert done.status_code == 302, text(done)
    audit_id = UUID(done.headers["Location"].rsplit("/", 1)[-1])
    page = auditor_page.get(done.headers["Location"])
    shown = text(page)
    assert "Audit recorded." in shown  # the success banner
    assert "Child protection" in shown and "15 January 2019" in shown
    assert "Planning Requires improvement" in shown and "Visits Not judged" in shown
    assert "Visits are on time" in shown and "Plan actions are not timebound" in shown
    assert "Update the child protection plan with timescales" in shown
    assert "Team manager CP2, SK" in shown
    assert "Audit recorded: core audit of case CS-104233" in shown  # the history
    assert "Recorded late" in shown  # audited in 2019, recorded today
    assert "Audit recorded." not in text(auditor_page.get(f"/audits/{audit_id}"))

    stored = service.queries.audit(audit_id)
    assert stored["strengths"] == [
        "The child's voice is clear in the assessment",
        "Visits are on time",
    ]
    assert stored["judgements"] == {"assessment": "good", "planning": "requires_improvement"}
    assert stored["actions"][0]["owners"] == ["Team manager CP2", "SK"]

    register = text(auditor_page.get("/audits"))
    assert "Your recent audits" in register and "Ann Auditor (you)" in register
    assert "CS-104233" in register and "1 audit, as of" in register
    assert "Grade mix of audits by quarter" in register and "Moderation agreement" in register
    filtered = text(auditor_page.get("/audits?service_area=front_door"))
    assert "No audits match." in filtered
    bad = auditor_page.get("/audits?from=2019-02-31")
    assert "there is no 31 February 2019" in text(bad)


def test_an_inadequate_audit_without_an_action_is_refused_beside_the_actions(service, auditor_page):
    refused = record(auditor_page, overall_grade="inadequate")
    assert refused.status_code == 200
    message = (
        "Remedial actions: an audit graded inadequate must raise at least one action for the child"
    )
    assert field_error(refused, "actions") == f"Error: {message}"
    summary = refused.get_data(as_text=True)
    assert 'href="#actions-0-description"' in summary  # the summary links to the field
    assert "There is a problem" in text(refused)
    assert 'value="CS-104233"' in summary  # what was typed is kept
    assert service.queries.audits()["total"] == 0  # nothing half-saved
    assert service.queries.actions()["total"] == 0


def test_a_thematic_audit_without_a_theme_gets_the_domains_message(service, auditor_page):
    refused = record(auditor_page, audit_type="thematic")
    assert field_error(refused, "theme") == "Error: Theme: a thematic audit names its theme"
    assert service.queries.audits()["total"] == 0


def test_action_rows_are_added_and_removed_without_javascript_keeping_what_was_typed(
    service, auditor_page
):
    page = auditor_page.get("/audits/new")
    typed = audit_form(
        page,
        **{
            "actions-0-description": "First action",
            "actions-0-owners": "SK",
            "actions-0-due_on": "2019-03-01",
        },
    )
    added = auditor_page.post("/audits/new", data={**typed, "add_action": "1"})
    assert added.status_code == 200
    markup = added.get_data(as_text=True)
    assert 'name="action_rows" value="2"' in markup
    assert 'id="actions-1-description"' in markup and "First action" in markup
    assert 'value="CS-104233"' in markup and "Visits are on time" in markup
    assert "There is a problem" not in text(added)  # nothing checked yet

    two = {
        **typed,
        "action_rows": "2",
        "actions-1-description": "Second action",
        "actions-1-owners": "PK",
        "actions-1-due_on": "2019-04-01",
    }
    removed = auditor_page.post("/audits/new", data={**two, "remove_action": "0"})
    markup = removed.get_data(as_text=True)
    assert 'name="action_rows" value="1"' in markup
    assert "First action" not in markup and "Second action" in markup
    assert 'name="actions-0-description"' in markup and 'name="actions-1-description"' not in markup
    assert service.queries.audits()["total"] == 0  # only "Record audit" records

    kept = {
        **typed,
        "actions-0-description": "Second action",
        "actions-0-owners": "PK",
        "actions-0-due_on": "2019-04-01",
    }
    done = auditor_page.post("/audits/new", data=kept)
    assert done.status_code == 302
    (action,) = service.queries.actions()["items"]
    assert action["description"] == "Second action" and action["owners"] == ["PK"]


def test_a_control_character_or_a_too_long_text_gets_the_schemas_message(service, auditor_page):
    refused = record(
        auditor_page,
        case_ref="CS-1\x002",
        improvements="Fine\n" + "x" * 5001,
        **{
            "actions-0-description": "Check the plan",
            "actions-0-owners": "SK",
            "actions-0-due_on": "2019-02-31",
        },
    )
    assert refused.status_code == 200
    assert field_error(refused, "case_ref") == (
        "Error: Case reference must not contain control characters: U+0000 at character 5 "
        "(only tab and newline are allowed)"
    )
    assert field_error(refused, "improvements") == (
        "Error: Line 2 of the areas for improvement must be at most 5000 characters"
    )
    assert field_error(refused, "actions-0-due_on") == (
        "Error: Due date of action 1: there is no 31 February 2019"
    )
    markup = refused.get_data(as_text=True)
    for field in ("case_ref", "improvements", "actions-0-due_on"):
        assert f'href="#{field}"' in markup
    assert service.queries.audits()["total"] == 0


def test_an_error_in_a_later_action_row_is_shown_beside_that_row(service, auditor_page):
    page = auditor_page.get("/audits/new")
    data = audit_form(
        page,
        action_rows="3",
        overall_grade="inadequate",
        **{
            "actions-0-description": "First",
            "actions-0-owners": "SK",
            "actions-0-due_on": "2019-02-01",
            # row 1 left blank: it is no action
            "actions-2-description": "Third",
            "actions-2-owners": "",
            "actions-2-due_on": "2019-03-01",
        },
    )
    refused = auditor_page.post("/audits/new", data=data)
    assert refused.status_code == 200
    assert "owners" in field_error(refused, "actions-2-owners").lower()
    assert "Owners of action 3" in field_error(refused, "actions-2-owners")


def test_withdraw_and_moderate_show_on_the_page_and_in_the_history(app, service, auditor_page):
    done = record(auditor_page)
    audit_url = done.headers["Location"]
    manager = signed_in_as(app, service, "Mo Manager", "manager")

    form = manager.get(f"{audit_url}/moderate")
    assert form.status_code == 200 and 'name="expected_version" value="1"' in form.get_data(
        as_text=True
    )
    empty = manager.post(
        f"{audit_url}/moderate", data={"csrf_token": csrf(form), "expected_version": "1"}
    )
    assert field_error(empty, "grade") == "Error: Grade is required"
    moderated = manager.post(
        f"{audit_url}/moderate",
        data={
            "csrf_token": csrf(form),
            "expected_version": "1",
            "grade": "requires_improvement",
            "rationale": "Plans are not specific enough for good",
        },
    )
    assert moderated.status_code == 302
    page = text(manager.get(audit_url))
    assert "Audit moderated." in page
    assert "Grade changed by Mo Manager" in page
    assert "Plans are not specific enough for good" in page
    assert "Audit moderated: grade requires_improvement (changed from good)" in page

    # A form made from the first version is now stale: said plainly, nothing written.
    stale = manager.post(
        f"{audit_url}/withdraw",
        data={"csrf_token": csrf(form), "expected_version": "1", "reason": "A duplicate"},
    )
    assert stale.status_code == 200
    assert "it was changed since you read it" in text(stale)
    assert 'name="expected_version" value="2"' in stale.get_data(as_text=True)
    assert "A duplicate" in stale.get_data(as_text=True)  # what was typed is kept

    withdraw = auditor_page.get(f"{audit_url}/withdraw")
    withdrawn = auditor_page.post(
        f"{audit_url}/withdraw",
        data={"csrf_token": csrf(withdraw), "expected_version": "2", "reason": "A duplicate"},
    )
    assert withdrawn.status_code == 302
    page = text(auditor_page.get(audit_url))
    assert "Audit withdrawn." in page
    assert "Withdrawn on" in page and "by Ann Auditor: A duplicate" in page
    assert "Audit withdrawn Reason: A duplicate Ann Auditor (auditor)" in page
    assert "Withdraw this audit" not in page  # nothing more to do to it
    register = text(manager.get("/audits"))
    assert "No audits match." in register

    again = auditor_page.post(
        f"{audit_url}/withdraw",
        data={"csrf_token": csrf(withdraw), "expected_version": "3", "reason": "Again"},
    )
    assert "The audit was withdrawn; it can no longer be changed." in text(again)


def test_a_correction_changes_only_what_was_changed_with_a_reason(service, auditor_page):
    done = record(auditor_page)
    audit_url = done.headers["Location"]
    form = auditor_page.get(f"{audit_url}/correct")
    markup = form.get_data(as_text=True)
    assert 'value="CS-104233"' in markup and "Visits are on time" in markup
    unchanged = {
        "csrf_token": csrf(form),
        "expected_version": "1",
        "case_ref": "CS-104233",
        "service_area": "child_protection",
        "audited_on": "2019-01-15",
        "overall_grade": "good",
        "strengths": "The child's voice is clear in the assessment\r\nVisits are on time",
        "improvements": "Plan actions are not timebound",
        "reason": "",
    }
    nothing = auditor_page.post(f"{audit_url}/correct", data=unchanged)
    assert nothing.status_code == 200
    assert field_error(nothing, "reason") == "Error: Reason is required"
    unchanged["reason"] = "Checking"
    nothing = auditor_page.post(f"{audit_url}/correct", data=unchanged)
    assert nothing.status_code == 200
    assert "Name at least one field to correct" in text(nothing)
    corrected = auditor_page.post(
        f"{audit_url}/correct",
        data={**unchanged, "case_ref": "CS-104234", "reason": "Typo in the case number"},
    )
    assert corrected.status_code == 302
    page = html.unescape(text(auditor_page.get(audit_url)))
    assert "Audit corrected." in page and "Audit of case CS-104234" in page
    assert "Audit corrected: case_ref: 'CS-104233' to 'CS-104234'" in page
    assert "Reason: Typo in the case number" in page


def test_another_auditor_cannot_withdraw_an_audit_and_is_told_why(app, service, auditor_page):
    audit_url = record(auditor_page).headers["Location"]
    other = signed_in_as(app, service, "Bea Auditor", "auditor")
    page = text(other.get(audit_url))
    assert "Withdraw this audit" not in page and "Correct this audit" not in page
    form = other.get(f"{audit_url}/withdraw")
    refused = other.post(
        f"{audit_url}/withdraw",
        data={"csrf_token": csrf(form), "expected_version": "1", "reason": "Not mine"},
    )
    assert refused.status_code == 200
    assert (
        "Only the auditor who recorded this audit (Ann Auditor) or a manager may correct or "
        "withdraw it" in text(refused)
    )
    assert service.queries.audit(UUID(audit_url.rsplit("/", 1)[-1]))["withdrawn"] is None


def test_who_may_open_which_audit_page(app, service, auditor_page):
    audit_url = record(auditor_page).headers["Location"]
    inspector = signed_in_as(app, service, "Ian Inspector", "inspector")
    assert inspector.get("/audits/new").status_code == 403
    assert inspector.get(f"{audit_url}/withdraw").status_code == 403
    assert inspector.get(audit_url).status_code == 200
    assert "CS-104233" in text(inspector.get("/audits"))
    assert "Your recent audits" not in text(inspector.get("/audits"))
    assert auditor_page.get(f"{audit_url}/moderate").status_code == 403
    missing = auditor_page.get("/audits/00000000-0000-4000-8000-000000000000")
    assert missing.status_code == 404 and "There is no such audit" in text(missing)
    assert app.test_client().get("/audits").headers["Location"].startswith("/sign-in")


def test_a_form_without_its_csrf_token_is_refused_and_nothing_is_recorded(service, auditor_page):
    data = audit_form(auditor_page.get("/audits/new"))
    del data["csrf_token"]
    forged = auditor_page.post("/audits/new", data=data)
    assert forged.status_code == 400
    assert "The form had expired or did not come from this service" in text(forged)
    assert service.queries.audits()["total"] == 0


def test_a_learning_week_audit_names_its_week_from_the_list(service, auditor_page):
    from datetime import date

    from qa_service.application import Actor

    week_id = service.commands.open_learning_week(
        Actor("Mo Manager", "manager"),
        title="Spring learning week",
        starts_on=date(2019, 3, 4),
        ends_on=date(2019, 3, 8),
    )
    page = auditor_page.get("/audits/new")
    assert f'value="{week_id}"' in page.get_data(as_text=True)
    assert "Spring learning week (from 4 March 2019)" in text(page)
    refused = record(auditor_page, audit_type="learning_week", audited_on="2019-03-05")
    assert field_error(refused, "learning_week_id") == (
        "Error: Learning week: a learning_week audit names its learning week"
    )
    done = record(
        auditor_page,
        audit_type="learning_week",
        audited_on="2019-03-05",
        learning_week_id=str(week_id),
    )
    assert done.status_code == 302
    shown = text(auditor_page.get(done.headers["Location"]))
    assert "Learning week Spring learning week (from 4 March 2019)" in shown
