"""The inspector's pages: the trail as a timeline, each record's history, the
verification panel, and the downloads (the trail as CSV, an inspection pack, its
verifier).

The trail's readers are the API's: inspectors, managers and administrators. The filters
are checked by the API's ``TrailArgs``; the CSV is the API's own (``exports.trail_csv``);
the pack and the checkpoints come from ``checkpoints``.
"""

from __future__ import annotations

import io
import re
from datetime import date, datetime
from typing import Any
from uuid import UUID

from flask import Response, abort, render_template, request, send_file, stream_with_context, url_for

from events import Action, CaseAudit, ImprovementPlan, LearningWeek
from events.rules import (
    ACTION_STATUSES,
    AUDIT_TYPES,
    FINDING_KINDS,
    GRADES,
    RAGS,
    RESPONDENTS,
    SERVICE_AREAS,
)
from qa_service.checkpoints import (
    check_checkpoints,
    export_pack,
    key_path,
    signer,
    stored_checkpoints,
    verifier_source,
)
from qa_service.exports import trail_csv
from qa_service.pages.common import Errors, blp, load_form, service, signed_in, task, when
from qa_service.schemas.trail import HistoryOut, TrailArgs

READERS = ("inspector", "manager", "admin")  # as the API's trail
PAGE_SIZE = 50
HISTORY_PAGE_SIZE = 10  # each change reads the record as known then: a plan's is a tree
FILTERS = (
    "entity_type",
    "entity_id",
    "actor",
    "event_type",
    "recorded_from",
    "recorded_to",
    "effective_from",
    "effective_to",
)
ENTITY_TYPES = {
    "audit": "Audit",
    "action": "Action",
    "plan": "Improvement plan",
    "learning_week": "Learning week",
}
ENTITY_PAGES = {
    "audit": "/audits/{}",
    "action": "/actions/{}",
    "plan": "/plans/{}",
    "learning_week": "/learning-weeks/{}",
}
VOCABULARY = frozenset(
    (*GRADES, *SERVICE_AREAS, *AUDIT_TYPES, *ACTION_STATUSES, *RAGS, *RESPONDENTS, *FINDING_KINDS)
)
LABELS = {
    "entity_type": "Kind of record",
    "entity_id": "Record",
    "actor": "Person",
    "event_type": "What happened",
    "recorded_from": "Recorded from",
    "recorded_to": "Recorded before",
    "effective_from": "Effective from",
    "effective_to": "Effective to",
    "page": "Page",
    "as_of": "The date",
    "known_at": "As known at",
}
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _event_types() -> list[str]:
    """The events the domain records (``StatusChanged``, ...), for the filter's choices."""
    found: set[str] = set()
    for aggregate in (CaseAudit, Action, ImprovementPlan, LearningWeek):
        for name, value in vars(aggregate).items():
            if isinstance(value, type) and name != "Event" and hasattr(value, "mutate"):
                found.add(name)
    return sorted(found)


EVENT_TYPES = _event_types()

task(
    "pages.trail",
    "Trail",
    "Every change recorded, who made it and when; download it as CSV or as an inspection pack",
    *READERS,
)
task(
    "pages.verification",
    "Verify the trail",
    "Check that nothing recorded was altered, removed or reordered since it was stored, "
    "and see the signed checkpoints",
    "inspector",
    "admin",
)


# Words for people.


@blp.app_template_filter("trail_date")
def trail_date(value: date | str | None) -> str:
    """``2016-02-01`` as "1 Feb 2016"."""
    if value is None or value == "":
        return ""
    day = value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


@blp.app_template_filter("trail_time")
def trail_time(value: datetime | str | None) -> str:
    """A moment in the service's time zone: "2 Feb 2016, 10:32"."""
    if value is None or value == "":
        return ""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if moment.tzinfo is not None:
        moment = moment.astimezone(service().queries.zone)
    return f"{trail_date(moment.date())}, {moment:%H:%M}"


@blp.app_template_filter("trail_words")
def words(value: Any) -> str:
    """A name from the domain's vocabularies in words (``requires_improvement`` is
    "Requires improvement", ``StatusChanged`` "Status changed"); anything else as it is."""
    if isinstance(value, str) and value in VOCABULARY:
        return "LADO" if value == "lado" else value.replace("_", " ").capitalize()
    if isinstance(value, str) and value in EVENT_TYPES:
        return re.sub(r"(?<!^)([A-Z])", r" \1", value).capitalize()
    return "" if value is None else str(value)


ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
ISO_MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


@blp.app_template_filter("trail_shown")
def shown(value: Any) -> str:
    """A value of a record's state in words: vocabulary, dates and times for people."""
    if isinstance(value, str) and ISO_DAY.match(value):
        return trail_date(value)
    if isinstance(value, str) and ISO_MOMENT.match(value):
        return trail_time(value)
    return words(value)


@blp.app_template_filter("trail_field")
def field_name(key: str) -> str:
    return key.replace("_", " ").capitalize().replace("Case ref", "Case reference")


# The trail.


def _filters(args: Any) -> tuple[dict[str, Any], dict[str, str], Errors]:
    """The trail's filters from a query string, checked by the API's ``TrailArgs``: the
    loaded values, the raw ones (to fill the form again) and any field's message."""
    raw = {name: args.get(name, "").strip() for name in FILTERS}
    wanted: dict[str, Any] = {name: value for name, value in raw.items() if value}
    if args.get("page"):
        wanted["page"] = args["page"]
    loaded, errors = load_form(TrailArgs(), {**wanted, "page_size": PAGE_SIZE})
    if loaded is None:
        return {}, raw, {name: _labelled(name, message) for name, message in errors.items()}
    loaded.pop("format")
    return loaded, raw, {}


@blp.get("/trail")
@signed_in(*READERS)
def trail() -> Any:
    filters, raw, errors = _filters(request.args)
    answer = service().queries.trail(**filters) if not errors else None
    query = {name: value for name, value in raw.items() if value}
    return render_template(
        "trail/trail.html",
        title="Trail",
        answer=answer,
        raw=raw,
        errors=errors,
        filtered=bool(query),
        query=query,
        pages=_pagination(answer, query) if answer else None,
        entity_types=ENTITY_TYPES,
        entity_pages=ENTITY_PAGES,
        event_types=EVENT_TYPES,
        pack_errors={},
        pack={},
    )


def _pagination(answer: dict[str, Any], query: dict[str, str]) -> dict[str, Any] | None:
    """GOV.UK pagination's parameters: first, last and the pages near this one."""
    last = max(1, -(-answer["total"] // answer["page_size"]))
    here = answer["page"]
    if last == 1:
        return None

    def href(number: int) -> str:
        values: dict[str, Any] = {**query, "page": number}
        return url_for("pages.trail", **values)

    shown = sorted({1, last, *range(max(1, here - 1), min(last, here + 1) + 1)})
    items: list[dict[str, Any]] = []
    for number, after in zip(shown, [*shown[1:], None], strict=True):
        items.append({"number": number, "href": href(number), "current": number == here})
        if after is not None and after > number + 1:
            items.append({"ellipsis": True})
    return {
        "items": items,
        "previous": {"href": href(here - 1)} if here > 1 else None,
        "next": {"href": href(here + 1)} if here < last else None,
        "landmarkLabel": "Pages of the trail",
    }


@blp.get("/trail.csv")
@signed_in(*READERS)
def trail_download() -> Any:
    """Every row matching the filters, as the API's CSV (streamed)."""
    filters, _raw, errors = _filters(request.args)
    if errors:
        return trail()  # the filters' messages, on the trail page
    filters.pop("page")
    filters.pop("page_size")
    rows = service().queries.trail_rows(**filters)
    return Response(
        stream_with_context(trail_csv(rows)),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="qa-trail.csv"'},
    )


@blp.get("/trail/pack")
@signed_in(*READERS)
def pack() -> Any:
    """An inspection pack as of a date (as known at a time), as a zip to download."""
    raw = {name: request.args.get(name, "").strip() for name in ("as_of", "known_at")}
    moment, errors = when(raw)
    if not raw["as_of"] and not errors.get("as_of"):
        errors = {"as_of": "Enter the date the plan status and audit register are for", **errors}
    if not errors:
        name = f"qa-pack-{moment['as_of'].isoformat()}.zip"
        try:
            data = export_pack(service(), moment["as_of"], moment["known_at"], pack_name=name)
        except ValueError as error:
            errors = {"as_of": f"No pack was made: {error}"}
        else:
            return send_file(
                io.BytesIO(data),
                mimetype="application/zip",
                as_attachment=True,
                download_name=name,
            )
    errors = {name: _labelled(name, message) for name, message in errors.items()}
    return render_template(
        "trail/pack.html",
        title="Download an inspection pack",
        errors=errors,
        pack_errors=errors,
        pack=raw,
    )


@blp.get("/trail/verify_pack.py")
@signed_in(*READERS)
def verifier() -> Any:
    return Response(
        verifier_source(),
        mimetype="text/x-python",
        headers={"Content-Disposition": 'attachment; filename="verify_pack.py"'},
    )


def _labelled(name: str, message: str) -> str:
    """A schema's message with the field's label: "Effective to: there is no 31 February
    2016"."""
    if message.startswith("Not a valid datetime"):
        message = "must be a date and time, for example 2016-04-05T09:00"
    elif message.startswith("Not a valid UUID"):
        message = "must be a record's id, as the trail shows it"
    elif message.startswith("Must be one of"):
        message = "choose one of the list"
    label = LABELS.get(name)
    if label is None or message.startswith(("Enter ", "No pack")):
        return message[:1].upper() + message[1:]
    return f"{label}: {message[:1].lower()}{message[1:]}"


# A record's history.


@blp.get("/history/<kind>/<uuid:entity_id>")
@signed_in(*READERS)
def history(kind: str, entity_id: UUID) -> Any:
    if kind not in ENTITY_TYPES:
        abort(404)
    page = request.args.get("page", "1")
    number = int(page) if page.isdigit() and 0 < int(page) < 1_000_000 else 1
    answer = HistoryOut().dump(
        service().queries.history(kind, entity_id, page=number, page_size=HISTORY_PAGE_SIZE)
    )
    before: dict[str, Any] = {}
    for row in answer["items"]:  # what each change changed, to mark it
        state = row.get("state") or {}
        skip = ("version", "as_of", "recorded_at")
        row["changed"] = {k for k, v in state.items() if k not in skip and before.get(k) != v}
        if row["entity_version"] == 1 or not before:
            row["changed"] = set()
        before = state or before
    last = max(1, -(-answer["total"] // answer["page_size"]))
    return render_template(
        "trail/history.html",
        title=f"History of {ENTITY_TYPES[kind].lower()}",
        kind=kind,
        entity_id=entity_id,
        answer=answer,
        entity_types=ENTITY_TYPES,
        entity_page=ENTITY_PAGES[kind].format(entity_id),
        previous_page=number - 1 if number > 1 else None,
        next_page=number + 1 if number < last else None,
    )


# Verification.


@blp.get("/trail/verify")
@signed_in(*READERS)
def verification() -> Any:
    """The signed checkpoints, and with ``?run=yes`` the chain and the read models
    verified now (a second or two on the demo data)."""
    svc = service()
    checkpoints = stored_checkpoints(svc)
    verdict, problems = None, []
    if request.args.get("run"):
        positions = [c["signed"]["position"] for c in checkpoints]
        verdict = svc.reads.verify(at=positions)
        problems = check_checkpoints(svc, verdict.hashes_at) if verdict.chain_ok else []
    return render_template(
        "trail/verify.html",
        title="Verify the trail",
        verdict=verdict,
        checkpoint_problems=problems,
        checkpoints=list(reversed(checkpoints)),
        # shown, never made here: the first checkpoint or pack makes the key
        public_key=signer(svc.settings).public_hex if key_path(svc.settings).exists() else None,
    )
