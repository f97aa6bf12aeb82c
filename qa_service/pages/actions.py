"""The action tracker (filtered by owner, status, overdue, as of a date) and an action's
page: its details, its history, and a manager's forms to change its status, due date
and owners."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from flask import Response, abort, flash, redirect, render_template, request, url_for

from events import InvalidInput, Refused
from events.rules import TRANSITIONS
from qa_service import exports
from qa_service.errors import NotFound, StaleVersion
from qa_service.pages.common import (
    Errors,
    blp,
    load_form,
    person,
    rule_errors,
    service,
    signed_in,
    task,
)
from qa_service.pages.plans import actor, optional, upper_first, upper_first_all, version
from qa_service.queries import BadQuery
from qa_service.schemas.actions import ActionRegisterArgs, OwnersIn, RescheduleIn, StatusIn

task(
    "pages.tracker",
    "Action tracker",
    "Actions by lead or owner, status and overdue, as of any date",
)

FILTERS = ("owner", "status", "overdue", "origin", "plan_id", "as_of", "known_at", "page")
READS_HISTORY = ("manager", "inspector", "admin")  # as the API's /history


@blp.get("/actions")
@signed_in()
def tracker() -> Any:
    asked = {k: v for k, v in request.args.items() if k in FILTERS and v}
    args, errors = load_form(ActionRegisterArgs(), {**asked, "page_size": "25"})
    register = None
    if args is not None:
        del args["format"]
        try:
            register = service().queries.actions(**args)
        except BadQuery as bad:
            errors = rule_errors(bad)
    leads = _leads()
    moment = {k: args[k] for k in ("as_of", "known_at") if args and args.get(k)}
    today: dict[str, Any] = {
        k: v for k, v in asked.items() if k not in ("as_of", "known_at", "page")
    }
    listed: dict[str, Any] = {k: v for k, v in asked.items() if k != "page"}
    return render_template(
        "actions/tracker.html",
        register=register,
        asked=asked,
        downloads={
            fmt: url_for("pages.tracker_download", fmt=fmt, **listed) for fmt in exports.FORMATS
        },
        moment=moment,
        today_url=url_for("pages.tracker", **today),
        errors=upper_first_all(errors),
        leads=leads,
        mine=_mine(leads),
        zone=service().queries.zone,
    )


@blp.get("/actions.<any(csv, xlsx):fmt>")
@signed_in()
def tracker_download(fmt: str) -> Any:
    """Every action the tracker's filters match (not one page), as the API's XLSX or CSV;
    filters that are not right show the tracker with their messages."""
    asked = {k: v for k, v in request.args.items() if k in FILTERS and k != "page" and v}
    args, _ = load_form(ActionRegisterArgs(), {**asked, "format": fmt})
    if args is None:
        return tracker()
    for name in ("format", "page", "page_size"):
        del args[name]
    queries = service().queries
    try:
        answer = queries.action_rows(**args)
    except BadQuery:
        return tracker()
    sheets, stem = exports.action_tracker(answer, args, args.get("known_at"), queries.zone)
    file = exports.download(sheets, fmt, stem)
    return Response(file.body, mimetype=file.mimetype, headers=file.headers)


@blp.get("/actions/<uuid:action_id>")
@signed_in()
def action(action_id: UUID) -> Any:
    return _action_page(action_id)


@blp.post("/actions/<uuid:action_id>/status")
@signed_in("manager")
def change_status(action_id: UUID) -> Any:
    body = optional(request.form, "status", "effective_on", "reason")
    return _change(action_id, "status", StatusIn(), body, service().commands.change_action_status)


@blp.post("/actions/<uuid:action_id>/reschedule")
@signed_in("manager")
def reschedule(action_id: UUID) -> Any:
    body: dict[str, Any] = optional(request.form, "due_on", "effective_on", "reason")
    if request.form.get("to_be_confirmed"):
        body["due_on"] = None
    return _change(
        action_id, "reschedule", RescheduleIn(), body, service().commands.reschedule_action
    )


@blp.post("/actions/<uuid:action_id>/owners")
@signed_in("manager")
def owners(action_id: UUID) -> Any:
    names = request.form.getlist("owners") + request.form.get("other_owners", "").splitlines()
    body: dict[str, Any] = optional(request.form, "effective_on", "reason")
    body["owners"] = [name.strip() for name in names if name.strip()]
    return _change(action_id, "owners", OwnersIn(), body, service().commands.reassign_action)


DONE = {
    "status": "Status changed.",
    "reschedule": "Due date changed.",
    "owners": "Owners changed.",
}


def _change(
    action_id: UUID, form: str, schema: Any, data: dict[str, Any], command: Callable[..., None]
) -> Any:
    """One of the action's forms: checked by the API's schema, done by the same command;
    on success back to the action's page, else the page again with what is wrong."""
    body, errors = load_form(schema, data)
    problem = None
    if body is not None:
        try:
            command(actor(), action_id, expected_version=version(request.form), **body)
        except InvalidInput as invalid:
            errors = rule_errors(invalid)
        except NotFound:
            abort(404)
        except StaleVersion as stale:
            problem = (
                "Someone else changed this action since you opened this page, so nothing "
                f"was saved. Check it again below and try again. ({upper_first(str(stale))})"
            )
        except Refused as refused:
            problem = upper_first(str(refused))
        else:
            flash(DONE[form], "success")
            return redirect(url_for("pages.action", action_id=action_id))
    prefixed = {f"{form}.{path}": message for path, message in errors.items()}
    return _action_page(action_id, form=form, errors=prefixed, problem=problem)


def _action_page(
    action_id: UUID,
    *,
    form: str | None = None,
    errors: Errors | None = None,
    problem: str | None = None,
) -> Any:
    queries = service().queries
    try:
        found = queries.action(action_id)
    except NotFound:
        abort(404)
    user = person()
    assert user is not None
    history = queries.history("action", action_id) if user.role in READS_HISTORY else None
    plan = queries.plan(found["plan_id"]) if found["plan_id"] else None
    return render_template(
        "actions/action.html",
        action=found,
        plan=plan,
        history=history,
        form=form,
        sent=request.form if form else {},
        errors=upper_first_all(errors or {}),
        problem=problem,
        transitions=TRANSITIONS,
        zone=queries.zone,
    )


def _leads() -> list[dict[str, str]]:
    """Every plan's key leads, for the owner filter (initials are what actions name)."""
    queries = service().queries
    leads: dict[str, dict[str, str]] = {}
    for summary in queries.plans(page_size=20)["items"]:
        for lead in queries.plan(summary["id"])["leads"]:
            leads.setdefault(lead["initials"], lead)
    return sorted(leads.values(), key=lambda lead: lead["name"])


def _mine(leads: list[dict[str, str]]) -> str | None:
    """The signed-in person's own initials, if they are a lead (by name or initials)."""
    user = person()
    if user is None:
        return None
    me = user.name.strip().lower()
    for lead in leads:
        if me in (lead["name"].strip().lower(), lead["initials"].lower()):
            return lead["initials"]
    return None
