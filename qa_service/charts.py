"""The charts the pages and reports show: SVG drawn on the server, each with its numbers as a table.

Why pygal rather than matplotlib: pygal is small and pure Python (no C extensions, no
NumPy, no font cache to build on first use) and draws SVG natively rather than through a
rendering backend, so a chart is a string of markup that goes straight into a Jinja page.
matplotlib would bring tens of megabytes of compiled dependencies to draw a few bar and
line charts.

Why the SVG is post-processed here. pygal's output assumes a browser that runs its
script and applies its stylesheet: a ``<script>`` with its configuration, a ``<style>``
element that holds every colour and font size, ``style="opacity: 0"`` on a tooltip, a
random id on the root and today's date in a comment. The pages are served under a
Content-Security-Policy of ``default-src 'self'``: inline scripts never run, and an inline
``<style>`` element or ``style`` attribute is blocked unless ``style-src`` is loosened
(``'unsafe-inline'``, or a hash per stylesheet that changes with every pygal release and
every chart's id). So :func:`_finish` keeps pygal's geometry and rewrites the rest: it
drops the script, the stylesheet, the tooltips, the comments, every ``id`` and ``style``
attribute, and sets the look as SVG presentation attributes (``fill``, ``stroke``,
``font-size``, ...), which no CSP governs. The result needs no CSP allowance, looks the
same inline, as a file and in print, is the same for the same input, and a page's own
stylesheet can still override it (presentation attributes are the weakest rule).

Accessibility. Colour is never the only signal: each grade has an Okabe-Ito colour (safe
for the common colour-blindnesses) and a texture (solid, stripes, dots, cross-hatch),
every bar has a dark outline (so even the pale ones stand out 3:1 from the white ground),
and the legend names each series in words; line series differ by dash and marker shape
too. The root carries ``role="img"``, a ``<title>`` and a ``<desc>``, so a screen reader
announces the chart once instead of reading out every axis label, and the table beside it
gives the numbers.
"""

from __future__ import annotations

import hashlib
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pygal  # type: ignore[import-untyped]
from pygal.style import Style  # type: ignore[import-untyped]

from events.quarters import Quarter
from events.rules import GRADES
from qa_service.words import GRADE_LABELS, RAG_LABELS, label

SVG_NS = "http://www.w3.org/2000/svg"
GROUPINGS = {  # what ``grade_mix`` can group by, and how a heading names one group
    "month": "month",
    "quarter": "quarter",
    "service_area": "service area",
    "audit_type": "audit type",
}
NO_AUDITS = "No audits in this period"
EMPTY = {  # a chart with nothing to draw says so, with no axes or legend around it
    "show_legend": False,
    "show_y_labels": False,
    "x_title": None,
    "y_title": None,
    "y_labels": None,
}

# Look. GOV.UK Frontend's text and border colours; Okabe-Ito's colour-blind-safe palette.
TEXT = "#0b0c0c"
GUIDE = "#b1b4b6"
WHITE = "#ffffff"
FONT = "Arial, Helvetica, sans-serif"
LABEL_SIZE = 15
LEGEND_SIZE = 16
VALUE_SIZE = 14
NO_DATA_SIZE = 28


@dataclass(frozen=True)
class _Look:
    colour: str
    texture: str = "solid"  # bars: solid, stripes, dots or crosshatch
    dasharray: str | None = None  # lines
    marker: str = "circle"  # lines: circle, square or triangle


GRADE_LOOKS = (  # in GRADES order: outstanding, good, requires improvement, inadequate
    _Look("#0072B2", "solid"),
    _Look("#56B4E9", "stripes"),
    _Look("#E69F00", "dots"),
    _Look("#D55E00", "crosshatch"),
)
RAG_LOOKS = (  # green, amber, red, not reviewed: Okabe-Ito colours and a texture each
    _Look("#009E73", "solid"),
    _Look("#E69F00", "stripes"),
    _Look("#D55E00", "crosshatch"),
    _Look(WHITE, "dots"),
)
RAG_RATINGS = ("progress", "impact")
LINE_LOOKS = (
    _Look("#0072B2", marker="circle"),
    _Look("#D55E00", dasharray="10,6", marker="square"),
    _Look("#009E73", dasharray="3,5", marker="triangle"),
)

Cell = str | int


@dataclass(frozen=True)
class Table:
    """A chart's numbers: column headings and rows of cells (counts as ``int``, shares
    and means already written as text, such as ``"67%"``). ``numeric`` says which
    columns hold numbers, so a page can right-align them."""

    head: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    numeric: tuple[bool, ...]


@dataclass(frozen=True)
class Chart:
    """A chart for a page: ``svg`` is inline SVG markup to embed with ``|safe`` (it holds
    no script, no stylesheet and no link; ``""`` where a table says it all), ``caption``
    one sentence saying what it shows, ``table`` the same numbers for screen readers and
    print."""

    title: str
    caption: str
    svg: str
    table: Table

    def govuk_table(self) -> dict[str, Any]:
        """The parameters of GOV.UK Frontend's ``govukTable`` macro for this chart's table,
        captioned with the chart's title."""
        return {
            "caption": self.title,
            "captionClasses": "govuk-table__caption--s",
            "firstCellIsHeader": not self.table.numeric[0],  # a row named by its first cell
            "head": [
                {"text": text, **({"format": "numeric"} if numeric else {})}
                for text, numeric in zip(self.table.head, self.table.numeric, strict=True)
            ],
            "rows": [
                [
                    {"text": str(cell), **({"format": "numeric"} if numeric else {})}
                    for cell, numeric in zip(row, self.table.numeric, strict=True)
                ]
                for row in self.table.rows
            ],
        }


# The charts.


def grade_mix(groups: Sequence[Mapping[str, Any]], *, by: str, period: str | None = None) -> Chart:
    """Audits at each grade per group, stacked: ``groups`` is one of the lists of the
    audit register's ``distribution`` (``month``, ``quarter``, ``service_area`` or
    ``audit_type``, named by ``by``); ``period`` (such as ``"2019/20"``) goes in the
    title. Periods are drawn as columns, service areas and audit types as rows."""
    if by not in GROUPINGS:
        raise ValueError(f"grade_mix groups by one of {', '.join(GROUPINGS)}, not {by!r}")
    noun = GROUPINGS[by]
    title = _with_period(f"Grade mix of audits by {noun}", period)
    labels = [_group_label(group["key"], by) for group in groups]
    table = Table(
        head=(noun.capitalize(), *GRADE_LABELS.values(), "Total", "Good or better"),
        rows=tuple(
            (
                label,
                *(int(group["counts"].get(grade, 0)) for grade in GRADES),
                int(group["total"]),
                _percent(group["good_or_better"], none="No audits"),
            )
            for label, group in zip(labels, groups, strict=True)
        ),
        numeric=(False, True, True, True, True, True, True),
    )
    total = sum(int(group["total"]) for group in groups)
    if total:
        caption = (
            f"The number of audits at each overall grade in each {noun}"
            f"{_period_clause(period) or _span(labels, by)}: {_audits(total)} in all."
        )
    else:
        caption = f"{NO_AUDITS}."
    horizontal = by in ("service_area", "audit_type")
    chart_class = pygal.HorizontalStackedBar if horizontal else pygal.StackedBar
    top = max((int(group["total"]) for group in groups), default=0)
    chart = chart_class(
        **_config(
            height=max(320, 150 + 44 * len(groups)) if horizontal else 440,
            legend_box_size=16,
            x_title="Audits" if horizontal else noun.capitalize(),
            y_title=None if horizontal else "Audits",
            x_label_rotation=0 if horizontal or len(groups) <= 8 else -40,
            legend_at_bottom_columns=2,
            y_labels=_count_ticks(top),
            value_formatter=lambda v: f"{v:.0f}",
            empty=not total,
        )
    )
    order = list(reversed(range(len(groups)))) if horizontal else list(range(len(groups)))
    chart.x_labels = [labels[i] for i in order]
    for grade in GRADES:
        chart.add(GRADE_LABELS[grade], [int(groups[i]["counts"].get(grade, 0)) for i in order])
    desc = (
        f"Stacked {'bar' if horizontal else 'column'} chart of audits by {noun}, each "
        f"{'bar' if horizontal else 'column'} divided into outstanding (solid dark blue), "
        "good (light blue, striped), requires improvement (orange, dotted) and inadequate "
        "(red, cross-hatched). The table with the chart gives the numbers."
    )
    svg = _finish(chart.render(is_unicode=True), title=title, desc=desc, looks=GRADE_LOOKS)
    return Chart(title=title, caption=caption, svg=svg, table=table)


def good_or_better_trend(
    groups: Sequence[Mapping[str, Any]], *, period: str | None = None
) -> Chart:
    """The share of audits graded good or outstanding in each month or quarter (the
    ``month`` or ``quarter`` list of the register's ``distribution``), as a line."""
    noun = _period_noun(groups)
    title = _with_period(f"Audits good or better by {noun}", period)
    labels = [_group_label(group["key"], noun) for group in groups]
    table = Table(
        head=(noun.capitalize(), "Audits", "Good or better", "Share good or better"),
        rows=tuple(
            (
                label,
                int(group["total"]),
                sum(int(group["counts"].get(g, 0)) for g in ("outstanding", "good")),
                _percent(group["good_or_better"], none="No audits"),
            )
            for label, group in zip(labels, groups, strict=True)
        ),
        numeric=(False, True, True, True),
    )
    if groups:
        caption = (
            f"The share of audits graded good or outstanding in each {noun}"
            f"{_period_clause(period) or _span(labels, noun)}."
        )
    else:
        caption = f"{NO_AUDITS}."
    chart = pygal.Line(
        **_percent_config(
            1,
            x_title=noun.capitalize(),
            y_title="Audits good or better",
            empty=not groups,
        )
    )
    chart.x_labels = labels
    chart.add("Good or better", [_as_percent(group["good_or_better"]) for group in groups])
    desc = (
        f"Line chart of the percentage of audits graded good or better in each {noun}, "
        "from 0% to 100%. The table with the chart gives the numbers."
    )
    svg = _finish(chart.render(is_unicode=True), title=title, desc=desc, looks=LINE_LOOKS)
    return Chart(title=title, caption=caption, svg=svg, table=table)


def moderation_agreement(moderation: Mapping[str, Any], *, period: str | None = None) -> Chart:
    """How often moderators agreed with the auditor's grade: a table and no picture.

    The register gives one figure for the whole range (moderated, agreed, the rate), and
    a single proportion reads faster as "45 of 50 (90%)" than as a bar; a bar would add
    something more to make accessible and nothing to learn. So ``svg`` is ``""`` and the
    page shows the table (and may quote the caption as a sentence)."""
    title = _with_period("Moderation agreement", period)
    moderated, agreed = int(moderation["moderated"]), int(moderation["agreed"])
    head = ("Audits moderated", "Grade kept", "Grade changed", "Agreement")
    if moderated:
        share = _percent(moderation["agreement_rate"])
        rows: tuple[tuple[Cell, ...], ...] = ((moderated, agreed, moderated - agreed, share),)
        caption = (
            f"Moderators agreed with the auditor's grade in {agreed} of {moderated} "
            f"moderated audits ({share}){_period_clause(period)}."
        )
    else:
        rows = ()
        caption = f"No audits were moderated{_period_clause(period) or ' in this period'}."
    return Chart(title, caption, "", Table(head, rows, numeric=(True, True, True, True)))


def learning_week_trend(weeks: Iterable[Mapping[str, Any]]) -> tuple[Chart, Chart]:
    """Learning weeks compared, earliest first: two charts, because a percentage and a
    mean out of ten on one chart need two y-scales (or a satisfaction of 7.5 drawn as
    "75%", which reads as 75% of families satisfied). The first chart has the share of
    the week's audits that were good or better and the share of families who knew why
    they were involved, both 0-100%; the second the families' mean satisfaction on its
    own 0-10 scale. ``weeks`` are week summaries (``title``, ``starts_on``, ``audits``,
    ``share_good_or_better``, ``feedback_count``, ``mean_satisfaction``,
    ``share_knew_why_involved``), in any order."""
    ordered = sorted(weeks, key=lambda week: (_as_date(week["starts_on"]), week["title"]))
    labels = [_day(_as_date(week["starts_on"])) for week in ordered]
    empty = "No learning weeks in this period"

    shares_title = "Learning weeks: audits good or better and families who knew why"
    shares_table = Table(
        head=(
            "Learning week",
            "Started",
            "Audits",
            "Good or better",
            "Families who gave feedback",
            "Knew why they were involved",
        ),
        rows=tuple(
            (
                week["title"],
                label,
                int(week["audits"]),
                _percent(week["share_good_or_better"], none="No audits"),
                int(week["feedback_count"]),
                _percent(week["share_knew_why_involved"], none="No feedback"),
            )
            for label, week in zip(labels, ordered, strict=True)
        ),
        numeric=(False, False, True, True, True, True),
    )
    shares = pygal.Line(
        **_percent_config(
            2,
            x_title="Learning week starting",
            y_title="Percentage",
            no_data_text=empty,
            empty=not ordered,
        )
    )
    shares.x_labels = labels
    shares.add(
        "Audits good or better",
        [_as_percent(week["share_good_or_better"]) for week in ordered],
    )
    shares.add(
        "Families who knew why they were involved",
        [_as_percent(week["share_knew_why_involved"]) for week in ordered],
    )
    shares_desc = (
        "Line chart of two percentages for each learning week, from 0% to 100%: audits "
        "graded good or better (solid blue line, round markers) and families who knew why "
        "they were involved (dashed red line, square markers). The table with the chart "
        "gives the numbers."
    )

    mean_title = "Learning weeks: families' mean satisfaction"
    mean_table = Table(
        head=(
            "Learning week",
            "Started",
            "Families who gave feedback",
            "Mean satisfaction (0 to 10)",
        ),
        rows=tuple(
            (
                week["title"],
                label,
                int(week["feedback_count"]),
                "No feedback"
                if week["mean_satisfaction"] is None
                else f"{week['mean_satisfaction']:.1f}",
            )
            for label, week in zip(labels, ordered, strict=True)
        ),
        numeric=(False, False, True, True),
    )
    mean = pygal.Line(
        **_line_config(
            1,
            x_title="Learning week starting",
            y_title="Mean satisfaction, 0 to 10",
            range=(0, 10),
            y_labels=[{"value": v, "label": str(v)} for v in (0, 2, 4, 6, 8, 10)],
            value_formatter=lambda v: f"{v:.1f}",
            no_data_text=empty,
            empty=not ordered,
        )
    )
    mean.x_labels = labels
    mean.add(
        "Mean satisfaction (0 to 10)",
        [
            None if week["mean_satisfaction"] is None else float(week["mean_satisfaction"])
            for week in ordered
        ],
    )
    mean_desc = (
        "Line chart of the families' mean satisfaction score, from 0 to 10, for each "
        "learning week. The table with the chart gives the numbers."
    )

    if ordered:
        span = _span(labels, "week")
        shares_caption = (
            "The share of each learning week's audits graded good or better and the share "
            f"of families who knew why they were involved, {span}."
        )
        mean_caption = (
            f"The families' mean satisfaction, out of 10, with each learning week, {span}."
        )
    else:
        shares_caption = mean_caption = f"{empty}."
    return (
        Chart(
            shares_title,
            shares_caption,
            _finish(
                shares.render(is_unicode=True),
                title=shares_title,
                desc=shares_desc,
                looks=LINE_LOOKS,
            ),
            shares_table,
        ),
        Chart(
            mean_title,
            mean_caption,
            _finish(
                mean.render(is_unicode=True), title=mean_title, desc=mean_desc, looks=LINE_LOOKS
            ),
            mean_table,
        ),
    )


def rag_history(
    totals: Sequence[Mapping[str, Any]],
    *,
    rating: str = "progress",
    recommendations: int | None = None,
    year_style: str = "financial",
) -> Chart:
    """How many recommendations were rated green, amber and red in each quarter, for
    ``rating`` (``progress`` or ``impact``), stacked: ``totals`` is a quarterly report's
    ``rag_totals()`` (each item's ``quarter`` a :class:`Quarter` or already words, and a
    count per RAG under ``progress`` and ``impact``). Given the number of
    ``recommendations``, the rest of each column is "Not reviewed", so every column is
    the whole plan. Quarters are written in ``year_style`` ("Q1 2016/17" or "Q2 2016")."""
    if rating not in RAG_RATINGS:
        raise ValueError(f"rag_history draws one of {', '.join(RAG_RATINGS)}, not {rating!r}")
    labels = [
        item["quarter"].label(year_style)
        if isinstance(item["quarter"], Quarter)
        else str(item["quarter"])
        for item in totals
    ]
    counts = [[int(item[rating].get(rag, 0)) for rag in RAG_LABELS] for item in totals]
    series = list(RAG_LABELS.values())
    if recommendations is not None:
        series.append("Not reviewed")
        counts = [[*row, max(recommendations - sum(row), 0)] for row in counts]
    title = f"{rating.capitalize()} RAG ratings by quarter"
    table = Table(
        head=("Quarter", *series),
        rows=tuple((label, *row) for label, row in zip(labels, counts, strict=True)),
        numeric=(False, *(True for _ in series)),
    )
    rated = sum(sum(row[:3]) for row in counts)
    of = "the" if recommendations is None else f"the {recommendations}"
    if rated:
        caption = (
            f"How many of {of} recommendations were rated green, amber and red for "
            f"{rating} in each quarter{_span(labels, 'quarter')}."
        )
    else:
        caption = f"No recommendation was rated for {rating}{_span(labels, 'quarter')}."
    top = max((sum(row) for row in counts), default=0)
    chart = pygal.StackedBar(
        **_config(
            height=400,
            legend_box_size=16,
            legend_at_bottom_columns=len(series),
            x_title="Quarter",
            y_title="Recommendations",
            x_label_rotation=0 if len(labels) <= 8 else -40,
            y_labels=_count_ticks(top),
            value_formatter=lambda v: f"{v:.0f}",
            no_data_text="No reviews",
            empty=not rated,
        )
    )
    chart.x_labels = labels
    for i, name in enumerate(series if rated else ()):  # none: pygal says "No reviews"
        chart.add(name, [row[i] for row in counts])
    desc = (
        f"Stacked column chart of the recommendations' {rating} RAG rating in each "
        "quarter, each column divided into green (solid green), amber (orange, striped), "
        "red (red-orange, cross-hatched)"
        + (" and not reviewed (white, dotted)" if recommendations is not None else "")
        + ". The table with the chart gives the numbers."
    )
    svg = _finish(chart.render(is_unicode=True), title=title, desc=desc, looks=RAG_LOOKS)
    return Chart(title=title, caption=caption, svg=svg, table=table)


# Words and numbers.

MONTH = re.compile(r"^(\d{4})-(\d{2})$")
QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _group_label(key: str, by: str) -> str:
    """``2016-05`` is "May 2016", ``2016-Q2`` "Apr–Jun 2016" (a calendar quarter, as the
    register counts them), ``children_looked_after`` "Children looked after"."""
    if by == "month" and (match := MONTH.match(key)):
        return f"{MONTHS[int(match[2]) - 1]} {match[1]}"
    if by == "quarter" and (match := QUARTER.match(key)):
        first = (int(match[2]) - 1) * 3
        return f"{MONTHS[first]}–{MONTHS[first + 2]} {match[1]}"
    return label(key)


def _period_noun(groups: Sequence[Mapping[str, Any]]) -> str:
    if groups and all(MONTH.match(group["key"]) for group in groups):
        return "month"
    return "quarter"


def _span(labels: Sequence[str], by: str) -> str:
    """The range of periods a chart covers, as words to follow a comma or a noun."""
    if by == "week":
        if len(labels) == 1:
            return f"for the week starting {labels[0]}"
        return f"for the weeks starting from {labels[0]} to {labels[-1]}"
    if by not in ("month", "quarter") or not labels:
        return ""
    if len(labels) == 1:
        return f", {labels[0]}"
    return f" from {labels[0]} to {labels[-1]}"


def _with_period(title: str, period: str | None) -> str:
    return f"{title}, {period}" if period else title


def _period_clause(period: str | None) -> str:
    return f", {period}" if period else ""


def _audits(n: int) -> str:
    return f"{n} audit" if n == 1 else f"{n} audits"


def _percent(share: float | None, *, none: str = "") -> str:
    """A share as a whole percentage, halves rounded up: 0.125 is "13%"."""
    if share is None:
        return none
    whole = (Decimal(str(share)) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return f"{whole}%"


def _as_percent(share: float | None) -> float | None:
    return None if share is None else round(float(share) * 100, 1)


def _as_date(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def _day(day: date) -> str:
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def _count_ticks(top: int) -> list[int]:
    """Whole-number ticks from 0 to at least ``top``, at most about six of them."""
    top = max(top, 1)
    step = next((s for s in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500) if top / s <= 6), 1000)
    return list(range(0, -(-top // step) * step + 1, step))


# Drawing.


def _config(*, empty: bool = False, **overrides: Any) -> dict[str, Any]:
    """pygal's settings shared by every chart: no script, no XML declaration, fonts as
    big as the page's text, the legend below, nothing cut short."""
    style = Style(
        font_family=FONT,
        label_font_size=LABEL_SIZE,
        major_label_font_size=LABEL_SIZE,
        legend_font_size=LEGEND_SIZE,
        title_font_size=LEGEND_SIZE,
        value_font_size=VALUE_SIZE,
        no_data_font_size=NO_DATA_SIZE,
        background=WHITE,
        plot_background=WHITE,
        foreground=TEXT,
        foreground_strong=TEXT,
        foreground_subtle=GUIDE,
    )
    settings: dict[str, Any] = {
        "style": style,
        "js": [],
        "disable_xml_declaration": True,
        "width": 800,
        "height": 440,
        "legend_at_bottom": True,
        "legend_at_bottom_columns": 2,
        "truncate_legend": -1,
        "truncate_label": -1,
        "no_data_text": NO_AUDITS,
        "margin": 16,
        "spacing": 12,
    }
    settings.update(overrides)
    if empty:
        settings.update(EMPTY, height=200)
    return settings


def _line_config(series: int, *, empty: bool = False, **overrides: Any) -> dict[str, Any]:
    """A line chart's settings: a gap where a value is missing (never a line drawn across
    it), room on the right for the last label, and a legend only for two lines or more
    (the y-axis title names a single one)."""
    settings: dict[str, Any] = {
        "allow_interruptions": True,
        "print_values": True,
        "legend_box_size": 28,
        "legend_at_bottom_columns": series,
        "show_legend": series > 1,
        "dots_size": 5,
        "margin_right": 56,
        "print_values_position": "top",
    }
    return _config(empty=empty, **{**settings, **overrides})


def _percent_config(series: int, *, empty: bool = False, **overrides: Any) -> dict[str, Any]:
    return _line_config(
        series,
        empty=empty,
        range=(0, 100),
        y_labels=[{"value": v, "label": f"{v}%"} for v in (0, 25, 50, 75, 100)],
        value_formatter=lambda v: _percent(v / 100),
        **overrides,
    )


def _classes(element: ET.Element) -> set[str]:
    return set(element.get("class", "").split())


def _finish(svg: str, *, title: str, desc: str, looks: Sequence[_Look]) -> str:
    """pygal's SVG made safe under a strict CSP and deterministic; see the module's
    docstring."""
    root = ET.fromstring(svg)  # the parser drops pygal's comments (a date, two links)
    for element in root.iter():  # plain tag names, and one xmlns on the root
        element.tag = element.tag.removeprefix(f"{{{SVG_NS}}}")
    graph = root.find("g")
    assert graph is not None, "pygal draws everything inside one <g class='graph'>"
    horizontal = "horizontal" in _classes(graph)
    bars = "bar" in " ".join(_classes(graph))
    for child in list(root):
        if child.tag in (("defs"), ("title")):
            root.remove(child)
    for key in list(root.attrib):
        del root.attrib[key]
    root.set("xmlns", SVG_NS)
    root.set("viewBox", _view_box(svg))
    root.set("class", "qa-chart")
    root.set("role", "img")
    root.set("font-family", FONT)
    title_element = ET.Element("title")
    title_element.text = title
    desc_element = ET.Element("desc")
    desc_element.text = desc
    defs = ET.Element("defs")
    root[0:0] = [title_element, desc_element]
    if bars:
        root.insert(2, defs)

    patterns: dict[int, str] = {}

    def fill_of(index: int) -> str:
        look = looks[index % len(looks)]
        if look.texture == "solid":
            return look.colour
        if index not in patterns:
            patterns[index] = f"PATTERN-{index}"
            defs.append(_pattern(patterns[index], look))
        return f"url(#{patterns[index]})"

    def visit(element: ET.Element, ancestors: frozenset[str], series: int | None) -> None:
        classes = _classes(element)
        children = list(element)  # pygal's, not the ones drawn here
        for name in ("id", "style", "class") if not classes else ("id", "style"):
            element.attrib.pop(name, None)
        for match in classes:
            if match.startswith("serie-"):
                series = int(match[len("serie-") :])
        tag = element.tag
        here = ancestors | classes
        if tag in ("desc", "title") or "tooltip-overlay" in classes:
            raise _Drop
        if tag == "rect" and "background" in classes:
            element.set("fill", WHITE)
        elif tag == "text":
            _style_text(element, classes, here, horizontal)
        elif tag == "path" and "axis" in here and "series" not in here:
            _style_axis_line(element, classes, here, horizontal)
        elif tag == "rect" and "legend" in here:
            index = int(next(c for c in classes if c.startswith("color-"))[len("color-") :])
            if bars:
                element.set("fill", fill_of(index))
                element.set("stroke", TEXT)
            else:
                _legend_line(element, looks[index % len(looks)])
        elif tag == "rect" and series is not None:
            if not float(element.get("width", 0)) or not float(element.get("height", 0)):
                raise _Drop  # a zero count draws nothing
            element.set("fill", fill_of(series))
            element.set("stroke", TEXT)
            element.set("stroke-width", "1")
        elif tag == "path" and series is not None:
            look = looks[series % len(looks)]
            element.set("fill", "none")
            element.set("stroke", look.colour)
            element.set("stroke-width", "3")
            element.set("stroke-linejoin", "round")
            if look.dasharray:
                element.set("stroke-dasharray", look.dasharray)
        elif tag == "circle" and series is not None:
            _marker(element, looks[series % len(looks)])
        for child in children:
            try:
                visit(child, here, series)
            except _Drop:
                element.remove(child)

    visit(graph, frozenset(), None)
    markup = ET.tostring(root, encoding="unicode")
    # Pattern ids must differ between different charts on one page: name them after the
    # chart itself, so the same chart always gets the same ids.
    prefix = "qa-chart-" + hashlib.sha256(markup.encode()).hexdigest()[:10]
    return markup.replace("PATTERN-", f"{prefix}-")


class _Drop(Exception):
    """Raised by the walk in :func:`_finish` to leave an element out."""


def _view_box(svg: str) -> str:
    match = re.search(r'viewBox="([^"]+)"', svg)
    assert match, "pygal always sets a viewBox"
    return match[1]


def _style_text(
    element: ET.Element, classes: set[str], here: set[str] | frozenset[str], horizontal: bool
) -> None:
    element.set("fill", TEXT)
    if "no_data" in classes:
        element.set("font-size", str(NO_DATA_SIZE))
        element.set("text-anchor", "middle")
    elif "value" in classes:
        element.set("font-size", str(VALUE_SIZE))
        element.set("font-weight", "bold")
        # a white halo, so that a line passing behind the number does not cross it out
        element.attrib.update(
            {
                "stroke": WHITE,
                "stroke-width": "4",
                "stroke-linejoin": "round",
                "paint-order": "stroke",
            }
        )
        anchor = element.get("text-anchor")
        if anchor == "left" or anchor is None:
            element.set("text-anchor", "start" if anchor == "left" else "middle")
    elif "legend" in here:
        element.set("font-size", str(LEGEND_SIZE))
    elif "title" in classes:
        element.set("font-size", str(LABEL_SIZE))
        element.set("font-weight", "bold")
        element.set("text-anchor", "middle")
    elif "axis" in here:
        element.set("font-size", str(LABEL_SIZE))
        if "y" in here:
            element.set("text-anchor", "end")
        elif element.get("transform"):  # a rotated label ends at its tick
            element.set("text-anchor", "end" if "backwards" in classes else "start")
        else:
            element.set("text-anchor", "middle")


def _style_axis_line(
    element: ET.Element, classes: set[str], here: set[str] | frozenset[str], horizontal: bool
) -> None:
    element.set("fill", "none")
    category_axis = "y" if horizontal else "x"
    if "guide" in classes:
        if category_axis in here and "always_show" not in here:
            raise _Drop  # no grid lines across the categories
        element.set("stroke", GUIDE)
        element.set("stroke-width", "1")
    else:
        element.set("stroke", TEXT)
        element.set("stroke-width", "1")


def _pattern(pattern_id: str, look: _Look) -> ET.Element:
    """A texture over the colour: stripes, dots or cross-hatching in the text colour."""
    pattern = ET.Element(
        "pattern",
        {"id": pattern_id, "width": "8", "height": "8", "patternUnits": "userSpaceOnUse"},
    )
    ET.SubElement(pattern, "rect", {"width": "8", "height": "8", "fill": look.colour})
    ink = {"stroke": TEXT, "stroke-width": "1.5", "stroke-opacity": "0.6"}
    if look.texture == "stripes":
        ET.SubElement(pattern, "path", {"d": "M-2,2 l4,-4 M0,8 l8,-8 M6,10 l4,-4", **ink})
    elif look.texture == "crosshatch":
        ET.SubElement(pattern, "path", {"d": "M0,0 l8,8 M8,0 l-8,8 M-1,7 l2,2 M7,-1 l2,2", **ink})
    elif look.texture == "dots":
        ET.SubElement(
            pattern,
            "circle",
            {"cx": "4", "cy": "4", "r": "1.6", "fill": TEXT, "fill-opacity": "0.6"},
        )
    return pattern


def _marker(element: ET.Element, look: _Look) -> None:
    """A line's point: a circle, or the look's square or triangle in its place."""
    x, y = float(element.get("cx", 0)), float(element.get("cy", 0))
    r = 5.5
    attrs = {"fill": look.colour, "stroke": WHITE, "stroke-width": "1.5"}
    if look.marker == "circle":
        element.set("r", str(r))
        element.attrib.update(attrs)
        return
    element.attrib.clear()
    if look.marker == "square":
        element.tag = "rect"
        element.attrib.update(
            {"x": _n(x - r), "y": _n(y - r), "width": _n(2 * r), "height": _n(2 * r), **attrs}
        )
    else:
        element.tag = "path"
        h = r * 1.2
        d = f"M{_n(x)},{_n(y - h)} L{_n(x + h)},{_n(y + h * 0.8)} L{_n(x - h)},{_n(y + h * 0.8)} Z"
        element.attrib.update({"d": d, **attrs})


def _legend_line(element: ET.Element, look: _Look) -> None:
    """A line chart's legend key: a stretch of the line with its marker, not a square."""
    x, y = float(element.get("x", 0)), float(element.get("y", 0))
    size = float(element.get("width", 28))
    element.attrib.clear()
    element.tag = "g"
    middle = y + size / 2
    ET.SubElement(
        element,
        "path",
        {
            "d": f"M{_n(x)},{_n(middle)} h{_n(size)}",
            "fill": "none",
            "stroke": look.colour,
            "stroke-width": "3",
            **({"stroke-dasharray": look.dasharray} if look.dasharray else {}),
        },
    )
    marker = ET.SubElement(element, "circle", {"cx": _n(x + size / 2), "cy": _n(middle)})
    _marker(marker, look)


def _n(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


__all__ = [
    "Chart",
    "Table",
    "grade_mix",
    "good_or_better_trend",
    "moderation_agreement",
    "learning_week_trend",
    "rag_history",
]
