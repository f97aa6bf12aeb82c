"""Security headers on every response, errors included, so that a browser which meets
the API, its documentation or the home page gives an attacker nothing to work with.

- ``X-Content-Type-Options: nosniff``: a JSON answer (or a CSV export) that holds
  someone's free text is never run as a script or a page.
- ``Content-Security-Policy``: only this site's own scripts, styles, images (and the
  ``data:`` icons in Swagger UI's stylesheet) and connections; no plugins, no ``<base>``,
  and no framing (``frame-ancestors 'none'``, with ``X-Frame-Options: DENY`` for older
  browsers), so no clickjacking. The docs page (flask-smorest's Swagger UI template) starts
  Swagger UI with one inline script; that script alone is allowed, by its SHA-256 hash.
  Swagger UI's files are served from ``/api/docs/static`` and need no ``eval`` (their
  ``new Function`` is a fallback for browsers without ``globalThis``) and no inline
  styles (React sets element styles through the DOM, which CSP allows).
- ``Referrer-Policy``: a link out never carries an id in its URL elsewhere
  (``no-referrer``; on the pages ``same-origin``, since their forms are checked over
  HTTPS against the page they came from, as part of the CSRF protection).
- ``Cache-Control: no-store`` on every ``/api`` answer and every page, but static files:
  the record of a child's case is never kept by a browser or a proxy.
- The pages allow one inline script: GOV.UK Frontend's template's first line, by hash.

The server banner: gunicorn (23 on) says ``Server: gunicorn``, without its version.
"""

from __future__ import annotations

import base64
import hashlib
import re

from flask import Flask, Response, request

DOCS_ENDPOINT = "api-docs.openapi_swagger_ui"  # flask-smorest's Swagger UI page
STATIC_PREFIX = "/api/docs/static/"
POLICY = (
    "default-src 'self'",
    "img-src 'self' data:",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
)
INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.DOTALL)
# The one inline script of GOV.UK Frontend's page template (govuk-frontend-jinja's
# template.html): it marks the body as having JavaScript, before the page is drawn.
PAGE_SCRIPT = (
    b"document.body.className += ' js-enabled' + ('noModule' in HTMLScriptElement.prototype"
    b" ? ' govuk-frontend-supported' : '');"
)
PAGE_SCRIPT_HASH = f"'sha256-{base64.b64encode(hashlib.sha256(PAGE_SCRIPT).digest()).decode()}'"


def script_hashes(page: bytes) -> list[str]:
    """The CSP sources that allow exactly the page's inline scripts (``<script>`` with no
    ``src``), as ``'sha256-…'``."""
    return [
        f"'sha256-{base64.b64encode(hashlib.sha256(script).digest()).decode()}'"
        for script in INLINE_SCRIPT.findall(page)
    ]


def content_security_policy(response: Response) -> str:
    policy = list(POLICY)
    if request.endpoint == DOCS_ENDPOINT and response.status_code == 200:
        # The page is rendered from the app's configuration alone (its title, the URL
        # of the OpenAPI document), never from what a request sends, so the hash is
        # that of flask-smorest's own start-up script, whatever prefix the app runs at.
        allowed = " ".join(["'self'", *script_hashes(response.get_data())])
        policy.append(f"script-src {allowed}")
    elif not _is_api(request.path):
        policy.append(f"script-src 'self' {PAGE_SCRIPT_HASH}")
    return "; ".join(policy)


def _is_api(path: str) -> bool:
    return path == "/api" or path.startswith("/api/")


def add_security_headers(response: Response) -> Response:
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = content_security_policy(response)
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "no-referrer" if _is_api(request.path) else "same-origin"
    if _is_api(request.path):
        if not request.path.startswith(STATIC_PREFIX):
            response.headers["Cache-Control"] = "no-store"
    elif not request.path.startswith("/static/"):
        response.headers["Cache-Control"] = "no-store"  # pages show children's records
    return response


def install(app: Flask) -> None:
    """Add the headers to every response: errors, idempotent replays and static files
    included (Flask runs ``after_request`` for each of them)."""
    app.after_request(add_security_headers)
