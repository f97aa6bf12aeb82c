"""A report as a file to save or send, in the format asked for: one place that names
the files and knows their media types, for the pages and the command line."""

from __future__ import annotations

from qa_service.exports import XLSX_TYPE, Download
from qa_service.reports import render
from qa_service.reports.quarterly import QuarterlyReport
from qa_service.reports.six_monthly import SixMonthlyReport
from qa_service.reports.spreadsheet import quarterly_xlsx, six_monthly_xlsx

FORMATS = ("html", "pdf", "xlsx")
HTML_TYPE = "text/html; charset=utf-8"
PDF_TYPE = "application/pdf"


def _known(report: QuarterlyReport | SixMonthlyReport) -> str:
    return f"-as-known-{report.known_at:%Y-%m-%d-%H%M}" if report.known_at_given else ""


def quarterly_file(report: QuarterlyReport, fmt: str) -> Download:
    quarter = report.label.replace(" ", "-").replace("/", "-")
    stem = f"monitoring-report-{quarter}{_known(report)}"
    if fmt == "xlsx":
        return Download(f"{stem}.xlsx", XLSX_TYPE, quarterly_xlsx(report))
    html = render.quarterly_html(report)
    if fmt == "pdf":
        return Download(f"{stem}.pdf", PDF_TYPE, render.pdf(html))
    if fmt == "html":
        return Download(f"{stem}.html", HTML_TYPE, html.encode())
    raise ValueError(f"no such format: {fmt} (one of {', '.join(FORMATS)})")


def six_monthly_file(report: SixMonthlyReport, fmt: str) -> Download:
    period = report.period
    stem = f"qa-report-{period.first:%Y-%m-%d}-to-{period.last:%Y-%m-%d}{_known(report)}"
    if fmt == "xlsx":
        return Download(f"{stem}.xlsx", XLSX_TYPE, six_monthly_xlsx(report))
    html = render.six_monthly_html(report)
    if fmt == "pdf":
        return Download(f"{stem}.pdf", PDF_TYPE, render.pdf(html))
    if fmt == "html":
        return Download(f"{stem}.html", HTML_TYPE, html.encode())
    raise ValueError(f"no such format: {fmt} (one of {', '.join(FORMATS)})")
