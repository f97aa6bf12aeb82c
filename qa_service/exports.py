"""Files people download: the trail as CSV (``GET /api/trail?format=csv`` and ``trail.csv``
in an inspection pack), and the spreadsheets a committee clerk works from (the action
tracker, the audit register and a plan's status, as XLSX or CSV), written through one
small API that the reports use too: a ``Sheet`` is a title, its columns (the key in each
row and a heading for people), its rows and a few lines of notes; ``xlsx(sheets)`` makes
a workbook of them and ``csv_lines(sheet)`` a CSV of one.

People open these files in a spreadsheet, and a spreadsheet runs a cell that starts with
``=``, ``+``, ``-`` or ``@`` as a formula (``=HYPERLINK(...)`` in an action's description
would become a live link). In a CSV such a cell, and one starting with a tab or carriage
return, is written with a single quote in front, as OWASP advises ("CSV injection"): the
spreadsheet shows the text and runs nothing. In an XLSX every string is stored as text,
never as a formula, and such a cell is marked "quote prefix" as well, so that it stays
text even when someone edits it.

What a file holds, as of which day, as known at which time and with which filters, is
written in the notes above an XLSX sheet's table. A CSV stays a plain table (its first
line is the headings, so that any program reads it): the day and time are in its file's
name, and the filters are the ones the link or request gave. A CSV starts with a UTF-8
byte-order mark, so that Excel reads its accents and dashes right.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.worksheet import Worksheet

from events.rules import JUDGEMENT_DOMAINS
from qa_service.schemas.trail import TrailRowOut
from qa_service.words import day, label

TRAIL_COLUMNS = list(TrailRowOut().fields)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CSV_TYPE = "text/csv"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMATS = ("csv", "xlsx")


def csv_cell(value: object) -> object:
    """As the JSON form writes it (ISO dates and times, true/false, empty for none), with
    anything a spreadsheet would run as a formula made inert."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def trail_csv(rows: Iterable[dict[str, Any]]) -> Iterator[str]:
    """The header, then every row, yielded 500 rows at a time (constant memory)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(TRAIL_COLUMNS)
    for i, row in enumerate(rows, 1):
        writer.writerow([csv_cell(row[name]) for name in TRAIL_COLUMNS])
        if i % 500 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


# Sheets: the generic part.


@dataclass(frozen=True)
class Sheet:
    """One table: ``columns`` are (key in each row, heading); ``notes`` are the lines an
    XLSX writes above the table (what it is, as of, as known at, which filters)."""

    title: str  # the worksheet's name (made safe for Excel: at most 31 characters)
    columns: Sequence[tuple[str, str]]
    rows: Iterable[Mapping[str, Any]]
    notes: Sequence[str] = ()


def _shown(value: Any) -> Any:
    """A row's value as a cell holds it: yes/no for a flag, a list joined with ", ",
    an id as text; dates, numbers and text as they are."""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, list | tuple):
        return ", ".join(str(item) for item in value)
    if isinstance(value, UUID):
        return str(value)
    return value


def csv_lines(sheet: Sheet) -> Iterator[str]:
    """The headings, then every row (``notes`` are not written: see the module's notes),
    yielded 500 rows at a time. Dates are ISO (2016-03-31), times 2016-07-05 17:00."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([csv_cell(heading) for _, heading in sheet.columns])
    for i, row in enumerate(sheet.rows, 1):
        cells = []
        for key, _ in sheet.columns:
            value = _shown(row.get(key))
            if isinstance(value, datetime):
                value = value.isoformat(sep=" ", timespec="minutes")
            cells.append(csv_cell(value))
        writer.writerow(cells)
        if i % 500 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def csv_bytes(sheet: Sheet) -> bytes:
    """The CSV as a file: UTF-8 with a byte-order mark (Excel then reads it as UTF-8)."""
    return "".join(csv_lines(sheet)).encode("utf-8-sig")


DATE_FORMAT = "d mmm yyyy"
TIME_FORMAT = "d mmm yyyy hh:mm"
WIDEST = 60  # characters: a longer text wraps
LONGEST = 32_767  # characters in a cell, at most (Excel's limit)
CUT = " [cut here: a cell holds at most 32,767 characters]"
BOLD = Font(bold=True)
TITLE = Font(bold=True, size=14)
HEADING_FILL = PatternFill("solid", fgColor="DDDDDD")
WRAP = Alignment(wrap_text=True, vertical="top")
TOP = Alignment(vertical="top")


def xlsx(sheets: Sequence[Sheet]) -> bytes:
    """A workbook with a worksheet per sheet: its notes (the first in bold, as its title),
    a blank row, the bold headings (frozen, with filter buttons, repeated on each printed
    page), then the rows; dates are Excel dates, columns as wide as their contents."""
    book = Workbook()
    book.remove(book.active)  # type: ignore[arg-type]
    book.properties.creator = "QA log"
    used: set[str] = set()
    for sheet in sheets:
        _write(book.create_sheet(_sheet_title(sheet.title, used)), sheet)
    if not book.worksheets:
        book.create_sheet("Empty")
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _sheet_title(title: str, used: set[str]) -> str:
    """A worksheet name Excel takes: none of []:*?/\\, no quote at either end, at most 31
    characters, and unlike the workbook's others (in any case)."""
    name = re.sub(r"[\[\]:*?/\\\x00-\x1f]", " ", title).strip().strip("'").strip() or "Sheet"
    name = " ".join(name.split())[:31].strip()
    candidate, n = name, 1
    while candidate.lower() in used:
        n += 1
        suffix = f" ({n})"
        candidate = name[: 31 - len(suffix)].rstrip() + suffix
    used.add(candidate.lower())
    return candidate


def _write(ws: Worksheet, sheet: Sheet) -> None:
    for i, note in enumerate(sheet.notes):
        cell = ws.cell(row=i + 1, column=1)
        _put(cell, note)
        if i == 0:
            cell.font = TITLE
    top = len(sheet.notes) + 2 if sheet.notes else 1  # the headings' row
    widths = [len(heading) for _, heading in sheet.columns]
    for col, (_, heading) in enumerate(sheet.columns, 1):
        cell = ws.cell(row=top, column=col)
        _put(cell, heading)
        cell.font, cell.fill, cell.alignment = BOLD, HEADING_FILL, WRAP
    row_number = top
    for row in sheet.rows:
        row_number += 1
        for col, (key, _) in enumerate(sheet.columns, 1):
            value = _shown(row.get(key))
            if value is None or value == "":
                continue
            cell = ws.cell(row=row_number, column=col)
            widths[col - 1] = max(widths[col - 1], _put(cell, value))
            cell.alignment = WRAP if isinstance(value, str) else TOP
    last = get_column_letter(max(1, len(sheet.columns)))
    ws.freeze_panes = f"A{top + 1}"
    ws.auto_filter.ref = f"A{top}:{last}{max(row_number, top)}"
    ws.print_title_rows = f"{top}:{top}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    for col, width in enumerate(widths, 1):
        ws.column_dimensions[get_column_letter(col)].width = min(WIDEST, max(8, width + 2))


def _put(cell: Any, value: Any) -> int:
    """Write one value, as text if it is text (never a formula), and say how wide it is."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.replace(tzinfo=None)  # Excel has no zones: the time as written
        cell.value = value
        cell.number_format = TIME_FORMAT
        return 17
    if isinstance(value, date):
        cell.value = value
        cell.number_format = DATE_FORMAT
        return 11
    if isinstance(value, int | float):
        cell.value = value
        return len(str(value))
    text = ILLEGAL_CHARACTERS_RE.sub("", str(value))  # the schemas refuse them anyway
    if len(text) > LONGEST:
        text = text[: LONGEST - len(CUT)] + CUT
    cell.value = text
    cell.data_type = "s"  # openpyxl would take "=..." for a formula
    if text.startswith(FORMULA_STARTS):
        cell.quotePrefix = True
    return max((len(line) for line in text.splitlines()), default=0)


@dataclass(frozen=True)
class Download:
    """A file to send: its name, its media type and its bytes."""

    filename: str
    mimetype: str
    body: bytes

    @property
    def headers(self) -> dict[str, str]:
        return {"Content-Disposition": f'attachment; filename="{self.filename}"'}


def download(sheets: Sequence[Sheet], fmt: str, stem: str) -> Download:
    """The sheets as ``fmt`` (``xlsx``: all of them; ``csv``: the first one's table)."""
    if fmt == "xlsx":
        return Download(f"{stem}.xlsx", XLSX_TYPE, xlsx(sheets))
    if fmt == "csv":
        return Download(f"{stem}.csv", CSV_TYPE, csv_bytes(sheets[0]))
    raise ValueError(f"no such format: {fmt}")


# Words, for the notes and the cells.


def _day_or(value: date | None, otherwise: str) -> str:
    return otherwise if value is None else day(value)


def _local(moment: datetime, zone: ZoneInfo) -> datetime:
    """A moment in the service's time zone, without the zone (as a spreadsheet shows it)."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)
    return aware.astimezone(zone).replace(tzinfo=None)


def when_notes(as_of: date, known_at: datetime | None, zone: ZoneInfo, state: str) -> list[str]:
    """The as-of and as-known-at lines: ``state`` is what the rows are on that day."""
    notes = [f"As of {day(as_of)}: {state} at the end of that day."]
    if known_at is None:
        notes.append("As known when this file was made: everything recorded by then.")
    else:
        local = _local(known_at, zone)
        notes.append(
            f"As known at {day(local.date())}, {local:%H:%M} ({zone.key}): only what had "
            "been recorded by then."
        )
    return notes


def stem(what: str, as_of: date, known_at: datetime | None, zone: ZoneInfo) -> str:
    """A file's name without its extension: ``action-tracker-2016-06-30``, and
    ``...-known-2016-07-05-1700`` when as known at a time."""
    name = f"{what}-{as_of.isoformat()}"
    if known_at is not None:
        name += f"-known-{_local(known_at, zone):%Y-%m-%d-%H%M}"
    return name


def _filters_note(filters: Sequence[str]) -> str:
    return "Filters: " + ("; ".join(filters) if filters else "none") + "."


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


# The action tracker.

STATUS_WORDS = {
    "not_started": "Not started",
    "in_progress": "In progress",
    "completed": "Completed",
    "cancelled": "Cancelled",
}
TO_BE_CONFIRMED = "To be confirmed"

ACTION_COLUMNS = (
    ("description", "Action"),
    ("raised_from", "Raised from"),
    ("recommendation", "Recommendation"),
    ("case_ref", "Case reference"),
    ("owners", "Owners"),
    ("original_due", "Due date (original)"),
    ("due", "Due date (now)"),
    ("times_moved", "Times moved"),
    ("moves", "Due date changes"),
    ("status", "Status"),
    ("status_since", "Status since"),
    ("status_reason", "Status reason"),
    ("overdue", "Overdue"),
    ("raised_on", "Raised on"),
    ("raised_by", "Raised by"),
    ("id", "Action id"),
)


def action_row(action: Mapping[str, Any]) -> dict[str, Any]:
    """An action as the tracker's spreadsheet shows it (``due_date_history`` included)."""
    moves = action.get("due_date_history") or []
    return {
        **action,
        "raised_from": "Plan" if action["origin"] == "plan" else "Case audit",
        "original_due": action["original_due_on"] or TO_BE_CONFIRMED,
        "due": action["due_on"] or TO_BE_CONFIRMED,
        "times_moved": len(moves),
        "moves": "\n".join(
            f"{day(move['effective_on'])}: from {_day_or(move['from'], 'to be confirmed')} "
            f"to {_day_or(move['to'], 'to be confirmed')}"
            + (f" ({move['reason']})" if move.get("reason") else "")
            + f", by {move['recorded_by']}"
            for move in moves
        ),
        "status": STATUS_WORDS.get(action["status"], action["status"]),
    }


def action_tracker(
    answer: Mapping[str, Any],
    filters: Mapping[str, Any],
    known_at: datetime | None,
    zone: ZoneInfo,
) -> tuple[list[Sheet], str]:
    """The tracker's sheet and its file's stem, from ``Queries.action_rows``."""
    items = answer["items"]
    said = []
    for key, name in (
        ("owner", "owner"),
        ("plan_id", "plan"),
        ("recommendation", "recommendation"),
        ("audit_id", "audit"),
    ):
        if filters.get(key) is not None:
            said.append(f"{name} {filters[key]}")
    if filters.get("status") is not None:
        said.append(f"status {STATUS_WORDS.get(filters['status'], filters['status'])}")
    if filters.get("origin") is not None:
        said.append("raised from a plan" if filters["origin"] == "plan" else "raised by an audit")
    if filters.get("overdue") is not None:
        said.append("overdue only" if filters["overdue"] else "not overdue only")
    notes = [
        "Action tracker",
        *when_notes(answer["as_of"], known_at, zone, "each action as it stood"),
        _filters_note(said),
        _count(len(items), "action.", "actions."),
    ]
    sheet = Sheet("Action tracker", ACTION_COLUMNS, [action_row(a) for a in items], notes)
    return [sheet], stem("action-tracker", answer["as_of"], known_at, zone)


# The audit register.

AUDIT_COLUMNS = (
    ("case_ref", "Case reference"),
    ("audited_on", "Audited on"),
    ("service_area", "Service area"),
    ("audit_type", "Audit type"),
    ("theme", "Theme"),
    ("grade", "Grade"),
    ("auditor_grade", "Auditor's grade"),
    ("moderated", "Moderated"),
    ("moderator", "Moderated by"),
    *((f"judgement.{domain}", label(domain)) for domain in JUDGEMENT_DOMAINS),
    ("strengths", "What is going well"),
    ("improvements", "Areas for improvement"),
    ("auditor", "Auditor"),
    ("recorded_at", "Recorded at"),
    ("late", "Recorded late"),
    ("corrections", "Corrections"),
    ("withdrawn", "Withdrawn"),
    ("id", "Audit id"),
)


def audit_row(audit: Mapping[str, Any], zone: ZoneInfo) -> dict[str, Any]:
    moderation = audit.get("moderation")
    judgements = audit.get("judgements") or {}
    return {
        **audit,
        "service_area": label(audit["service_area"]),
        "audit_type": label(audit["audit_type"]),
        "grade": label(audit["grade"]),
        "auditor_grade": label(audit["auditor_grade"]),
        "moderated": moderation is not None,
        "moderator": moderation["moderator"] if moderation else None,
        **{f"judgement.{d}": label(judgements.get(d)) for d in JUDGEMENT_DOMAINS},
        "strengths": "\n".join(audit.get("strengths") or []),
        "improvements": "\n".join(audit.get("improvements") or []),
        "recorded_at": _local(audit["recorded_at"], zone),
        "withdrawn": audit.get("withdrawn") is not None,
    }


def audit_register(
    answer: Mapping[str, Any],
    filters: Mapping[str, Any],
    known_at: datetime | None,
    zone: ZoneInfo,
) -> tuple[list[Sheet], str]:
    """The register's sheet and its file's stem, from ``Queries.audit_rows``."""
    items = answer["items"]
    said = []
    for key in ("service_area", "grade", "audit_type"):
        if filters.get(key) is not None:
            said.append(f"{key.replace('_', ' ')} {label(filters[key])}")
    if filters.get("theme") is not None:
        said.append(f"theme {filters['theme']}")
    if filters.get("learning_week_id") is not None:
        said.append(f"learning week {filters['learning_week_id']}")
    if filters.get("audited_from") is not None:
        said.append(f"audited on or after {day(filters['audited_from'])}")
    if filters.get("audited_to") is not None:
        said.append(f"audited on or before {day(filters['audited_to'])}")
    withdrawn = "included" if filters.get("include_withdrawn") else "left out"
    said.append(f"withdrawn audits {withdrawn}")
    notes = [
        "Audit register",
        *when_notes(answer["as_of"], known_at, zone, "each audit as it stood"),
        _filters_note(said),
        _count(len(items), "audit, most recent first.", "audits, most recent first."),
    ]
    rows = [audit_row(audit, zone) for audit in items]
    sheet = Sheet("Audit register", AUDIT_COLUMNS, rows, notes)
    return [sheet], stem("audit-register", answer["as_of"], known_at, zone)


# A plan's status.

RAG_WORDS = {"green": "Green", "amber": "Amber", "red": "Red"}
NOT_REVIEWED = "Not reviewed yet"

PLAN_COLUMNS = (
    ("recommendation", "Recommendation"),
    ("area", "Area"),
    ("leads", "Leads"),
    ("progress", "Progress RAG (latest)"),
    ("impact", "Impact RAG (latest)"),
    ("reviewed", "Latest review"),
    ("description", "Action"),
    ("owners", "Owners"),
    ("original_due", "Due date (original)"),
    ("due", "Due date (now)"),
    ("times_moved", "Times moved"),
    ("status", "Status"),
    ("status_since", "Status since"),
    ("overdue", "Overdue"),
    ("id", "Action id"),
)
RECOMMENDATION_COLUMNS = (
    ("number", "Recommendation"),
    ("area", "Area"),
    ("text", "Recommendation text"),
    ("leads", "Leads"),
    ("actions", "Actions"),
    ("completed", "Completed"),
    ("overdue", "Overdue"),
    ("reviewed", "Latest review"),
    ("progress", "Progress RAG (latest)"),
    ("impact", "Impact RAG (latest)"),
    ("commentary", "Commentary (latest review)"),
)


def _review_cells(review: Mapping[str, Any] | None) -> dict[str, Any]:
    if review is None:
        return {"reviewed": NOT_REVIEWED, "progress": None, "impact": None, "commentary": None}
    return {
        "reviewed": review.get("quarter_label") or review["quarter"],
        "progress": RAG_WORDS.get(review["progress"], review["progress"]),
        "impact": RAG_WORDS.get(review["impact"], review["impact"]),
        "commentary": review.get("commentary"),
    }


def plan_status(
    plan: Mapping[str, Any], known_at: datetime | None, zone: ZoneInfo
) -> tuple[list[Sheet], str]:
    """A plan's status, from ``Queries.plan(..., with_moves=True)``: a row per action with
    its recommendation's number, area and latest RAG review (a recommendation with no
    actions has a row of its own), and a second sheet of the recommendations."""
    rows: list[dict[str, Any]] = []
    recommendations: list[dict[str, Any]] = []
    for rec in plan["recommendations"]:
        review = _review_cells(rec.get("latest_review"))
        about = {"recommendation": rec["number"], "area": rec["area"], "leads": rec["leads"]}
        for action in rec["actions"]:
            rows.append({**action_row(action), **about, **review})
        if not rec["actions"]:
            rows.append({**about, **review, "description": "No actions yet"})
        recommendations.append(
            {
                **rec,
                **review,
                "actions": len(rec["actions"]),
                "completed": sum(a["status"] == "completed" for a in rec["actions"]),
                "overdue": sum(bool(a["overdue"]) for a in rec["actions"]),
            }
        )
    counts = plan["counts"]
    notes = [
        f"Plan status: {plan['title']}",
        f"In answer to: {plan['source']}. Published {day(plan['published_on'])}.",
        *when_notes(plan["as_of"], known_at, zone, "the plan as it stood"),
        f"{_count(counts['actions'], 'action', 'actions')}: {counts['completed']} completed, "
        f"{counts['overdue']} overdue. A row per action, with its recommendation's latest "
        "quarterly review.",
    ]
    sheets = [
        Sheet("Plan status", PLAN_COLUMNS, rows, notes),
        Sheet("Recommendations", RECOMMENDATION_COLUMNS, recommendations, notes),
    ]
    return sheets, stem("plan-status", plan["as_of"], known_at, zone)
