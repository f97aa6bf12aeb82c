"""The pages: what auditors, managers and inspectors use in a browser.

Server-rendered (Flask + Jinja) with GOV.UK Frontend's components (the Jinja macros of
``govuk-frontend-jinja``; the CSS and JavaScript shipped in ``static/``, built by
``assets-src/build.sh`` without the GOV.UK brand). A page view is as thin as an API view:
it parses the form with the API's own schema, calls the same command or query, and
renders a template. Every page works without JavaScript.

People sign in with a name and password (Argon2id hashes in ``accounts``); the session is
Flask's signed cookie (HttpOnly, SameSite=Lax, Secure over HTTPS), which expires after
30 idle minutes and ends when the password changes; every form carries a CSRF token.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask, Request, request
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFError, CSRFProtect
from jinja2 import ChoiceLoader, PackageLoader, PrefixLoader

from qa_service.pages import actions, audits, auth, home, learning_weeks, plans, reports, trail
from qa_service.pages.common import blp, error_page
from qa_service.settings import Settings

IDLE = timedelta(minutes=30)


class Sessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, Secure whenever the page came over HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or request.is_secure


def session_secret(settings: Settings) -> str:
    """The key that signs sessions: ``QA_SECRET_KEY``, or a file beside the database
    (readable by its owner only), made once by whichever process starts first."""
    configured = os.environ.get("QA_SECRET_KEY")
    if configured:
        return configured
    if settings.is_sqlite:
        path = settings.sqlite_path.with_name(settings.sqlite_path.name + "-session-key")
    else:
        path = Path("qa-session-key").resolve()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".session-key-")
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(secrets.token_urlsafe(48))
        try:
            os.link(temporary, path)  # atomic: the first process's key wins
        except FileExistsError:
            pass
        finally:
            os.unlink(temporary)
    return path.read_text(encoding="ascii").strip()


def install(app: Flask, settings: Settings, api_errors: Callable[[Any], Any]) -> None:
    """Add the pages to ``app``. ``api_errors`` answers errors under /api in the API's
    JSON shape; everywhere else, errors are pages."""
    app.jinja_loader = ChoiceLoader(
        [
            PackageLoader("qa_service.pages"),
            PrefixLoader({"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja")}),
        ]
    )
    app.secret_key = session_secret(settings)
    app.session_interface = Sessions()
    app.config.update(
        SESSION_COOKIE_NAME="qa_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=IDLE,
        SESSION_REFRESH_EACH_REQUEST=True,
        WTF_CSRF_CHECK_DEFAULT=False,  # the pages check it; the API uses bearer tokens
        WTF_CSRF_TIME_LIMIT=None,  # a token lives as long as its session
    )
    csrf = CSRFProtect(app)
    app.extensions["qa_csrf"] = csrf
    app.register_blueprint(blp)

    def page_or_json(error: Any) -> Any:
        if _is_api(request):
            return api_errors(error)
        return error_page(error)

    for code in (403, 404, 405, 413):
        app.register_error_handler(code, page_or_json)
    app.register_error_handler(CSRFError, page_or_json)


def _is_api(req: Request) -> bool:
    return req.path.startswith("/api/") or req.path == "/api"


__all__ = [
    "actions",
    "audits",
    "auth",
    "home",
    "install",
    "learning_weeks",
    "plans",
    "reports",
    "trail",
]
