"""The API docs page (/api/docs) in a real browser, under the real security headers: Swagger
UI draws the operations, its Authorize dialog opens, "Try it out" reaches the API, and the
Content-Security-Policy blocks nothing the page needs.

The browser is Debian's Chromium (``apt-get install chromium``), driven by Playwright at
``/usr/bin/chromium``; Playwright's own browser downloads are never used. The page does not
depend on the store, so this runs on SQLite only.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect, sync_playwright

from tests.e2e.test_server import run, server  # noqa: F401  (the real gunicorn server)

CHROMIUM = Path("/usr/bin/chromium")

pytestmark = [
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason=f"no browser: {CHROMIUM} is missing (apt-get install chromium)",
    ),
    pytest.mark.parametrize("store", ["sqlite"]),
    pytest.mark.slow,
]

# Recorded by the browser itself, before any of the page's scripts (Playwright's init
# scripts are not subject to the page's CSP), whatever the console says about them.
WATCH_CSP = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI || "(inline)"}`);
});
"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield chromium
        chromium.close()


class Problems(list):
    """Console errors and uncaught exceptions on the page, in the order they happened."""

    def console(self, message: ConsoleMessage) -> None:
        # The browser asks every site for /favicon.ico by itself; the service has none
        # (a 404), which is neither the page's doing nor the policy's.
        if message.type == "error" and not message.location["url"].endswith("/favicon.ico"):
            self.append(f"console: {message.text}")


@pytest.fixture
def docs(browser: Browser, server: str) -> Iterator[tuple[Page, Problems]]:  # noqa: F811
    """The docs page, loaded and drawn, with everything that went wrong on it."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)  # a local server: anything slower is broken
    problems = Problems()
    page.on("console", problems.console)
    page.on("pageerror", lambda error: problems.append(f"uncaught: {error}"))
    page.add_init_script(WATCH_CSP)
    page.goto(f"{server}/api/docs", wait_until="networkidle")
    yield page, problems
    context.close()


def assert_nothing_went_wrong(page: Page, problems: Problems) -> None:
    # A CSP violation is also a console error (Chromium 156: "... violates the following
    # Content Security Policy directive ..."; older ones: "Refused to ..."), but its event
    # is the browser's own record, whatever the wording.
    assert page.evaluate("window.__cspViolations") == []
    assert problems == []


def operation(page: Page, method: str, path: str):
    """One operation's block in Swagger UI, e.g. ``operation(page, "POST", "/api/audits")``."""
    summary = page.locator(f".opblock-summary-path[data-path='{path}']")
    return page.locator(f".opblock.opblock-{method.lower()}").filter(has=summary)


def test_the_docs_page_draws_every_operation_with_nothing_blocked(docs):
    page, problems = docs
    assert_nothing_went_wrong(page, problems)  # first, so that a blocked file is named
    expect(page).to_have_title("QA log")
    expect(page.locator(".info .title")).to_contain_text("QA log")
    # The tags with their descriptions, and the operations under them.
    expect(page.locator(".opblock-tag", has_text="Case file audits")).to_be_visible()
    expect(page.locator(".opblock-tag", has_text="Liveness")).to_be_visible()
    post_audits = operation(page, "POST", "/api/audits")
    expect(post_audits).to_be_visible()
    expect(post_audits).to_contain_text("Record a case audit")
    expect(operation(page, "GET", "/api/health")).to_have_count(1)
    assert page.locator(".opblock").count() > 20
    # Swagger UI's stylesheet applies (a POST is drawn green), not a bare HTML page.
    expect(post_audits).to_have_css("border-color", "rgb(73, 204, 144)")
    expect(page.get_by_role("button", name="Authorize").first).to_be_visible()
    assert_nothing_went_wrong(page, problems)
    page.screenshot(path="/tmp/docs.png", full_page=False)


def test_try_it_out_reaches_the_api_signed_out_and_signed_in(docs, settings):
    page, problems = docs
    health = operation(page, "GET", "/api/health")
    health.locator(".opblock-summary").click()
    health.get_by_role("button", name="Try it out").click()
    health.get_by_role("button", name="Execute").click()
    answer = health.locator(".live-responses-table")
    expect(answer.locator("td.response-col_status:not(.col_header)")).to_have_text("200")
    expect(answer).to_contain_text('"status": "ok"')

    # Signed in through the Authorize dialog: the token goes with the next request.
    token = run(settings, "users", "add", "ann", "--role", "auditor").stdout.split()[-1]
    page.get_by_role("button", name="Authorize").first.click()
    dialog = page.locator(".modal-ux")
    expect(dialog).to_contain_text("bearer")
    dialog.locator("input").fill(token)
    dialog.get_by_role("button", name="Authorize", exact=True).click()
    dialog.get_by_role("button", name="Close").click()
    audits = operation(page, "GET", "/api/audits")
    audits.locator(".opblock-summary").click()
    audits.get_by_role("button", name="Try it out").click()
    audits.get_by_role("button", name="Execute").click()
    answer = audits.locator(".live-responses-table")
    expect(answer.locator("td.response-col_status:not(.col_header)")).to_have_text("200")
    assert_nothing_went_wrong(page, problems)
