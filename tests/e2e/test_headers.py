"""Security headers on every response: data, errors, the docs page and its files, the
home page, and through the real server, whose banner names no version.

Headers do not depend on the store, so these run on SQLite only.
"""

from __future__ import annotations

import base64
import hashlib
import re

import pytest
import requests

from tests.e2e.builders import audit_body
from tests.e2e.test_server import server  # noqa: F401  (the real gunicorn server)

SAME_EVERYWHERE = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}


@pytest.fixture
def store() -> str:
    return "sqlite"


def policy(response) -> dict[str, list[str]]:
    """The Content-Security-Policy as {directive: [sources]}."""
    out = {}
    for part in response.headers["Content-Security-Policy"].split(";"):
        name, *sources = part.split()
        out[name] = sources
    return out


def assert_secure(response, *, data: bool = True, page: bool = False) -> None:
    for name, value in SAME_EVERYWHERE.items():
        assert response.headers.get(name) == value, (name, response.headers)
    referrer = "same-origin" if page else "no-referrer"
    assert response.headers["Referrer-Policy"] == referrer
    csp = policy(response)
    assert csp["default-src"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["object-src"] == ["'none'"]
    assert "'unsafe-inline'" not in str(csp) and "'unsafe-eval'" not in str(csp)
    if data:
        assert response.headers["Cache-Control"] == "no-store"


def test_data_and_every_kind_of_error_carry_the_headers(auditor, as_role):
    anyone = as_role(None)
    signed_in = auditor._headers(None)
    responses = [
        (200, auditor.get("/api/audits")),
        (201, auditor.post("/api/audits", audit_body())),
        (401, anyone.get("/api/audits")),
        (403, auditor.post("/api/plans", {})),
        (404, auditor.get("/api/audits/00000000-0000-0000-0000-000000000000")),
        (404, auditor.get("/api/nothing-here")),
        (405, auditor.flask_client.delete("/api/audits", headers=signed_in)),
        (415, auditor.post("/api/audits", data="x", content_type="text/plain")),
        (422, auditor.post("/api/audits", {"case_ref": 1})),
        (200, anyone.get("/api/health")),
        (200, anyone.get("/api/openapi.json")),
    ]
    for status, response in responses:
        assert response.status_code == status, response.json
        assert_secure(response)


def test_an_unexpected_error_carries_the_headers(auditor, service, monkeypatch):
    def broken(**_):
        raise RuntimeError("a bug")

    monkeypatch.setattr(service.queries, "audits", broken)
    response = auditor.get("/api/audits")
    assert response.status_code == 500
    assert_secure(response)


def test_an_idempotent_replay_carries_the_headers(auditor):
    headers = {"Idempotency-Key": "one-audit"}
    first = auditor.post("/api/audits", audit_body(), headers=headers)
    replay = auditor.post("/api/audits", audit_body(), headers=headers)
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json == first.json
    assert_secure(replay)


def test_pages_carry_the_headers_and_are_never_stored_but_static_files_may_be(as_role):
    response = as_role(None).get("/sign-in")
    assert response.status_code == 200
    assert_secure(response, data=False, page=True)
    assert response.headers["Cache-Control"] == "no-store"
    html = response.get_data()
    inline = re.findall(rb"<script>(.*?)</script>", html, re.DOTALL)
    assert len(inline) == 1 and b"js-enabled" in inline[0]
    digest = base64.b64encode(hashlib.sha256(inline[0]).digest()).decode()
    assert policy(response)["script-src"] == ["'self'", f"'sha256-{digest}'"]
    css = as_role(None).get("/static/qa.css")
    assert css.status_code == 200
    assert "no-store" not in css.headers.get("Cache-Control", "")


def test_the_docs_page_may_run_its_own_start_up_script_and_nothing_else(as_role):
    page = as_role(None).get("/api/docs")
    assert page.status_code == 200
    assert_secure(page)
    html = page.get_data()
    inline = re.findall(rb"<script>(.*?)</script>", html, re.DOTALL)
    assert len(inline) == 1 and b"SwaggerUIBundle(config)" in inline[0]
    digest = base64.b64encode(hashlib.sha256(inline[0]).digest()).decode()
    assert policy(page)["script-src"] == ["'self'", f"'sha256-{digest}'"]
    # Everything else the page loads is served by the app itself ('self').
    for src in re.findall(rb'(?:src|href)="([^"]+)"', html):
        assert src.startswith(b"/api/docs/static/"), src
        assert as_role(None).get(src.decode()).status_code == 200
    # Swagger UI's own stylesheet draws its icons from data: URIs, which are allowed.
    assert "data:" in policy(page)["img-src"]


def test_swagger_uis_files_carry_the_headers_and_may_be_cached(as_role):
    response = as_role(None).get("/api/docs/static/swagger-ui-bundle.js")
    assert response.status_code == 200
    assert_secure(response, data=False)
    assert response.headers.get("Cache-Control") != "no-store"
    # No script anywhere but the docs page's own may run inline.
    assert "script-src" not in policy(response)


def test_the_real_server_names_no_version_and_sends_the_headers(server):  # noqa: F811
    for path in ("/api/health", "/api/audits", "/api/docs"):
        response = requests.get(f"{server}{path}", timeout=10)
        assert response.headers["Server"] == "gunicorn", response.headers
        assert_secure(response)
