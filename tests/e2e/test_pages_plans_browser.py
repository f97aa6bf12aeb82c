"""The manager's plan pages in a real browser: the dashboard, its date picker, and an
action's status changed through its form."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.e2e.browser import *  # noqa: F403
from tests.e2e.browser import ARTEFACTS, BROWSER_TESTS, check

pytestmark = BROWSER_TESTS


def counts(page) -> dict[str, str]:
    terms = page.locator("#counts dt").all_inner_texts()
    values = page.locator("#counts dd").all_inner_texts()
    return dict(zip(terms, values, strict=True))


def test_the_dashboard_redraws_the_plan_as_it_was_on_a_past_date(signed_in, site):
    page = signed_in("manager")
    page.get_by_role("link", name="Improvement plans").first.click()
    check(page, "plans")
    page.get_by_role("link", name=re.compile("Post-Ofsted Inspection Improvement Plan")).click()
    expect(
        page.get_by_role("heading", level=2, name="A. Early Help and Protection")
    ).to_be_visible()
    check(page, "plan-dashboard")
    today = counts(page)

    page.get_by_label("As of (date)").fill("2016-06-30")
    page.get_by_role("button", name="Show the plan then").click()
    banner = page.locator(".govuk-notification-banner")
    expect(banner).to_contain_text("Showing the plan as it was on 30 June 2016.")
    past = counts(page)
    assert past["Actions"] == today["Actions"] and past["Overdue"] != today["Overdue"]
    expect(page.get_by_label("As of (date)")).to_have_value("2016-06-30")
    check(page, "plan-dashboard-past")
    banner.get_by_role("link", name="Show the plan as it is today").click()
    expect(page.locator(".govuk-notification-banner")).to_have_count(0)


def test_a_manager_changes_a_status_and_records_a_review_through_the_forms(signed_in, site):
    page = signed_in("manager")
    page.goto(f"{site['base']}/plans/{site['plan_id']}")
    page.get_by_role("link", name="Develop project plan for review of Referral").click()
    check(page, "action")
    page.get_by_role("button", name="Change the status").click()  # no status chosen
    expect(page.locator(".govuk-error-summary")).to_be_visible()
    check(page, "action-refused")
    page.get_by_label("Completed").check()
    page.locator("#status-effective_on").fill("2016-03-30")
    page.get_by_role("button", name="Change the status").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("Status changed.")
    expect(page.locator(".govuk-summary-list")).to_contain_text("Completed")
    check(page, "action-changed")
    page.get_by_role("link", name="Back to the plan").click()
    expect(page.locator("#counts dd").nth(1)).to_have_text("1")
    page.goto(f"{site['base']}/actions?owner=PK")
    check(page, "tracker")

    # A quarterly review: its RAG ratings shown in words on the dashboard.
    page.goto(f"{site['base']}/plans/{site['plan_id']}")
    page.get_by_role("link", name="Record a quarterly review of recommendation 1").click()
    page.get_by_label("Quarter").fill("2016-Q2")
    page.get_by_role("group", name="Progress of the actions (RAG)").get_by_label("Amber").check()
    page.get_by_role("group", name="Impact (RAG)").get_by_label("Green").check()
    page.get_by_label("Commentary").fill("The review of the duty team is under way.")
    page.get_by_label("Date of the review").fill("2016-06-30")
    check(page, "plan-review")
    page.get_by_role("button", name="Record the review").click()
    section = page.locator("section", has=page.get_by_role("heading", name="Recommendation 1"))
    expect(section).to_contain_text("Amber")
    expect(section).to_contain_text("Green")
    ARTEFACTS.mkdir(exist_ok=True)
    section.screenshot(path=str(ARTEFACTS / "plan-recommendation-reviewed.png"))
