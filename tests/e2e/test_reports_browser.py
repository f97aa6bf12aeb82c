"""The reports in a real browser: choose a plan and a quarter, read the report (axe, no
CSP violation, no console error), print it (print media: the toolbar gone, a footer on
each page), and the six-monthly report from its month inputs."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.e2e.browser import *  # noqa: F403
from tests.e2e.browser import ARTEFACTS, BROWSER_TESTS, check

pytestmark = BROWSER_TESTS


def test_a_reader_chooses_a_quarter_and_reads_and_prints_the_report(signed_in, site):
    page = signed_in("inspector")
    page.get_by_role("link", name="Reports").first.click()
    expect(page.get_by_role("heading", level=1, name="Reports")).to_be_visible()
    check(page, "reports")

    page.get_by_label("Quarter", exact=True).fill("Q9 2016")
    page.get_by_role("button", name="View the quarterly report").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("The quarter must be")
    check(page, "reports-error")

    page.get_by_label(re.compile("Post-Ofsted Inspection Improvement Plan")).check()
    page.get_by_label("Quarter", exact=True).fill("Q1 2016/17")
    page.locator("#known_at").fill("2099-01-01T09:00")
    page.get_by_role("button", name="View the quarterly report").click()
    expect(page).to_have_title(re.compile("quarterly monitoring report, Q1 2016/17"))
    expect(
        page.get_by_text("Quarterly monitoring report, Q1 2016/17 (April to June 2016)")
    ).to_be_visible()
    expect(page.locator(".qa-recommendation")).to_have_count(9)
    expect(page.locator(".qa-area")).to_have_count(3)
    toolbar = page.get_by_role("navigation", name="Report")
    for name in ("Back to reports", "Print", "Download PDF", "Download spreadsheet (XLSX)"):
        expect(toolbar.get_by_role("link", name=name)).to_be_visible()
    expect(page.locator(".qa-footer")).to_be_hidden()  # on paper only
    check(page, "report-quarterly")

    page.emulate_media(media="print")
    expect(toolbar).to_be_hidden()
    expect(page.locator(".qa-footer")).to_be_visible()
    expect(page.locator(".qa-footer")).to_contain_text("As of 30 June 2016")
    ARTEFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTEFACTS / "report-quarterly-print.png"), full_page=True)
    printed = page.pdf(prefer_css_page_size=True)  # the browser's own print of the page
    (ARTEFACTS / "report-quarterly-browser-print.pdf").write_bytes(printed)
    page.emulate_media(media="screen")

    page.evaluate("window.print = () => { window.qaPrinted = true; }")  # no dialog in a test
    toolbar.get_by_role("link", name="Print").click()  # report.js: the dialog, not the PDF
    assert page.evaluate("window.qaPrinted") is True

    with page.expect_download() as download:
        toolbar.get_by_role("link", name="Download PDF").click()
    assert download.value.suggested_filename == (
        "monitoring-report-Q1-2016-17-as-known-2099-01-01-0900.pdf"
    )
    toolbar.get_by_role("link", name="Back to reports").click()
    expect(page.get_by_label("Quarter", exact=True)).to_have_value("Q1 2016/17")
    expect(page.locator("#known_at")).to_have_value("2099-01-01T09:00")


def test_the_six_monthly_report_from_two_months(signed_in, site):
    page = signed_in("auditor")
    page.goto(f"{site['base']}/reports")
    page.get_by_label("First month").fill("2019-01")
    page.get_by_label("Last month").fill("2019-06")
    page.get_by_role("button", name="View the six-monthly report").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Six-monthly quality assurance report"
    )
    expect(page.locator(".qa-subtitle")).to_have_text("January 2019 to June 2019")
    expect(page.locator("#audits")).to_contain_text("2 audits")
    check(page, "report-six-monthly")

    # On a phone: the page fits the screen; wide tables scroll inside themselves.
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    check(page, "report-six-monthly-narrow")
