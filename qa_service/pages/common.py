"""What every page shares: the blueprint, who is signed in, roles, errors, CSRF."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from marshmallow import Schema, ValidationError
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES

from events import InvalidInput
from qa_service.accounts import User
from qa_service.schemas.common import AsOfArgs, flatten
from qa_service.service import Service

Errors = dict[str, str]

blp = Blueprint("pages", __name__, static_folder="static", static_url_path="/static")

ROLE_NAMES = {
    "auditor": "Auditor",
    "manager": "Manager",
    "inspector": "Inspector",
    "admin": "Administrator",
}


def service() -> Service:
    svc: Service = current_app.extensions["qa_service"]
    return svc


def person() -> User | None:
    """Who is signed in to this browser, if anyone (and still allowed to be)."""
    if "person" not in g:
        name, stamp = session.get("name"), session.get("stamp")
        g.person = (
            service().accounts.signed_in(name, stamp)
            if isinstance(name, str) and isinstance(stamp, str)
            else None
        )
        if g.person is None and name is not None:
            session.clear()  # revoked, or the password changed: sign in again
    user: User | None = g.person
    return user


def signed_in(*roles: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The page needs someone signed in (in one of ``roles``, if given)."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            user = person()
            if user is None:
                return redirect(url_for("pages.sign_in", next=request.full_path.rstrip("?")))
            if roles and user.role not in roles:
                wanted = " or ".join(ROLE_NAMES[r].lower() for r in roles)
                return error_page(403, f"This page is for a {wanted}.")
            return view(*args, **kwargs)

        return wrapper

    return decorate


@blp.before_request
def _check_csrf() -> None:
    """Every form the pages send back carries the session's CSRF token."""
    if request.method == "POST":
        current_app.extensions["qa_csrf"].protect()


@dataclass(frozen=True)
class Task:
    """A page someone comes to do something on: in the menu and on their home page."""

    endpoint: str
    text: str
    hint: str
    roles: tuple[str, ...]


TASKS: list[Task] = []


def task(endpoint: str, text: str, hint: str, *roles: str) -> None:
    """Offer the page at ``endpoint`` to ``roles`` (every role if none given)."""
    TASKS.append(Task(endpoint, text, hint, roles or tuple(ROLE_NAMES)))


def tasks(role: str) -> list[dict[str, str]]:
    return [
        {"href": url_for(t.endpoint), "text": t.text, "hint": t.hint}
        for t in TASKS
        if role in t.roles
    ]


def navigation(role: str) -> list[dict[str, Any]]:
    here = request.endpoint
    items = [{"href": url_for("pages.home"), "text": "Home", "active": here == "pages.home"}]
    items += [
        {"href": url_for(t.endpoint), "text": t.text, "active": here == t.endpoint}
        for t in TASKS
        if role in t.roles
    ]
    return items


def errors_list(errors: dict[str, str]) -> list[dict[str, str]]:
    """An error summary's list: each message linked to its field."""
    return [{"text": message, "href": f"#{field_id(field)}"} for field, message in errors.items()]


@blp.app_context_processor
def _everywhere() -> dict[str, Any]:
    return {
        "person": person() if request else None,
        "role_names": ROLE_NAMES,
        "tasks": tasks,
        "navigation": navigation,
        "errors_list": errors_list,
        "field_id": field_id,
    }


def safe_next(target: str | None) -> str | None:
    """Only a path on this site (never another site) to go back to after signing in."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def error_page(error: Any, message: str | None = None) -> tuple[str, int]:
    """An error as a page: what happened, in words, and where to go from here."""
    if isinstance(error, HTTPException):
        code = error.code or 500
        description = message or _plain(code, error)
    else:
        code = int(error)
        description = message or ""
    title = {
        403: "You cannot see this page",
        404: "Page not found",
        405: "That cannot be done here",
        413: "What you sent is too large",
    }.get(code, HTTP_STATUS_CODES.get(code, "Something went wrong"))
    return render_template("error.html", code=code, title=title, message=description), code


def _plain(code: int, error: HTTPException) -> str:
    if code == 404:
        return "If you typed the web address, check it is correct."
    if code == 400 and "CSRF" in (error.description or ""):
        return (
            "The form had expired or did not come from this service. Go back, reload the "
            "page and try again."
        )
    return error.description or ""


# Forms: parsed with the API's own schemas, so the rules and their messages are one.


def load_form(schema: Schema, data: Mapping[str, Any]) -> tuple[dict[str, Any] | None, Errors]:
    """``data`` (already shaped as the API's JSON body) checked by the API's schema: the
    loaded values, or ``None`` and each field's message, keyed by its path
    (``actions[0].due_on``)."""
    try:
        return schema.load(data), {}
    except ValidationError as error:
        return None, {
            path: " ".join(messages) for path, messages in flatten(error.messages).items()
        }


def rule_errors(error: InvalidInput) -> Errors:
    """A domain rule's refusal, as the same kind of field messages."""
    return {field: " ".join(messages) for field, messages in error.errors.items()}


def field_id(path: str) -> str:
    """An HTML id for a field path (``actions[0].due_on`` -> ``actions-0-due_on``), so
    the error summary can link to the field."""
    return path.replace("[", "-").replace("].", "-").replace("]", "").replace(".", "-")


def when(args: Mapping[str, str]) -> tuple[dict[str, Any], Errors]:
    """``as_of`` and ``known_at`` from a page's query string, checked by the API's
    ``AsOfArgs`` (anything else in the query is the page's own business)."""
    wanted = {k: v for k, v in args.items() if k in ("as_of", "known_at") and v}
    loaded, errors = load_form(AsOfArgs(), wanted)
    return loaded or {}, errors
