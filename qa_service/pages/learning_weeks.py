"""Listening and Learning weeks: the list with the trend across weeks, each week's
summary and findings, and an auditor's forms for family feedback and findings.

The forms are checked by the API's ``FeedbackIn`` and ``FindingIn`` and recorded by the
same commands as ``POST /api/learning-weeks/{id}/feedback`` and ``.../findings``; the
domain's refusals (a closed week, a stale page) are said on the page.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from uuid import UUID

from flask import abort, redirect, render_template, request, url_for

from events import InvalidInput, Refused
from events.rules import RESPONDENTS
from qa_service import charts
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
from qa_service.schemas.learning_weeks import FeedbackIn, FindingIn

WRITERS = ("auditor",)  # as the API's feedback and findings
LABELS = {
    "respondent": "Who gave the feedback",
    "satisfaction": "Satisfaction",
    "knew_why_involved": "Whether they knew why they were involved",
    "comment": "Comment",
    "effective_on": "Date",
    "as_of": "As of",
    "known_at": "As known at",
    "kind": "Kind of finding",
    "theme": "Theme",
    "text": "Finding",
}
MISSING = {
    "respondent": "Select who gave the feedback",
    "satisfaction": "Select how satisfied they were, from 0 to 10",
    "knew_why_involved": "Select whether they knew why they were involved",
    "kind": "Select whether it is going well or an area for improvement",
    "theme": "Enter the finding's theme",
    "text": "Enter the finding",
}
RESPONDENT_NAMES = {
    "parent": "Parent",
    "child": "Child",
    "young_person": "Young person",
    "carer": "Carer",
}
assert set(RESPONDENT_NAMES) == set(RESPONDENTS)

task(
    "pages.learning_weeks",
    "Learning weeks",
    "Each Listening and Learning week: what is going well, areas for improvement, family "
    "feedback, and the trend across weeks",
)


# Figures in words.


@blp.app_template_filter("share_percent")
def share_percent(share: float | None) -> str:
    """0.645 as "65%" (halves rounded up, as the charts' tables)."""
    if share is None:
        return "None"
    whole = (Decimal(str(share)) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return f"{whole}%"


@blp.app_template_filter("week_figure")
def figure(value: float | None, how: str) -> str:
    """A week's figure: a count, a share as a percentage, or a mean out of 10."""
    if value is None:
        return "None"
    if how == "share":
        return share_percent(value)
    if how == "mean":
        return f"{value:.1f}"
    return str(int(value))


@blp.app_template_filter("week_change")
def change(value: float | None, before: float | None, how: str) -> str:
    """The change from the week before, between the figures as shown (so 65% after 60%
    is "+5 percentage points", whatever the unrounded shares): "+2", "-0.3", "No change"."""
    if value is None or before is None:
        return "Not comparable"
    if how == "share":
        points = int(share_percent(value)[:-1]) - int(share_percent(before)[:-1])
        unit = "percentage point" if abs(points) == 1 else "percentage points"
        return "No change" if points == 0 else f"{points:+d} {unit}"
    if how == "mean":
        tenths = round(value * 10) - round(before * 10)
        return "No change" if tenths == 0 else f"{tenths / 10:+.1f}"
    return "No change" if int(value) == int(before) else f"{int(value) - int(before):+d}"


@blp.get("/learning-weeks")
@signed_in()
def learning_weeks() -> Any:
    moment, errors = _when()
    queries = service().queries
    weeks = queries.learning_weeks(**moment, page_size=500)
    summaries = [queries.learning_week(week["id"], **moment) for week in weeks["items"]]
    return render_template(
        "learning_weeks/list.html",
        title="Learning weeks",
        weeks=weeks,
        charts=charts.learning_week_trend(summaries) if summaries else (),
        moment=moment,
        errors=errors,
    )


@blp.get("/learning-weeks/<uuid:week_id>")
@signed_in()
def learning_week(week_id: UUID) -> Any:
    return _week_page(week_id, errors={}, form={})


def _when() -> tuple[dict[str, Any], Errors]:
    """``as_of`` and ``known_at`` if the page was asked for a past view."""
    moment, errors = when(request.args)
    messages = {field: _message(field, message) for field, message in errors.items()}
    return {name: value for name, value in moment.items() if value is not None}, messages


def _week_page(week_id: UUID, *, errors: Errors, form: Mapping[str, str]) -> Any:
    moment, moment_errors = _when()
    try:
        week = service().queries.learning_week(week_id, **moment)
    except NotFound:
        abort(404)
    user = person()
    return render_template(
        "learning_weeks/week.html",
        title=week["title"],
        week=week,
        moment=moment,
        errors={**moment_errors, **errors},
        form=form,
        can_record=user is not None and user.role in WRITERS and not moment,
        respondents=RESPONDENT_NAMES,
        recorded=request.args.get("recorded"),
    )


@blp.post("/learning-weeks/<uuid:week_id>/feedback")
@signed_in(*WRITERS)
def record_feedback(week_id: UUID) -> Any:
    form = request.form
    body: dict[str, Any] = {}
    if form.get("respondent"):
        body["respondent"] = form["respondent"]
    if form.get("satisfaction"):
        score = form["satisfaction"].strip()
        body["satisfaction"] = int(score) if score.lstrip("-").isdigit() else score
    if form.get("knew_why_involved"):
        answer = form["knew_why_involved"]
        body["knew_why_involved"] = None if answer == "not_answered" else answer
    if form.get("comment", "").strip():
        body["comment"] = form["comment"]
    return _record(week_id, "feedback", FeedbackIn(), body, service().commands.record_feedback)


@blp.post("/learning-weeks/<uuid:week_id>/findings")
@signed_in(*WRITERS)
def record_finding(week_id: UUID) -> Any:
    form = request.form
    body = {name: form[name] for name in ("kind", "theme", "text") if form.get(name, "").strip()}
    return _record(week_id, "finding", FindingIn(), body, service().commands.record_finding)


def _record(week_id: UUID, which: str, schema: Any, body: dict[str, Any], command: Any) -> Any:
    """Check ``body`` with the API's schema and record it with the API's command: then back
    to the week (POST, redirect, GET), or the week again with each field's message."""
    loaded, errors = load_form(schema, body)
    if loaded is not None:
        user = person()
        assert user is not None  # signed_in saw to it
        version = request.form.get("version", "")
        try:
            command(
                Actor(user.name, user.role),
                week_id,
                expected_version=int(version) if version.isdigit() else None,
                **loaded,
            )
        except NotFound:
            abort(404)
        except InvalidInput as invalid:
            errors = rule_errors(invalid)
        except Refused as refused:
            errors = {which: _sentence(str(refused)) + ": nothing was recorded."}
        except StaleVersion:
            errors = {
                which: "Someone else added to this week since you opened the page. Check "
                "the week as it is now, below, and send the form again."
            }
        else:
            return redirect(
                url_for("pages.learning_week", week_id=week_id, recorded=which) + "#recorded"
            )
    messages = {field: _message(field, message) for field, message in errors.items()}
    return _week_page(week_id, errors=messages, form=request.form)


def _message(field: str, message: str) -> str:
    """A schema's or a rule's message for a person: "Comment must not contain ...", or
    what to do when the field was left empty."""
    if message.startswith("Missing data for required field") and field in MISSING:
        return MISSING[field]
    label = LABELS.get(field)
    if label is None:
        return _sentence(message)
    message = message[:1].lower() + message[1:]
    return f"{label} {message}" if message.startswith("must ") else f"{label}: {message}"


def _sentence(message: str) -> str:
    return message[:1].upper() + message[1:]
