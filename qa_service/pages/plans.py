"""The improvement plan: the list of plans, a plan's dashboard as of any date (and as
known at any time), and a manager's quarterly review of a recommendation."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from flask import Response, abort, flash, redirect, render_template, request, url_for

from events import InvalidInput, Refused
from qa_service import exports
from qa_service.application import Actor
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
    when,
)
from qa_service.schemas.plans import ReviewIn

task(
    "pages.plans",
    "Improvement plans",
    "Each plan's recommendations, their RAG ratings and actions, as of any date",
)


@blp.get("/plans")
@signed_in()
def plans() -> Any:
    moment, errors = when(request.args)
    listing = service().queries.plans(**moment, page=_page(request.args))
    return render_template(
        "plans/list.html",
        listing=listing,
        moment=moment,
        errors=upper_first_all(errors),
        zone=service().queries.zone,
    )


@blp.get("/plans/<uuid:plan_id>")
@signed_in()
def plan(plan_id: UUID) -> Any:
    moment, errors = when(request.args)
    try:
        tree = service().queries.plan(plan_id, **moment)
    except NotFound as missing:
        if not moment:
            abort(404)
        errors, moment = {"as_of": upper_first(str(missing))}, {}
        tree = _plan_or_404(plan_id)
    shown: dict[str, Any] = {
        k: v for k, v in request.args.items() if k in ("as_of", "known_at") and v
    }
    return render_template(
        "plans/dashboard.html",
        plan=tree,
        moment=moment,
        errors=upper_first_all(errors),
        asked=request.args,
        zone=service().queries.zone,
        downloads={
            fmt: url_for("pages.plan_download", plan_id=plan_id, fmt=fmt, **shown)
            for fmt in exports.FORMATS
        }
        if not errors
        else None,
    )


@blp.get("/plans/<uuid:plan_id>/status.<any(csv, xlsx):fmt>")
@signed_in()
def plan_download(plan_id: UUID, fmt: str) -> Any:
    """The plan's status as of a date (as known at a time), as the API's XLSX or CSV: a
    row per action with its recommendation's latest RAG. A date that is not right, or
    one before the plan existed, shows the dashboard with its message."""
    moment, errors = when(request.args)
    queries = service().queries
    try:
        tree = None if errors else queries.plan(plan_id, **moment, with_moves=True)
    except NotFound:
        tree = None
    if tree is None:
        return plan(plan_id)
    sheets, stem = exports.plan_status(tree, moment.get("known_at"), queries.zone)
    file = exports.download(sheets, fmt, stem)
    return Response(file.body, mimetype=file.mimetype, headers=file.headers)


@blp.route("/plans/<uuid:plan_id>/reviews", methods=["GET", "POST"])
@signed_in("manager")
def review(plan_id: UUID) -> Any:
    tree = _plan_or_404(plan_id)
    form = request.form if request.method == "POST" else request.args
    errors: Errors = {}
    problem = None
    if request.method == "POST":
        body, errors = load_form(ReviewIn(), review_body(form))
        if body is not None:
            try:
                service().commands.record_review(
                    actor(), plan_id, fields=body, expected_version=version(form)
                )
            except InvalidInput as invalid:
                errors = rule_errors(invalid)
            except (Refused, StaleVersion) as refused:
                problem = upper_first(str(refused))
            else:
                flash(f"Review of recommendation {body['recommendation']} recorded.", "success")
                return redirect(url_for("pages.plan", plan_id=plan_id))
    return render_template(
        "plans/review.html",
        plan=tree,
        form=form,
        errors=upper_first_all(errors),
        problem=problem,
    )


# Shared with the action pages.


def actor() -> Actor:
    user = person()
    assert user is not None  # signed_in() let the request through
    return Actor(user.name, user.role)


def version(form: Mapping[str, str]) -> int | None:
    """The version the form was made from: a change since then is a conflict, not lost."""
    value = form.get("expected_version", "")
    return int(value) if value.isdigit() else None


def optional(form: Mapping[str, str], *names: str) -> dict[str, str]:
    """The named fields that were filled in (an empty field is left to the default)."""
    return {name: form[name].strip() for name in names if form.get(name, "").strip()}


def upper_first(message: str) -> str:
    return message[:1].upper() + message[1:]


MISSING = "Missing data for required field."

ASK = {  # what to say for an empty required field, rather than marshmallow's words
    "recommendation": "Choose the recommendation",
    "quarter": "Enter the quarter, like Q1 2016/17 or 2016-Q2",
    "progress": "Choose the progress RAG rating",
    "impact": "Choose the impact RAG rating",
    "status": "Choose the new status",
    "due_on": "Enter the new due date, or tick 'to be confirmed'",
    "owners": "Choose at least one owner",
    "reason": "Enter the reason",
}


def upper_first_all(errors: Errors) -> Errors:
    """Field messages as sentences, keyed by the field (``owners[1]`` is ``owners``); an
    empty required field asks for what is missing."""
    out: Errors = {}
    for path, message in errors.items():
        field = path.split("[")[0]
        if message == MISSING:
            message = ASK.get(field.rsplit(".", 1)[-1], "Enter this")
        out.setdefault(field, upper_first(message))
    return out


def review_body(form: Mapping[str, str]) -> dict[str, Any]:
    body: dict[str, Any] = optional(
        form,
        "quarter",
        "progress",
        "impact",
        "impact_data",
        "commentary",
        "further_actions",
        "reason",
        "effective_on",
    )
    number = form.get("recommendation", "")
    if number:
        body["recommendation"] = int(number) if number.isdigit() else number
    return body


def _plan_or_404(plan_id: UUID) -> dict[str, Any]:
    try:
        return service().queries.plan(plan_id)
    except NotFound:
        abort(404)


def _page(args: Mapping[str, str]) -> int:
    value = args.get("page", "1")
    return max(1, min(int(value), 100_000)) if value.isdigit() else 1
