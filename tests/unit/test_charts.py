"""The pages' charts: the numbers in each table are worked out by hand from the input, and
every SVG is checked to be safe to put inline under the pages' Content-Security-Policy."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import date
from typing import Any

import pytest

from events.quarters import parse_quarter
from qa_service.charts import (
    Chart,
    good_or_better_trend,
    grade_mix,
    learning_week_trend,
    moderation_agreement,
    rag_history,
)

SVG = "{http://www.w3.org/2000/svg}"
GRADE_WORDS = ("Outstanding", "Good", "Requires improvement", "Inadequate")


def group(key: str, outstanding: int, good: int, ri: int, inadequate: int) -> dict[str, Any]:
    """One group as ``distribution`` returns it (shares rounded to three places)."""
    total = outstanding + good + ri + inadequate
    counts = {
        "outstanding": outstanding,
        "good": good,
        "requires_improvement": ri,
        "inadequate": inadequate,
    }
    return {
        "key": key,
        "total": total,
        "counts": counts,
        "shares": {g: round(n / total, 3) for g, n in counts.items()},
        "good_or_better": round((outstanding + good) / total, 3),
    }


def week(title: str, starts_on: date, **figures: Any) -> dict[str, Any]:
    return {"title": title, "starts_on": starts_on, **figures}


def parsed(chart: Chart) -> ET.Element:
    """The chart's SVG, checked to be well-formed, titled, described and inert."""
    root = ET.fromstring(chart.svg)
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    assert root.findtext(f"{SVG}title") == chart.title
    assert "table" in (root.findtext(f"{SVG}desc") or "")
    assert len(root.findall(f".//{SVG}title")) == 1  # pygal's tooltip titles are gone
    assert "<script" not in chart.svg
    assert root.find(f".//{SVG}style") is None
    links = re.findall(r"https?://[^\"'\s<>]*", chart.svg)
    assert set(links) <= {"http://www.w3.org/2000/svg"}
    for element in root.iter():
        for name in element.attrib:
            assert name not in ("style", "id") or element.tag == f"{SVG}pattern", name
            assert not name.lower().startswith("on"), name
            assert "href" not in name, name
    return root


def words(root: ET.Element) -> list[str]:
    return ["".join(text.itertext()) for text in root.iter(f"{SVG}text")]


QUARTERS = [group("2016-Q1", 1, 2, 1, 0), group("2016-Q2", 0, 1, 1, 1)]


def test_grade_mix_by_quarter_counts_each_grade_with_the_total_and_share_good_or_better():
    chart = grade_mix(QUARTERS, by="quarter")

    assert chart.title == "Grade mix of audits by quarter"
    assert chart.caption == (
        "The number of audits at each overall grade in each quarter from Jan–Mar 2016 "
        "to Apr–Jun 2016: 7 audits in all."
    )
    assert chart.table.head == (
        "Quarter",
        "Outstanding",
        "Good",
        "Requires improvement",
        "Inadequate",
        "Total",
        "Good or better",
    )
    assert chart.table.rows == (
        ("Jan–Mar 2016", 1, 2, 1, 0, 4, "75%"),  # 3 of 4
        ("Apr–Jun 2016", 0, 1, 1, 1, 3, "33%"),  # 1 of 3
    )
    text = words(parsed(chart))
    assert set(GRADE_WORDS) <= set(text)
    assert {"Jan–Mar 2016", "Apr–Jun 2016", "Quarter", "Audits"} <= set(text)


def test_grade_mix_names_the_period_when_given_one():
    chart = grade_mix(QUARTERS, by="quarter", period="2016")

    assert chart.title == "Grade mix of audits by quarter, 2016"
    assert chart.caption == (
        "The number of audits at each overall grade in each quarter, 2016: 7 audits in all."
    )


def test_grade_mix_by_month_and_by_service_area_labels_each_group_in_words():
    months = grade_mix([group("2016-05", 0, 1, 0, 0), group("2016-06", 0, 0, 0, 1)], by="month")
    areas = grade_mix(
        [group("children_looked_after", 2, 0, 0, 0), group("lado", 0, 0, 1, 0)],
        by="service_area",
    )

    assert [row[0] for row in months.table.rows] == ["May 2016", "Jun 2016"]
    assert [row[-1] for row in months.table.rows] == ["100%", "0%"]
    assert areas.table.head[0] == "Service area"
    assert areas.table.rows == (
        ("Children looked after", 2, 0, 0, 0, 2, "100%"),
        ("LADO", 0, 0, 1, 0, 1, "0%"),
    )
    assert areas.caption == (
        "The number of audits at each overall grade in each service area: 3 audits in all."
    )
    assert {"Children looked after", "LADO", *GRADE_WORDS} <= set(words(parsed(areas)))
    parsed(months)


def test_grade_mix_gives_each_grade_a_texture_as_well_as_a_colour():
    root = parsed(grade_mix(QUARTERS, by="quarter"))

    patterns = root.findall(f".//{SVG}pattern")
    assert len(patterns) == 3  # good, requires improvement, inadequate; outstanding is solid
    fills = {rect.get("fill") for rect in root.iter(f"{SVG}rect") if rect.get("stroke")}
    assert fills == {"#0072B2", *(f"url(#{p.get('id')})" for p in patterns)}


def test_grade_mix_groups_only_by_what_the_register_counts():
    with pytest.raises(ValueError, match="grade_mix groups by one of"):
        grade_mix(QUARTERS, by="week")


def test_grade_mix_with_no_audits_says_so_in_the_chart_and_has_an_empty_table():
    chart = grade_mix([], by="month")

    assert chart.table.rows == ()
    assert chart.caption == "No audits in this period."
    assert words(parsed(chart)) == ["No audits in this period"]


def test_the_same_input_draws_the_same_svg_and_different_input_different_pattern_ids():
    first = grade_mix(QUARTERS, by="quarter")

    assert grade_mix(QUARTERS, by="quarter").svg == first.svg
    other = grade_mix(QUARTERS[:1], by="quarter")
    ids = re.compile(r'<pattern id="([^"]+)"')
    assert set(ids.findall(first.svg)).isdisjoint(ids.findall(other.svg))


def test_good_or_better_trend_gives_the_share_per_period_rounding_halves_up():
    chart = good_or_better_trend([group("2016-Q1", 1, 2, 1, 0), group("2016-Q2", 0, 1, 6, 1)])

    assert chart.title == "Audits good or better by quarter"
    assert chart.table.head == ("Quarter", "Audits", "Good or better", "Share good or better")
    assert chart.table.rows == (
        ("Jan–Mar 2016", 4, 3, "75%"),
        ("Apr–Jun 2016", 8, 1, "13%"),  # 1 of 8 is 12.5%
    )
    text = words(parsed(chart))
    assert {"75%", "13%", "0%", "100%", "Audits good or better"} <= set(text)


def test_good_or_better_trend_by_month_and_with_no_audits():
    months = good_or_better_trend([group("2017-01", 0, 1, 1, 0)])
    empty = good_or_better_trend([])

    assert months.title == "Audits good or better by month"
    assert months.table.rows == (("Jan 2017", 2, 1, "50%"),)
    assert (
        months.caption == "The share of audits graded good or outstanding in each month, Jan 2017."
    )
    assert empty.table.rows == ()
    assert words(parsed(empty)) == ["No audits in this period"]
    parsed(months)


def test_moderation_agreement_is_a_table_of_kept_and_changed_grades():
    chart = moderation_agreement({"moderated": 8, "agreed": 6, "agreement_rate": 0.75})

    assert chart.svg == ""
    assert chart.table.head == ("Audits moderated", "Grade kept", "Grade changed", "Agreement")
    assert chart.table.rows == ((8, 6, 2, "75%"),)
    assert chart.caption == (
        "Moderators agreed with the auditor's grade in 6 of 8 moderated audits (75%)."
    )


def test_moderation_agreement_with_nothing_moderated_has_an_empty_table():
    chart = moderation_agreement({"moderated": 0, "agreed": 0, "agreement_rate": None})

    assert chart.table.rows == ()
    assert chart.caption == "No audits were moderated in this period."


WEEKS = [  # latest first, as the register lists them
    week(
        "Summer week",
        date(2019, 6, 10),
        audits=0,
        share_good_or_better=None,
        feedback_count=4,
        mean_satisfaction=8.5,
        share_knew_why_involved=0.5,
    ),
    week(
        "December week",
        date(2018, 12, 3),
        audits=8,
        share_good_or_better=0.625,
        feedback_count=0,
        mean_satisfaction=None,
        share_knew_why_involved=None,
    ),
]


def test_learning_week_trend_puts_shares_and_satisfaction_on_charts_of_their_own():
    shares, satisfaction = learning_week_trend(WEEKS)

    assert shares.table.head == (
        "Learning week",
        "Started",
        "Audits",
        "Good or better",
        "Families who gave feedback",
        "Knew why they were involved",
    )
    assert shares.table.rows == (
        ("December week", "3 Dec 2018", 8, "63%", 0, "No feedback"),  # 5 of 8 is 62.5%
        ("Summer week", "10 Jun 2019", 0, "No audits", 4, "50%"),
    )
    assert satisfaction.table.head == (
        "Learning week",
        "Started",
        "Families who gave feedback",
        "Mean satisfaction (0 to 10)",
    )
    assert satisfaction.table.rows == (
        ("December week", "3 Dec 2018", 0, "No feedback"),
        ("Summer week", "10 Jun 2019", 4, "8.5"),
    )
    assert shares.caption.endswith("for the weeks starting from 3 Dec 2018 to 10 Jun 2019.")
    shares_text = words(parsed(shares))
    assert {"Audits good or better", "Families who knew why they were involved"} <= set(shares_text)
    assert {"63%", "50%", "3 Dec 2018", "10 Jun 2019", "100%"} <= set(shares_text)
    assert {"8.5", "10", "Mean satisfaction, 0 to 10"} <= set(words(parsed(satisfaction)))


def test_learning_week_lines_differ_by_dash_and_marker_as_well_as_colour():
    shares, _ = learning_week_trend(
        [
            week(
                "One",
                date(2019, 1, 7),
                audits=2,
                share_good_or_better=0.5,
                feedback_count=2,
                mean_satisfaction=6.0,
                share_knew_why_involved=1.0,
            ),
            week(
                "Two",
                date(2019, 7, 1),
                audits=2,
                share_good_or_better=1.0,
                feedback_count=2,
                mean_satisfaction=7.0,
                share_knew_why_involved=0.5,
            ),
        ]
    )
    root = parsed(shares)

    lines = [p for p in root.iter(f"{SVG}path") if p.get("stroke-width") == "3"]
    dashes = {line.get("stroke-dasharray") for line in lines}
    assert dashes == {None, "10,6"}  # solid and dashed, in the plot and in the legend
    assert root.find(f".//{SVG}circle[@fill='#0072B2']") is not None
    assert root.find(f".//{SVG}rect[@fill='#D55E00']") is not None  # square markers


def test_learning_week_trend_with_no_weeks_says_so():
    shares, satisfaction = learning_week_trend([])

    for chart in (shares, satisfaction):
        assert chart.table.rows == ()
        assert chart.caption == "No learning weeks in this period."
        assert words(parsed(chart)) == ["No learning weeks in this period"]


def test_a_chart_gives_its_table_to_the_govuk_table_macro():
    chart = moderation_agreement({"moderated": 2, "agreed": 1, "agreement_rate": 0.5})

    assert chart.govuk_table() == {
        "caption": "Moderation agreement",
        "captionClasses": "govuk-table__caption--s",
        "firstCellIsHeader": False,  # the one row is all numbers
        "head": [
            {"text": "Audits moderated", "format": "numeric"},
            {"text": "Grade kept", "format": "numeric"},
            {"text": "Grade changed", "format": "numeric"},
            {"text": "Agreement", "format": "numeric"},
        ],
        "rows": [
            [
                {"text": "2", "format": "numeric"},
                {"text": "1", "format": "numeric"},
                {"text": "1", "format": "numeric"},
                {"text": "50%", "format": "numeric"},
            ]
        ],
    }


RAG_TOTALS = [  # as QuarterlyReport.rag_totals() gives them, for a plan of 3 recommendations
    {
        "quarter": parse_quarter("Q4 2015/16"),
        "progress": {"red": 2, "amber": 0, "green": 0},
        "impact": {"red": 2, "amber": 0, "green": 0},
    },
    {
        "quarter": parse_quarter("Q1 2016/17"),
        "progress": {"red": 0, "amber": 2, "green": 1},
        "impact": {"red": 1, "amber": 2, "green": 0},
    },
]


def test_rag_history_counts_each_rating_per_quarter_with_the_unreviewed_rest():
    chart = rag_history(RAG_TOTALS, rating="progress", recommendations=3)

    assert chart.title == "Progress RAG ratings by quarter"
    assert chart.table.head == ("Quarter", "Green", "Amber", "Red", "Not reviewed")
    assert chart.table.rows == (("Q4 2015/16", 0, 0, 2, 1), ("Q1 2016/17", 1, 2, 0, 0))
    assert chart.caption == (
        "How many of the 3 recommendations were rated green, amber and red for progress "
        "in each quarter from Q4 2015/16 to Q1 2016/17."
    )
    root = parsed(chart)
    assert {"Green", "Amber", "Red", "Not reviewed", "Q4 2015/16", "Q1 2016/17"} <= set(words(root))
    impact = rag_history(RAG_TOTALS, rating="impact", year_style="calendar")
    assert impact.table.rows == (("Q1 2016", 0, 0, 2), ("Q2 2016", 0, 2, 1))


def test_rag_history_tells_the_ratings_apart_without_colour():
    root = parsed(rag_history(RAG_TOTALS, recommendations=3))

    patterns = root.findall(f".//{SVG}pattern")
    assert len(patterns) == 3  # amber striped, red cross-hatched, not reviewed dotted
    fills = {rect.get("fill") for rect in root.iter(f"{SVG}rect") if rect.get("stroke")}
    assert fills == {"#009E73", *(f"url(#{p.get('id')})" for p in patterns)}  # green solid
    assert "green (solid green), amber (orange, striped)" in (root.findtext(f"{SVG}desc") or "")


def test_rag_history_with_no_reviews_says_so():
    chart = rag_history([{"quarter": "Q4 2015/16", "progress": {}, "impact": {}}], rating="impact")

    assert chart.caption == "No recommendation was rated for impact, Q4 2015/16."
    assert words(parsed(chart)) == ["No reviews"]
    with pytest.raises(ValueError, match="rag_history draws one of progress, impact"):
        rag_history(RAG_TOTALS, rating="both")
