"""The inspector's trail, a history and the verification panel, and an auditor's finding
in a learning week, in a real browser."""

from __future__ import annotations

from datetime import date, timedelta

import requests
from playwright.sync_api import expect

from tests.e2e.browser import *  # noqa: F403
from tests.e2e.browser import BROWSER_TESTS, check

pytestmark = BROWSER_TESTS


def test_an_inspector_reads_filters_and_verifies_the_trail(signed_in, site):
    page = signed_in("inspector")
    page.get_by_role("link", name="Trail", exact=True).first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Trail")
    expect(page.get_by_text("Plan created:").first).to_be_visible()
    check(page, "trail")

    page.get_by_label("Kind of record").select_option("audit")
    page.get_by_label("What happened").select_option("Recorded")
    page.get_by_role("button", name="Apply filters").click()
    expect(page.get_by_role("heading", name="2 entries match these filters")).to_be_visible()
    expect(page.get_by_text("Recorded late").first).to_be_visible()
    check(page, "trail-filtered")

    page.get_by_role("link", name="History of this audit").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("History of this audit")
    expect(page.get_by_text("Version 1: Recorded")).to_be_visible()
    check(page, "trail-history")

    page.goto(f"{site['base']}/trail/verify")
    page.get_by_role("button", name="Verify now").click()
    expect(page.get_by_text("Verified: the trail is intact")).to_be_visible(timeout=30_000)
    expect(page.locator(".govuk-panel__body")).to_contain_text("Chain verified to position")
    check(page, "trail-verify")


def test_an_auditor_adds_a_finding_to_a_learning_week(signed_in, site):
    manager = {"Authorization": f"Bearer {site['tokens']['manager']}"}
    today = date.today()
    opened = requests.post(
        f"{site['base']}/api/learning-weeks",
        json={
            "title": "Listening and Learning week, spring",
            "starts_on": (today - timedelta(days=1)).isoformat(),
            "ends_on": (today + timedelta(days=3)).isoformat(),
        },
        headers=manager,
        timeout=30,
    )
    assert opened.status_code == 201, opened.text
    page = signed_in("auditor")
    page.get_by_role("link", name="Learning weeks", exact=True).first.click()
    check(page, "learning-weeks")
    page.get_by_role("link", name="Listening and Learning week, spring").click()
    page.get_by_role("button", name="Record the finding").click()  # nothing filled in
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_contain_text("Enter the finding's theme")
    check(page, "learning-week-finding-refused")
    page.get_by_label("Something going well").check()
    page.get_by_label("Theme").fill("voice of the child")
    page.get_by_label("The finding").fill("Children's wishes are written in their own words")
    page.get_by_role("button", name="Record the finding").click()
    expect(page.get_by_text("The finding was recorded.")).to_be_visible()
    expect(page.get_by_text("Children's wishes are written in their own words")).to_be_visible()
    check(page, "learning-week")
