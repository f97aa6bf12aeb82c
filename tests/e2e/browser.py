"""The pages in a real browser, as their users use them: Debian's Chromium at
/usr/bin/chromium, driven by Playwright (never a downloaded browser), against the real
gunicorn server with the bundled 2016 plan and a few audits in it.

Use it from a test module::

    from tests.e2e.browser import *  # noqa: F403  (the fixtures)
    pytestmark = BROWSER_TESTS

    def test_something(signed_in):
        page = signed_in("manager")          # a signed-in Page for that role
        page.goto(url("/plans"))
        check(page, "plan-dashboard")        # axe (no serious or critical), no console
                                             # errors or CSP violations, a screenshot

Screenshots go to tests/artefacts/ (kept by CI as the pages' pictures).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

from tests.e2e.builders import audit_body, remedial_action
from tests.e2e.pages import PASSWORD
from tests.e2e.test_server import QA, cli_env, run, server  # noqa: F401

CHROMIUM = Path("/usr/bin/chromium")
ARTEFACTS = Path(__file__).resolve().parents[1] / "artefacts"
PEOPLE = {
    "manager": "Mo Manager",
    "auditor": "Ann Auditor",
    "inspector": "Ian Inspector",
    "admin": "Ada Admin",
}

BROWSER_TESTS = [
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason=f"no browser: {CHROMIUM} is missing (apt-get install chromium)",
    ),
    pytest.mark.parametrize("store", ["sqlite"]),  # the pages do not depend on the store
    pytest.mark.slow,
]

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


@pytest.fixture
def site(server: str, settings: Any) -> dict[str, Any]:  # noqa: F811
    """The running server with people for every role (with passwords), the bundled 2016
    plan imported, and two audits: their ids and the base URL."""
    tokens = {}
    for role, name in PEOPLE.items():
        added = subprocess.run(
            [QA, "users", "add", name, "--role", role, "--password"],
            input=f"{PASSWORD}\n{PASSWORD}\n",
            env=cli_env(settings),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert added.returncode == 0, added.stderr
        tokens[role] = added.stdout.split()[-1]
    plan_file = Path(__file__).resolve().parents[2] / "qa_service" / "data" / "plan_2016.json"
    imported = run(settings, "import", str(plan_file))
    plan_id = imported.stdout.split()[-1]
    auditor = {"Authorization": f"Bearer {tokens['auditor']}"}
    audits = [
        requests.post(f"{server}/api/audits", json=body, headers=auditor, timeout=30).json()["id"]
        for body in (
            audit_body(case_ref="CS-104233", audited_on="2019-01-15"),
            audit_body(
                case_ref="CS-200871",
                audited_on="2019-02-12",
                overall_grade="inadequate",
                actions=[remedial_action(due_on="2019-03-12")],
            ),
        )
    ]
    return {"base": server, "tokens": tokens, "plan_id": plan_id, "audit_ids": audits}


class Problems(list[str]):
    """Console errors and uncaught exceptions on a page, in the order they happened."""

    def console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.append(f"console: {message.text}")


@pytest.fixture
def signed_in(browser: Browser, site: dict[str, Any]) -> Iterator[Callable[[str], Page]]:
    """``signed_in("manager")``: a new browser page, signed in through the sign-in form."""
    contexts = []

    def open_as(role: str) -> Page:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        problems = Problems()
        page.on("console", problems.console)
        page.on("pageerror", lambda error: problems.append(f"uncaught: {error}"))
        page.add_init_script(WATCH_CSP)
        page.qa_problems = problems  # type: ignore[attr-defined]
        page.qa_base = site["base"]  # type: ignore[attr-defined]
        page.goto(f"{site['base']}/sign-in")
        page.get_by_label("Name").fill(PEOPLE[role])
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/home")
        return page

    yield open_as
    for context in contexts:
        context.close()


def check(page: Page, name: str, *, error_page: bool = False) -> None:
    """What every page must be: no serious or critical accessibility violation (axe-core),
    no console error, no CSP violation; and a screenshot in tests/artefacts/NAME.png.
    An ``error_page`` (a 403 or 404 on purpose) may have the browser's own console note
    of that status, and nothing else."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    serious = [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:3]}
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert serious == [], json.dumps(serious, indent=1)
    assert page.evaluate("window.__cspViolations") == []
    problems = page.qa_problems  # type: ignore[attr-defined]
    if error_page:
        problems = [p for p in problems if "the server responded with a status of 40" not in p]
    assert problems == [], problems
    page.qa_problems.clear()  # type: ignore[attr-defined]
    ARTEFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTEFACTS / f"{name}.png"), full_page=True)


__all__ = ["BROWSER_TESTS", "PEOPLE", "browser", "check", "server", "signed_in", "site"]
