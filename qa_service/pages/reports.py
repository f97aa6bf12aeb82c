"""The reports that go to committee, in a browser: a page to choose one (a plan and a
quarter, or a period; and "as known at" a time, as the committee saw it), then the
report itself as a printable page, a PDF or a spreadsheet.

The report page is the report's own standalone HTML (``qa_service.reports.render``), not
a page in the service's layout: it prints as the committee paper. Its stylesheet and
its one script are served from here, since the pages' Content-Security-Policy allows no
inline style or script.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from flask import Response, render_template, request, url_for

from events import InvalidInput
from events.quarters import Quarter, parse_quarter, quarter_of
from qa_service.errors import NotFound
from qa_service.pages.common import Errors, blp, error_page, service, signed_in, task, when
from qa_service.reports import render
from qa_service.reports.files import quarterly_file, six_monthly_file
from qa_service.reports.quarterly import QuarterlyReport, quarterly_report
from qa_service.reports.six_monthly import SixMonthlyReport, month_or_day, six_monthly_report

task(
    "pages.reports",
    "Reports",
    "The quarterly monitoring report of a plan and the six-monthly QA report, to print or download",
)

MEDIA_TYPES = {render.STYLESHEET: "text/css; charset=utf-8", render.SCRIPT: "text/javascript"}
QUARTER_HINT = "Like Q1 2016/17 (April to June 2016), or 2016-Q2"


@blp.get("/reports")
@signed_in()
def reports() -> Any:
    return _chooser({}, which=None)


@blp.get("/reports/quarterly")
@signed_in()
def quarterly() -> Any:
    report, errors = _quarterly()
    if report is None:
        return _chooser(errors, which="quarterly")
    args = _args(request.args, "plan", "quarter", "known_at")
    toolbar = {
        "Back to reports": _with_query(url_for("pages.reports"), args),
        "The plan's dashboard": url_for(
            "pages.plan",
            plan_id=report.plan_id,
            as_of=report.as_of.isoformat(),
            known_at=args.get("known_at"),
        ),
        "Print": _file_url("pages.quarterly_file", "pdf", args),
        "Download PDF": _file_url("pages.quarterly_file", "pdf", args),
        "Download spreadsheet (XLSX)": _file_url("pages.quarterly_file", "xlsx", args),
    }
    return _page(render.quarterly_html(report, **_assets(), toolbar=toolbar))


@blp.get("/reports/quarterly.<any(pdf, xlsx):fmt>", endpoint="quarterly_file")
@signed_in()
def quarterly_download(fmt: str) -> Any:
    report, errors = _quarterly()
    if report is None:
        return _chooser(errors, which="quarterly")
    return _download(lambda: quarterly_file(report, fmt))


@blp.get("/reports/six-monthly")
@signed_in()
def six_monthly() -> Any:
    report, errors = _six_monthly()
    if report is None:
        return _chooser(errors, which="six_monthly")
    args = _args(request.args, "from", "to", "known_at")
    toolbar = {
        "Back to reports": _with_query(url_for("pages.reports"), _six_monthly_back(args)),
        "Print": _file_url("pages.six_monthly_file", "pdf", args),
        "Download PDF": _file_url("pages.six_monthly_file", "pdf", args),
        "Download spreadsheet (XLSX)": _file_url("pages.six_monthly_file", "xlsx", args),
    }
    return _page(render.six_monthly_html(report, **_assets(), toolbar=toolbar))


@blp.get("/reports/six-monthly.<any(pdf, xlsx):fmt>", endpoint="six_monthly_file")
@signed_in()
def six_monthly_download(fmt: str) -> Any:
    report, errors = _six_monthly()
    if report is None:
        return _chooser(errors, which="six_monthly")
    return _download(lambda: six_monthly_file(report, fmt))


@blp.get("/reports/assets/<name>")
def report_asset(name: str) -> Any:
    """The reports' stylesheet and script (nothing in them is anyone's record)."""
    if name not in MEDIA_TYPES:
        return error_page(404)
    return Response(render.static_file(name), mimetype=MEDIA_TYPES[name])


# Reading the choice.


def _quarterly() -> tuple[QuarterlyReport | None, Errors]:
    """The quarterly report the query string asks for, or the messages saying why not."""
    args = request.args
    errors: Errors = {}
    plans = _plans()
    chosen = args.get("plan", "").strip() or (str(plans[0]["id"]) if len(plans) == 1 else "")
    plan_id = None
    try:
        plan_id = UUID(chosen)
    except ValueError:
        errors["plan"] = "Choose the plan"
    quarter = None
    try:
        quarter = parse_quarter(args.get("quarter", ""))
    except ValueError as error:
        message = str(error)
        if not args.get("quarter", "").strip():
            message = "Enter the quarter, like Q1 2016/17 (April to June 2016), 2016-Q2 or Q2 2016"
        elif message.startswith("must"):
            message = f"The quarter {message}"
        errors["quarter"] = _upper_first(message)
    moment, wrong = _known_at(args)
    if wrong:
        errors["known_at"] = wrong
    if errors or plan_id is None or quarter is None:
        return None, errors
    try:
        report = quarterly_report(
            service().queries,
            plan_id,
            quarter,
            known_at=moment.get("known_at"),
            year_style=service().settings.report_year,
        )
    except NotFound as missing:
        if not any(p["id"] == plan_id for p in plans):
            return None, {"plan": "Choose the plan"}
        if "published" in str(missing):  # after the quarter ended
            return None, {"quarter": _upper_first(str(missing))}
        return None, {
            "known_at": "The plan was not yet in the log at that time: choose a later one"
        }
    return report, {}


def _six_monthly() -> tuple[SixMonthlyReport | None, Errors]:
    args = request.args
    errors: Errors = {}
    first = _month_or_day(args.get("from", ""), last=False)
    last = _month_or_day(args.get("to", ""), last=True)
    if first is None:
        errors["from"] = "Enter the first month of the period, like 2018-10"
    if last is None:
        errors["to"] = "Enter the last month of the period, like 2019-03"
    if first is not None and last is not None and last < first:
        errors["to"] = "The last month must not be before the first"
    moment, wrong = _known_at(args)
    if wrong:
        errors["six_known_at"] = wrong
    if errors or first is None or last is None:
        return None, errors
    try:
        report = six_monthly_report(service().queries, first, last, known_at=moment.get("known_at"))
    except InvalidInput as invalid:
        return None, {f: _upper_first(" ".join(m)) for f, m in invalid.errors.items()}
    return report, {}


def _known_at(args: Mapping[str, str]) -> tuple[dict[str, Any], str | None]:
    """``known_at`` checked by the API's own rule; a message in words if it is wrong."""
    moment, wrong = when({"known_at": args.get("known_at", "").strip()})
    if not wrong:
        return moment, None
    message = wrong["known_at"]
    if message.startswith("Not a valid"):
        message = "Enter the date and time it was known at, like 2016-07-20T18:00"
    return {}, _upper_first(message)


def _month_or_day(value: str, *, last: bool) -> date | None:
    try:
        return month_or_day(value, last=last)
    except ValueError:
        return None


def _plans() -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = service().queries.plans(page_size=100)["items"]
    return items


# Answering.


def _chooser(errors: Errors, *, which: str | None) -> Any:
    """The page to choose a report, with what was asked (and what was wrong with it)."""
    plans = _plans()
    today = service().queries.today()
    latest = quarter_of(today).previous()
    return render_template(
        "reports/choose.html",
        title="Reports",
        plans=plans,
        errors=errors,
        which=which,
        asked=request.args,
        quarters=_quarters(plans, latest),
        default_quarter=latest.label(service().settings.report_year),
        default_period=_last_half_year(today),
        hint=QUARTER_HINT,
    )


def _quarters(plans: list[dict[str, Any]], latest: Quarter) -> list[str]:
    """The quarters a report can be of: from the first plan's publication to the last
    whole quarter, newest first."""
    if not plans:
        return []
    style = service().settings.report_year
    out: list[str] = []
    quarter = latest
    first = quarter_of(min(p["published_on"] for p in plans))
    while quarter >= first and len(out) < 80:
        out.append(quarter.label(style))
        quarter = quarter.previous()
    return out


def _last_half_year(today: date) -> tuple[str, str]:
    """The last whole six months ending in March or September (as councils report)."""
    year, month = today.year, today.month
    if month >= 10:
        return f"{year}-04", f"{year}-09"
    if month >= 4:
        return f"{year - 1}-10", f"{year}-03"
    return f"{year - 1}-04", f"{year - 1}-09"


def _page(html: str) -> Response:
    return Response(html, mimetype="text/html")


def _download(make: Any) -> Any:
    try:
        file = make()
    except render.PdfUnavailable as unavailable:
        return error_page(503, _upper_first(str(unavailable)) + ".")
    return Response(file.body, mimetype=file.mimetype, headers=file.headers)


def _assets() -> dict[str, str]:
    return {
        "stylesheet_href": url_for("pages.report_asset", name=render.STYLESHEET),
        "script_href": url_for("pages.report_asset", name=render.SCRIPT),
    }


def _args(args: Mapping[str, str], *names: str) -> dict[str, str]:
    return {name: args[name] for name in names if args.get(name, "").strip()}


def _six_monthly_back(args: dict[str, str]) -> dict[str, str]:
    return {("six_known_at" if k == "known_at" else k): v for k, v in args.items()}


def _file_url(endpoint: str, fmt: str, args: dict[str, str]) -> str:
    return _with_query(url_for(endpoint, fmt=fmt), args)


def _with_query(path: str, args: dict[str, str]) -> str:
    return f"{path}?{urlencode(args)}" if args else path


def _upper_first(message: str) -> str:
    return message[:1].upper() + message[1:]
