"""Signing in, the home page and signing out, in a real browser, for every role."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.browser import *  # noqa: F403
from tests.e2e.browser import BROWSER_TESTS, check

pytestmark = BROWSER_TESTS


@pytest.mark.parametrize("role", ["manager", "auditor", "inspector", "admin"])
def test_each_role_signs_in_to_their_home_page_and_out_again(signed_in, role):
    page = signed_in(role)
    heading = {"manager": "Manager", "auditor": "Auditor", "inspector": "Inspector",
               "admin": "Administrator"}[role]  # fmt: skip
    expect(page.get_by_role("heading", level=1)).to_have_text(f"{heading}: what you can do here")
    check(page, f"home-{role}")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You have signed out.")).to_be_visible()
    check(page, "sign-in")


def test_a_wrong_password_shows_the_error_summary_linked_to_the_field(signed_in, site, browser):
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{site['base']}/sign-in")
    page.get_by_label("Name").fill("Mo Manager")
    page.get_by_label("Password", exact=True).fill("not the password at all")
    page.get_by_role("button", name="Sign in").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_contain_text("The name or the password is not right")
    summary.get_by_role("link").click()
    expect(page.locator("#password")).to_be_focused()
    context.close()


def test_the_pages_no_other_browser_test_opens_pass_axe_too(signed_in, site):
    """Every page is checked in the browser somewhere; these are the ones the task tests
    do not walk through: correcting and withdrawing an audit, the pack form, the
    history of an audit, and the not-found page."""
    audit = site["audit_ids"][0]
    page = signed_in("auditor")
    for path, name, heading in (
        (f"/audits/{audit}/correct", "audit-correct", "Correct"),
        (f"/audits/{audit}/withdraw", "audit-withdraw", "Withdraw"),
        ("/no-such-page", "not-found", "Page not found"),
    ):
        page.goto(f"{site['base']}{path}")
        expect(page.get_by_role("heading", level=1)).to_contain_text(heading)
        check(page, name, error_page=name == "not-found")
    inspector = signed_in("inspector")
    for path, name in (
        ("/trail/pack", "trail-pack"),
        (f"/history/audit/{audit}", "audit-history"),
        (f"/plans/{site['plan_id']}/reviews", "plan-review-forbidden"),
    ):
        inspector.goto(f"{site['base']}{path}")
        expect(inspector.get_by_role("heading", level=1)).to_be_visible()
        check(inspector, name, error_page=name.endswith("forbidden"))
