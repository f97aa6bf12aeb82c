"""Case audits: record one (with its remedial actions), the register with its charts, one
audit with its history, and correcting, withdrawing and moderating one.

Each form is shaped into the API's JSON body (``audit_form``), checked with the API's own
schema, and sent to the same command the API calls, so the rules and their messages are
the API's. A write answers with a redirect to the audit's page and a banner saying what
was done (POST, redirect, GET). A form sent back with its errors answers 200, as the
sign-in page does (a browser logs any 4xx page as a console error).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from typing import Any, NoReturn
from uuid import UUID

from flask import (
    Response,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from marshmallow import Schema
from werkzeug.datastructures import MultiDict

from events import InvalidInput, Refused
from events.rules import AUDIT_TYPES, GRADES, JUDGEMENT_DOMAINS, SERVICE_AREAS
from qa_service import charts, exports
from qa_service.application import Actor
from qa_service.errors import Forbidden, NotFound, StaleVersion
from qa_service.pages.audit_form import (
    LABELS,
    AuditForm,
    Placed,
    Shaped,
    capital,
    correction,
    correction_values,
    place,
    reasoned,
    sentence,
)
from qa_service.pages.common import (
    blp,
    error_page,
    load_form,
    person,
    rule_errors,
    service,
    signed_in,
    task,
    when,
)
from qa_service.schemas.audits import (
    AuditIn,
    AuditRegisterArgs,
    CorrectionIn,
    ModerationIn,
    WithdrawalIn,
)
from qa_service.words import day, label, moment

PAGE_SIZE = 25
MONTHS = 12  # the grade mix by month shows the latest year of the range (quarters show it all)
FILTERS = ("service_area", "grade", "audit_type", "from", "to", "as_of", "known_at")

task(
    "pages.new_audit",
    "Record an audit",
    "Record a case file audit: grades, strengths, areas for improvement and actions.",
    "auditor",
)
task(
    "pages.audits",
    "Audits",
    "The audit register: your recent audits, every audit by filter, and the grade charts.",
)


def actor() -> Actor:
    user = person()
    assert user is not None  # @signed_in
    return Actor(user.name, user.role)


@blp.app_template_global()
def audit_words() -> dict[str, Any]:
    """What the audit templates write values with."""
    return {
        "label": label,
        "day": day,
        "moment": lambda value: moment(value, service().queries.zone),
        "grades": GRADES,
        "service_areas": SERVICE_AREAS,
        "audit_types": AUDIT_TYPES,
        "domains": JUDGEMENT_DOMAINS,
        "said": said,
    }


def said(errors: Placed, target: str) -> dict[str, str] | None:
    """A field's error message, as the GOV.UK macros take it (``None``: no error)."""
    return {"text": errors.beside[target]} if target in errors.beside else None


# Recording an audit.


@blp.get("/audits/new")
@signed_in("auditor")
def new_audit() -> Any:
    return _new_audit_page(AuditForm.blank(), Placed({}, []))


@blp.post("/audits/new")
@signed_in("auditor")
def new_audit_post() -> Any:
    form = AuditForm.from_form(request.form)
    if "add_action" in request.form:
        form.add_action()
        return _new_audit_page(form, Placed({}, []))
    if "remove_action" in request.form:
        form.remove_action(request.form["remove_action"])
        return _new_audit_page(form, Placed({}, []))
    shaped = form.shaped()
    body, errors = load_form(AuditIn(), shaped.body)
    if body is not None:
        actions = body.pop("actions")
        try:
            audit_id = service().commands.record_audit(actor(), body, actions)
        except InvalidInput as refused:
            errors = rule_errors(refused)
        except Refused as refused:  # the learning week is closed, say
            errors = {"": f"{capital(str(refused))}."}
        else:
            flash("Audit recorded.", "success")  # no case reference in the cookie
            return redirect(url_for("pages.audit", audit_id=audit_id))
    week = "learning_week_id" if shaped.body.get("learning_week_id") else ""
    return _new_audit_page(form, place(errors, shaped, first=week))


def _new_audit_page(form: AuditForm, errors: Placed) -> str:
    weeks = service().queries.learning_weeks(page_size=100)["items"]
    return render_template("audits/new.html", form=form, errors=errors, weeks=weeks)


# The register.


@blp.get("/audits")
@signed_in()
def audits() -> Any:
    asked = {k: v for k, v in request.args.items() if k in (*FILTERS, "page") and v.strip()}
    args, errors = load_form(AuditRegisterArgs(), {**asked, "page_size": PAGE_SIZE})
    user = person()
    assert user is not None
    register, figures = None, []
    if args is not None:  # a filter that is not right shows its message, never everything
        del args["format"]
        register = service().queries.audits(**args)
        figures = _figures(register["distribution"])
    mine = []
    if user.role == "auditor":  # the register cannot filter by auditor: the latest few
        unfiltered = args is not None and args["page"] == 1 and not set(asked) - {"page"}
        recent = register if unfiltered else service().queries.audits(page_size=PAGE_SIZE)
        assert recent is not None
        mine = [item for item in recent["items"] if item["auditor"] == user.name][:5]
    return _register_page(register, mine, figures, asked, errors)


@blp.get("/audits.<any(csv, xlsx):fmt>")
@signed_in()
def audits_download(fmt: str) -> Any:
    """Every audit the register's filters match (not one page), as the API's XLSX or CSV;
    filters that are not right show the register with their messages."""
    asked = {k: v for k, v in request.args.items() if k in FILTERS and v.strip()}
    args, _ = load_form(AuditRegisterArgs(), {**asked, "format": fmt})
    if args is None:
        return audits()
    for name in ("format", "page", "page_size"):
        del args[name]
    queries = service().queries
    sheets, stem = exports.audit_register(
        queries.audit_rows(**args), args, args.get("known_at"), queries.zone
    )
    file = exports.download(sheets, fmt, stem)
    return Response(file.body, mimetype=file.mimetype, headers=file.headers)


def _figures(distribution: Mapping[str, Any]) -> list[charts.Chart]:
    """The register's charts. A chart is the same for the same numbers, and drawing one
    takes pygal tens of milliseconds, so the last few are kept, keyed by their numbers."""
    return list(_drawn(json.dumps(distribution, sort_keys=True, default=str)))


@functools.lru_cache(maxsize=64)
def _drawn(numbers: str) -> tuple[charts.Chart, ...]:
    distribution = json.loads(numbers)
    return (
        charts.grade_mix(distribution["quarter"], by="quarter"),
        charts.grade_mix(distribution["month"][-MONTHS:], by="month"),
        charts.grade_mix(distribution["service_area"], by="service_area"),
        charts.good_or_better_trend(distribution["quarter"]),
        charts.moderation_agreement(distribution["moderation"]),
    )


def _register_page(
    register: dict[str, Any] | None,
    mine: list[dict[str, Any]],
    figures: list[charts.Chart],
    asked: dict[str, str],
    errors: dict[str, str],
) -> str:
    listed: dict[str, Any] = {k: v for k, v in asked.items() if k != "page"}
    return render_template(
        "audits/register.html",
        register=register,
        mine=mine,
        figures=figures,
        asked=asked,
        errors=place(errors, Shaped({})),
        pages=_pages(register, asked) if register else None,
        downloads={
            fmt: url_for("pages.audits_download", fmt=fmt, **listed) for fmt in exports.FORMATS
        },
    )


def _pages(register: Mapping[str, Any], asked: Mapping[str, str]) -> dict[str, Any] | None:
    """govukPagination's settings for the register: numbered pages, next and previous."""
    last = max(1, -(-register["total"] // register["page_size"]))
    if last == 1:
        return None
    here = register["page"]

    def href(number: int) -> str:
        query: dict[str, Any] = {k: v for k, v in asked.items() if k != "page"}
        return url_for("pages.audits", **query, page=number)

    shown = sorted({1, last, *range(max(1, here - 2), min(last, here + 2) + 1)})
    items: list[dict[str, Any]] = []
    for number in shown:
        if items and number - items[-1].get("number", number) > 1:
            items.append({"ellipsis": True})
        items.append({"number": number, "href": href(number), "current": number == here})
    return {
        "items": items,
        "previous": {"href": href(here - 1)} if here > 1 else None,
        "next": {"href": href(here + 1)} if here < last else None,
    }


# One audit.


@blp.get("/audits/<uuid:audit_id>")
@signed_in()
def audit(audit_id: UUID) -> Any:
    asked, problems = when(request.args)
    if problems:
        refuse(400, " ".join(f"{sentence(LABELS[k], m)}." for k, m in problems.items()))
    shown = _audit_or_404(audit_id, **asked)
    history = service().queries.history("audit", audit_id)["items"]
    week = None
    if shown["learning_week_id"] is not None:
        try:
            week = service().queries.learning_week(shown["learning_week_id"])
        except NotFound:
            week = None
    return render_template(
        "audits/audit.html",
        audit=shown,
        history=history,
        week=week,
        asked=asked,
        may_change=_may_change(shown),
    )


def _audit_or_404(audit_id: UUID, **asked: Any) -> dict[str, Any]:
    try:
        return service().queries.audit(audit_id, **asked)
    except NotFound as missing:
        refuse(404, f"There is no such audit: {missing}.")


def refuse(code: int, message: str) -> NoReturn:
    """Stop with an error page that says ``message``."""
    abort(make_response(error_page(code, message)))


def _may_change(audit: Mapping[str, Any]) -> dict[str, bool]:
    user = person()
    assert user is not None
    live = audit["withdrawn"] is None
    own = user.role == "manager" or (user.role == "auditor" and user.name == audit["auditor"])
    manager = user.role == "manager"
    return {"correct": live and own, "withdraw": live and own, "moderate": live and manager}


# Correcting, withdrawing, moderating.


@blp.route("/audits/<uuid:audit_id>/correct", methods=["GET", "POST"])
@signed_in("auditor", "manager")
def correct_audit(audit_id: UUID) -> Any:
    current = _audit_or_404(audit_id)
    if request.method == "GET":
        return _change_page("correct", current, correction_values(current), Placed({}, []))
    typed, shaped = correction(request.form, current)
    return _change(
        "correct",
        current,
        typed,
        shaped,
        CorrectionIn(),
        lambda version, body: service().commands.correct_audit(
            actor(), audit_id, expected_version=version, **body
        ),
        "Audit corrected.",
        first="case_ref",
    )


@blp.route("/audits/<uuid:audit_id>/withdraw", methods=["GET", "POST"])
@signed_in("auditor", "manager")
def withdraw_audit(audit_id: UUID) -> Any:
    current = _audit_or_404(audit_id)
    if request.method == "GET":
        return _change_page("withdraw", current, {"reason": ""}, Placed({}, []))
    typed, shaped = reasoned(request.form, "reason")
    return _change(
        "withdraw",
        current,
        typed,
        shaped,
        WithdrawalIn(),
        lambda version, body: service().commands.withdraw_audit(
            actor(), audit_id, expected_version=version, **body
        ),
        "Audit withdrawn. It stays in the record and its history, marked as withdrawn.",
        first="reason",
    )


@blp.route("/audits/<uuid:audit_id>/moderate", methods=["GET", "POST"])
@signed_in("manager")
def moderate_audit(audit_id: UUID) -> Any:
    current = _audit_or_404(audit_id)
    if request.method == "GET":
        return _change_page("moderate", current, {"grade": "", "rationale": ""}, Placed({}, []))
    typed, shaped = reasoned(request.form, "grade", "rationale")
    return _change(
        "moderate",
        current,
        typed,
        shaped,
        ModerationIn(),
        lambda version, body: service().commands.moderate_audit(
            actor(), audit_id, expected_version=version, **body
        ),
        "Audit moderated.",
        first="grade",
    )


def _change(
    kind: str,
    current: dict[str, Any],
    typed: dict[str, str],
    shaped: Shaped,
    schema: Schema,
    command: Callable[[int, dict[str, Any]], None],
    done: str,
    *,
    first: str,
) -> Any:
    """Check a change's form with the API's schema, run its command at the version the
    form was made from, and go back to the audit; or show the form again with why not.
    A form made from an older version says so and shows the audit as it is now (sending
    it again then applies it to that)."""
    version = _version(request.form)
    body, errors = load_form(schema, shaped.body)
    if body is not None:
        try:
            command(version, body)
        except InvalidInput as refused:
            errors = rule_errors(refused)
        except (Refused, Forbidden) as refused:
            errors = {"": f"{capital(str(refused))}."}
        except StaleVersion as stale:
            current = _audit_or_404(current["id"])
            version = current["version"]
            errors = {"": f"{capital(str(stale))}. Check the audit below before you send again."}
        else:
            flash(done, "success")
            return redirect(url_for("pages.audit", audit_id=current["id"]))
    placed = place(errors, shaped, whole=("changes",), first=first)
    return _change_page(kind, current, typed, placed, version=version)


def _change_page(
    kind: str,
    current: Mapping[str, Any],
    typed: Mapping[str, str],
    errors: Placed,
    *,
    version: int | None = None,
) -> str:
    return render_template(
        f"audits/{kind}.html",
        audit=current,
        typed=typed,
        errors=errors,
        version=current["version"] if version is None else version,
    )


def _version(form: MultiDict[str, str]) -> int:
    try:
        return int(form.get("expected_version", ""))
    except ValueError:
        refuse(400, "The form had no version of the audit. Go back, reload the page and try again.")
