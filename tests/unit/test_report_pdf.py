"""The quarterly report as a PDF, read back: a small report model built by hand (two
areas, three recommendations, a moved and a late action), rendered once for the module
with WeasyPrint, its text read with pypdfium2 and its first page and a recommendation's
page drawn into tests/artefacts/ to be looked at."""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import pypdfium2 as pdfium  # type: ignore[import-untyped]
import pytest

from events.quarters import parse_quarter
from qa_service.reports import render
from qa_service.reports.quarterly import (
    ActionLine,
    Area,
    Change,
    Counts,
    LeadLine,
    Move,
    QuarterlyReport,
    RagCell,
    Recommendation,
    Review,
)

LONDON = ZoneInfo("Europe/London")
ARTEFACTS = Path(__file__).resolve().parents[1] / "artefacts"
Q4, Q1 = parse_quarter("Q4 2015/16"), parse_quarter("Q1 2016/17")
PAPER = datetime(2016, 7, 20, 18, 0, tzinfo=LONDON)
HASH = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"


def review(quarter, progress, impact, **more: Any) -> Review:
    return Review(
        quarter=quarter,
        progress=progress,
        impact=impact,
        commentary=more.get("commentary"),
        impact_data=more.get("impact_data"),
        further_actions=more.get("further_actions"),
        recorded_by="Stephen Kitchman",
        recorded_at=datetime(2016, 7, 12, 10, 0, tzinfo=LONDON),
        replaces=0,
    )


def action(number: int, description: str, **more: Any) -> ActionLine:
    fields: dict[str, Any] = {
        "number": number,
        "id": UUID(int=number),
        "description": description,
        "owners": ["PK"],
        "status": "in_progress",
        "status_since": date(2016, 4, 1),
        "raised_on": date(2016, 2, 1),
        "original_due_on": date(2016, 9, 30),
        "due_on": date(2016, 9, 30),
        "moves": [],
        "overdue": False,
    }
    fields.update(more)
    return ActionLine(**fields)


def recommendation(
    number: int,
    area: str,
    text: str,
    now: Review | None,
    before: Review | None,
    actions: list[ActionLine],
) -> Recommendation:
    return Recommendation(
        number=number,
        area=area,
        text=text,
        leads=["PK"],
        linked_plans=[],
        partners=["Police"],
        expected_outcomes=["Referrals are handled within a working day"],
        measures_of_success=["Re-referrals fall below 20%"],
        review=now,
        previous=before,
        history=[
            RagCell(Q4, before.progress if before else None, before.impact if before else None),
            RagCell(Q1, now.progress if now else None, now.impact if now else None),
        ],
        actions=actions,
    )


@pytest.fixture(scope="module")
def report() -> QuarterlyReport:
    one = recommendation(
        1,
        "A. Early Help and Protection",
        "Review processes within the duty team so that contacts and referrals are secure",
        review(
            Q1,
            "green",
            "amber",
            commentary="The duty team review is complete.",
            impact_data="Re-referrals down from 24% to 19%",
            further_actions="Extend the audit to the MASH",
        ),
        review(Q4, "amber", "red"),
        [
            action(
                1,
                "Develop project plan",
                status="completed",
                status_since=date(2016, 5, 20),
                due_on=date(2016, 3, 31),
                original_due_on=date(2016, 3, 31),
            ),
            action(
                2,
                "Agree IT changes",
                due_on=date(2016, 12, 31),
                moves=[
                    Move(
                        date(2016, 6, 10),
                        date(2016, 9, 30),
                        date(2016, 12, 31),
                        "Waiting for the IT provider",
                        "Stephen Kitchman",
                    )
                ],
            ),
            action(
                3,
                "Train the duty team",
                due_on=date(2016, 6, 1),
                original_due_on=date(2016, 6, 1),
                overdue=True,
            ),
        ],
    )
    two = recommendation(
        2,
        "A. Early Help and Protection",
        "Implement the early help strategy",
        review(Q1, "amber", "amber"),
        review(Q4, "amber", "amber"),
        [action(1, "Publish it")],
    )
    three = recommendation(
        3, "B. Children Looked After", "Complete life story work", None, None, []
    )
    lines = [*one.actions, *two.actions]
    return QuarterlyReport(
        plan_id=UUID(int=1),
        title="Post-inspection improvement plan",
        source="Ofsted inspection, October-November 2015",
        published_on=date(2016, 2, 1),
        quarter=Q1,
        year_style="financial",
        known_at=PAPER,
        known_at_given=True,
        chain={"position": 4821, "hash": HASH},
        areas=[
            Area("A. Early Help and Protection", [one, two]),
            Area("B. Children Looked After", [three]),
        ],
        leads=[LeadLine("PK", "Paul King", "Service Manager", Counts.of(lines))],
        changes=[Change(1, "completed", "action 1.1 completed on 20 May 2016 (late)")],
        quarters=[Q4, Q1],
        made_at=PAPER,
    )


@pytest.fixture(scope="module")
def pdf(report) -> pdfium.PdfDocument:
    document = pdfium.PdfDocument(render.pdf(render.quarterly_html(report)))
    ARTEFACTS.mkdir(exist_ok=True)
    document[0].render(scale=1.5).to_pil().save(ARTEFACTS / "report-pdf-page-1.png")
    document[1].render(scale=1.5).to_pil().save(ARTEFACTS / "report-pdf-recommendation-1.png")
    yield document
    document.close()


def page_text(document: pdfium.PdfDocument, index: int) -> str:
    page = document[index]
    text = page.get_textpage().get_text_range()
    return re.sub(r"\s+", " ", text)


def test_the_title_page_names_the_plan_the_quarter_and_the_chain_head(pdf):
    first = page_text(pdf, 0)
    assert "Post-inspection improvement plan" in first
    assert "Quarterly monitoring report, Q1 2016/17 (April to June 2016)" in first
    assert "As of 30 June 2016, the last day of the quarter" in first
    assert "As known at 20 July 2016 at 18:00: only what the log held then" in first
    assert HASH in first.replace(" ", "")  # in full, on the title page
    assert "Green" in first and "Improved" in first  # a RAG rating and its direction, in words


def test_every_page_has_the_footer_with_the_as_of_date_and_the_chain_hash_prefix(pdf):
    pages = len(pdf)
    assert pages >= 4  # the title page, a page per recommendation, the lead summary...
    for index in range(pages):
        text = page_text(pdf, index)
        assert "As of 30 June 2016 · as known at 20 July 2016 at 18:00" in text, index
        assert f"log chain position 4821, hash {HASH[:16]}" in text, index
        assert f"Page {index + 1} of {pages}" in text, index


def test_each_recommendation_starts_a_page_with_its_monitoring_sections(pdf):
    texts = [page_text(pdf, i) for i in range(len(pdf))]
    starts = {
        n: next(i for i, t in enumerate(texts) if f"Recommendation {n} " in t and "Lead" in t)
        for n in (1, 2, 3)
    }
    assert starts[1] < starts[2] < starts[3]
    one = " ".join(texts[starts[1] : starts[2]])
    assert "Review processes within the duty team so that contacts and referrals are secure" in one
    assert "d) Action plan progress Progress: Green ↑ Improved (from Amber in Q4 2015/16)" in one
    assert "e) Impact: data and commentary Impact: Amber ↑ Improved (from Red in Q4 2015/16)" in one
    assert "Re-referrals down from 24% to 19%" in one
    assert "f) Recommendations for further action Extend the audit to the MASH" in one
    assert "20 May 2016, late by 50 days" in one
    assert "31 December 2016 Originally 30 September 2016" in one
    assert "Waiting for the IT provider" in one
    assert "Overdue at quarter end" in one
    three = " ".join(texts[starts[3] :])
    assert "No review recorded for Q1 2016/17" in three


def test_the_end_has_the_leads_the_changes_and_the_chart(pdf):
    rest = " ".join(page_text(pdf, i) for i in range(len(pdf)))
    assert "Summary by lead" in rest and "Paul King" in rest
    assert "Action 1.1 completed on 20 May 2016 (late)" in rest
    assert "Progress RAG ratings by quarter" in rest and "Impact RAG ratings by quarter" in rest


def test_without_pango_the_error_says_what_to_install(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_pango(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "weasyprint":
            raise OSError("cannot load library 'libpango-1.0-0'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pango)
    with pytest.raises(render.PdfUnavailable, match="apt-get install libpango-1.0-0 libpangoft2"):
        render.pdf("<p>x</p>")
