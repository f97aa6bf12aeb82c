"""The audit pages in a real browser: an auditor records an audit through the form (a
refused attempt first, with the field's message), adds and removes an action row, and
finds the audit on the register with its charts; a manager moderates one."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.e2e.browser import *  # noqa: F403
from tests.e2e.browser import BROWSER_TESTS, check

pytestmark = BROWSER_TESTS

REFUSED = "an audit graded inadequate must raise at least one action for the child"


def test_an_auditor_records_an_audit_through_the_form_and_finds_it_on_the_register(signed_in):
    page = signed_in("auditor")
    page.get_by_role("link", name="Record an audit").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Record a case audit")
    check(page, "audit-new")

    page.get_by_label("Case reference").fill("CS-777001")
    page.get_by_label("Service area").select_option(label="Children in need")
    page.get_by_label("Core").check()
    page.get_by_label("Audited on").fill("2019-03-04")
    page.get_by_label("Voice of the child").select_option(label="Inadequate")
    page.get_by_label("Planning").select_option(label="Requires improvement")
    page.get_by_role("radio", name="Inadequate").check()
    page.get_by_label("What is going well (strengths)").fill(
        "Visits are regular\nThe GP is involved"
    )
    page.get_by_label("Areas for improvement").fill("The child is not seen alone")
    # Enter in a field sends the form as "Record audit" (never "Remove" or "Add").
    page.get_by_label("Case reference").press("Enter")

    summary = page.locator(".govuk-error-summary")
    expect(summary).to_contain_text(REFUSED)
    expect(page.locator("#actions-error")).to_contain_text(REFUSED)
    expect(page.get_by_label("Case reference")).to_have_value("CS-777001")
    check(page, "audit-new-errors")
    summary.get_by_role("link").click()
    expect(page.locator("#actions-0-description")).to_be_focused()

    page.locator("#actions-0-description").fill("See the child alone and record their views")
    page.locator("#actions-0-owners").fill("Team manager CIN1")
    page.locator("#actions-0-due_on").fill("2019-04-01")
    page.get_by_role("button", name="Add another action").click()
    expect(page.locator("#actions-1-description")).to_be_visible()
    expect(page.locator("#actions-0-description")).to_have_value(
        "See the child alone and record their views"
    )
    page.get_by_role("button", name="Remove action 2").click()
    expect(page.locator("#actions-1-description")).to_have_count(0)
    page.get_by_role("button", name="Record audit").click()

    expect(page.locator(".govuk-notification-banner")).to_contain_text("Audit recorded.")
    expect(page.get_by_role("heading", level=1)).to_have_text("Audit of case CS-777001")
    expect(
        page.get_by_role("link", name="See the child alone and record their views")
    ).to_be_visible()
    check(page, "audit")

    page.get_by_role("link", name="Audits", exact=True).click()
    expect(page.locator("main")).to_contain_text("Your recent audits")
    expect(page.get_by_role("link", name="CS-777001").first).to_be_visible()
    expect(page.locator("svg.qa-chart").first).to_be_visible()
    check(page, "audit-register")

    page.get_by_label("Service area").select_option(label="Children in need")
    page.get_by_role("button", name="Show audits").click()
    expect(page).to_have_url(re.compile(r"service_area=children_in_need"))
    expect(page.locator("main")).to_contain_text("1 audit, as of")


def test_a_manager_moderates_an_audit(signed_in, site):
    page = signed_in("manager")
    page.goto(f"{site['base']}/audits/{site['audit_ids'][0]}")
    page.get_by_role("button", name="Moderate this audit").click()
    page.get_by_role("button", name="Record moderation").click()
    expect(page.locator("#grade-error")).to_contain_text("Grade is required")
    check(page, "audit-moderate-errors")
    page.get_by_role("radio", name="Requires improvement").check()
    page.get_by_label("Rationale").fill("The plan has no timescales")
    page.get_by_role("button", name="Record moderation").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("Audit moderated.")
    expect(page.locator("main")).to_contain_text("Grade changed by Mo Manager")
