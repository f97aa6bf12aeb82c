"""The committee reports rendered: a standalone HTML document (the page, the printable
paper, the CLI's HTML file) and a PDF of it.

One set of Jinja templates (``templates/``, autoescaped) and one stylesheet
(``static/report.css``) for every rendering. The web page links the stylesheet (the
pages' Content-Security-Policy forbids inline styles) and a small script served from the
site (``static/report.js``: "Print" opens the browser's print dialog; without it, the
link downloads the PDF); the PDF and the HTML file carry the stylesheet inline, so they
stand alone.

The PDF is WeasyPrint's, imported only when one is asked for: the service runs without
it, and says which system libraries to install when Pango is missing. WeasyPrint fetches
nothing while rendering (a report is self-contained: inline SVG, no images, no fonts
from anywhere but the system), so no text in a report can make it reach a URL or a file.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from importlib import resources
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from events.quarters import Quarter
from qa_service.charts import (
    good_or_better_trend,
    grade_mix,
    learning_week_trend,
    moderation_agreement,
    rag_history,
)
from qa_service.reports.quarterly import QuarterlyReport
from qa_service.reports.six_monthly import SixMonthlyReport
from qa_service.words import DIRECTIONS, RAG_LABELS, day, label, moment, months

STYLESHEET = "report.css"
SCRIPT = "report.js"
PANGO_PACKAGES = "libpango-1.0-0 libpangoft2-1.0-0"

# Only for the PDF: WeasyPrint moves each page's footer into the page's bottom margin (a
# running element: browsers cannot, so they fix it to the foot of the page instead).
PDF_CSS = """
main { padding-bottom: 0 !important; }
.qa-footer { position: running(qa-footer) !important; display: block !important; }
@page {
  @bottom-left { content: element(qa-footer); width: 82%; vertical-align: top; padding-top: 2.5mm; }
}
"""  # a user stylesheet (WeasyPrint's ``stylesheets``): ``!important`` wins over the page's


class PdfUnavailable(RuntimeError):
    """WeasyPrint, or the system libraries it draws text with, is not installed."""


def stylesheet() -> str:
    """The reports' stylesheet (for the pages to serve, and to inline)."""
    return static_file(STYLESHEET).decode()


def static_file(name: str) -> bytes:
    """One of the reports' static files (``report.css``, ``report.js``)."""
    if name not in (STYLESHEET, SCRIPT):
        raise FileNotFoundError(name)
    return resources.files("qa_service.reports").joinpath("static", name).read_bytes()


def quarterly_html(
    report: QuarterlyReport,
    *,
    stylesheet_href: str | None = None,
    toolbar: Mapping[str, str] | None = None,
    script_href: str | None = None,
) -> str:
    """The quarterly monitoring report as a standalone HTML document. ``stylesheet_href``
    links the stylesheet instead of inlining it (the web page); ``toolbar`` (web only) is
    a non-printing bar of links, text to address ("Print" opens the print dialog when
    ``script_href``, the reports' script, is given)."""
    charts = [
        rag_history(
            report.rag_totals(),
            rating=rating,
            recommendations=len(report.recommendations),
            year_style=report.year_style,
        )
        for rating in ("progress", "impact")
    ]
    return _render(
        "quarterly.html",
        report=report,
        charts=charts,
        stylesheet_href=stylesheet_href,
        toolbar=toolbar,
        script_href=script_href,
    )


def six_monthly_html(
    report: SixMonthlyReport,
    *,
    stylesheet_href: str | None = None,
    toolbar: Mapping[str, str] | None = None,
    script_href: str | None = None,
) -> str:
    """The six-monthly quality assurance report as a standalone HTML document (the
    arguments as for :func:`quarterly_html`)."""
    dist = report.distribution
    period = report.label
    weeks = [dataclasses.asdict(week) for week in report.weeks]
    charts = {
        "month": grade_mix(dist["month"], by="month", period=period),
        "trend": good_or_better_trend(dist["month"], period=period),
        "service_area": grade_mix(dist["service_area"], by="service_area", period=period),
        "audit_type": grade_mix(dist["audit_type"], by="audit_type", period=period),
        "moderation": moderation_agreement(report.moderation, period=period),
        "weeks": learning_week_trend(weeks) if weeks else (),
    }
    return _render(
        "six_monthly.html",
        report=report,
        charts=charts,
        stylesheet_href=stylesheet_href,
        toolbar=toolbar,
        script_href=script_href,
    )


def pdf(html: str) -> bytes:
    """The report's HTML as an A4 PDF (WeasyPrint): its page footers in the margin."""
    try:
        import weasyprint  # type: ignore[import-untyped]  # noqa: PLC0415 (lazy: needs Pango)
    except OSError as error:  # WeasyPrint loads Pango through ctypes when imported
        raise PdfUnavailable(
            "cannot make a PDF: WeasyPrint needs the Pango text libraries "
            f"(on Debian or Ubuntu: apt-get install {PANGO_PACKAGES}): {error}"
        ) from None
    except ImportError as error:
        raise PdfUnavailable(
            f"cannot make a PDF: WeasyPrint is not installed ({error}); "
            "pip install weasyprint, with the system packages " + PANGO_PACKAGES
        ) from None
    document = weasyprint.HTML(string=html, url_fetcher=_fetch_nothing)
    out: bytes = document.write_pdf(stylesheets=[weasyprint.CSS(string=PDF_CSS)])
    return out


def _fetch_nothing(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    raise ValueError(f"a report fetches nothing while it is rendered: {url}")


# Templates.


def _render(template: str, **context: Any) -> str:
    if context["stylesheet_href"] is None:
        context["css"] = stylesheet()
    return _environment().get_template(template).render(**context)


@functools.cache
def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("qa_service.reports", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        day=day,
        day_or_tbc=lambda value: day(value) if value else "to be confirmed",
        moment=moment,
        months=_months,
        label=label,
        rag_word=lambda value: RAG_LABELS.get(value, label(value)),
        direction_words=lambda word: DIRECTIONS.get(word, ("", label(word))),
        upper_first=lambda text: text[:1].upper() + text[1:],
        percent=_percent,
    )
    return env


def _months(value: Quarter | tuple[date, date]) -> str:
    """A quarter's months in full ("April to June 2016"), or a period's."""
    if isinstance(value, Quarter):
        return months(value.first, value.last)
    return months(*value)


def _percent(share: float | None, otherwise: str = "none") -> str:
    """A share as a whole percentage, halves rounded up (as the charts write it)."""
    if share is None:
        return otherwise
    whole = (Decimal(str(share)) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return f"{whole}%"


__all__ = [
    "PdfUnavailable",
    "pdf",
    "quarterly_html",
    "six_monthly_html",
    "static_file",
    "stylesheet",
]
