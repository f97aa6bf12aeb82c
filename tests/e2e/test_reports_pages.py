"""The reports' pages through Flask's test client, on the demo's history of the 2016 plan
(to the end of September 2016): the chooser, the quarterly report of Q1 2016/17 as a
page and as a PDF, and the errors a person can make choosing one."""

from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from qa_service.app import create_app
from qa_service.demo import SimClock, load_demo
from qa_service.service import build_service
from tests.conftest import ROLES
from tests.e2e.pages import person, sign_in, text

LONDON = ZoneInfo("Europe/London")
AREAS = (
    "A. Early Help and Protection",
    "B. Children Looked After and Achieving Permanence",
    "C. Leadership, Management and Governance",
)


@pytest.fixture
def demo(settings):
    clock = SimClock(now=datetime(2016, 2, 1, tzinfo=LONDON))
    svc = build_service(settings, clock=clock)
    load_demo(svc.commands, clock, LONDON, until=date(2016, 9, 30))
    plan_id = svc.queries.plans(page_size=10)["items"][0]["id"]
    yield svc, plan_id
    svc.close()


@pytest.fixture
def reader(demo):
    """``reader(role)``: a test client signed in as someone with that role."""
    svc, _ = demo
    app = create_app(svc.settings, service=svc, TESTING=True)

    def sign_in_as(role: str):
        client = app.test_client()
        name = person(svc, f"{role.capitalize()} Reader", role)
        assert sign_in(client, name).status_code == 302
        return client

    return sign_in_as


def problems(page) -> str:
    """The error summary's words, or "" when there is none."""
    words = text(page)
    if "There is a problem" not in words:
        return ""
    return words.split("There is a problem", 1)[1].split(" Reports ", 1)[0].strip()


@pytest.mark.parametrize("store", ["sqlite"])  # the same pages on either store
@pytest.mark.parametrize("role", ROLES)
def test_every_role_may_choose_and_read_a_report(reader, demo, role):
    _, plan_id = demo
    client = reader(role)
    chooser = client.get("/reports")
    assert chooser.status_code == 200
    words = text(chooser)
    assert "Quarterly monitoring report of an improvement plan" in words
    assert "Six-monthly quality assurance report" in words
    assert "Post-Ofsted Inspection Improvement Plan Published 1 February 2016" in words
    assert 'href="/reports"' in chooser.get_data(as_text=True)  # in the menu
    report = client.get(f"/reports/quarterly?plan={plan_id}&quarter=Q1+2016/17")
    assert report.status_code == 200
    assert "Quarterly monitoring report, Q1 2016/17 (April to June 2016)" in text(report)


def test_signed_out_people_are_sent_to_sign_in(app):
    page = app.test_client().get("/reports/quarterly?quarter=Q1+2016/17")
    assert page.status_code == 302 and page.headers["Location"].startswith("/sign-in")


def test_the_quarterly_report_shows_the_plans_9_recommendations_in_3_areas(reader, demo):
    svc, plan_id = demo
    page = reader("manager").get(
        f"/reports/quarterly?plan={plan_id}&quarter=Q1+2016/17&known_at=2016-07-20T18:00"
    )
    html = page.get_data(as_text=True)
    words = text(page)
    assert page.mimetype == "text/html"
    assert re.findall(r'<h2 id="area-\d">([^<]+)</h2>', html) == list(AREAS)
    headings = re.findall(r'<h3 id="recommendation-(\d)-heading">', html)
    assert headings == [str(n) for n in range(1, 10)]
    assert "Early Help, Protection and Looked After Children" in words
    assert "As of 30 June 2016, the last day of the quarter" in words
    assert "As known at 20 July 2016 at 18:00: only what the log held then" in words
    for part in (
        "d) Action plan progress",
        "e) Impact: data and commentary",
        "f) Recommendations for further action",
    ):
        assert words.count(part) == 9
    assert "Summary by lead" in words and "Paul King" in words
    assert "What changed since the previous quarter" in words
    assert "Progress RAG ratings by quarter" in words
    # RAG ratings in words, with the direction in words beside the arrow.
    assert re.search(
        r"Progress: (Green|Amber|Red) (↑ Improved|↓ Worse|→ No change|First review)", words
    )
    # The chain head as known then, in full on the title page and short in the footer.
    chain = re.search(r'id="chain-hash">([0-9a-f]{64})<', html)
    assert chain, "the title page shows the chain's head hash"
    assert f'hash <span class="qa-hash">{chain[1][:16]}</span>' in html
    # The toolbar: a stylesheet and script from this site, no inline style or script.
    assert '<link rel="stylesheet" href="/reports/assets/report.css">' in html
    assert "<style" not in html and " style=" not in html
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)
    assert f'href="/reports/quarterly.pdf?plan={plan_id}&amp;quarter=Q1+2016%2F17' in html
    assert f'href="/reports/quarterly.xlsx?plan={plan_id}' in html
    assert "Download spreadsheet (XLSX)" in words
    css = reader("auditor").get("/reports/assets/report.css")
    assert css.status_code == 200 and css.mimetype == "text/css"
    assert "break-before: page" in css.get_data(as_text=True)


def test_the_report_as_known_at_the_papers_date_leaves_out_what_came_later(reader, demo):
    _, plan_id = demo
    client = reader("inspector")
    before = text(
        client.get(
            f"/reports/quarterly?plan={plan_id}&quarter=Q1+2016/17&known_at=2016-06-01T09:00"
        )
    )
    after = text(client.get(f"/reports/quarterly?plan={plan_id}&quarter=Q1+2016/17"))
    # The Q1 2016/17 reviews were recorded in July: not known on 1 June.
    assert before.count("No review recorded for Q1 2016/17") == 2 * 9
    assert after.count("No review recorded for Q1 2016/17") < 2 * 9


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("quarter=Q5+2016", "The quarter must be a quarter written like Q1 2016/17"),
        ("quarter=", "Enter the quarter, like Q1 2016/17"),
        ("quarter=Q1+2016/18", "A financial year runs from April to March: 2016/17, not 2016/18"),
        ("quarter=Q1+2015/16", "The plan was published on 2016-02-01, after Q1 2015/16 ended"),
        ("quarter=Q1+2016/17&known_at=soon", "Enter the date and time it was known at, like"),
        ("quarter=Q1+2016/17&known_at=2015-12-01T09:00", "The plan was not yet in the log"),
    ],
)
def test_a_bad_choice_shows_the_error_summary_and_the_chooser(reader, demo, query, message):
    _, plan_id = demo
    page = reader("auditor").get(f"/reports/quarterly?plan={plan_id}&{query}")
    assert page.status_code == 200
    assert problems(page).startswith(message), problems(page)
    assert "View the quarterly report" in text(page)  # the form again, to put it right


def test_a_plan_that_is_not_there_is_a_choice_to_make(reader):
    page = reader("manager").get(
        "/reports/quarterly?plan=0b6c1f4e-1111-4111-8111-111111111111&quarter=Q1+2016/17"
    )
    assert problems(page) == "Choose the plan"


@pytest.mark.parametrize("store", ["sqlite"])  # one PDF is enough: it is made from the model
def test_the_pdf_and_the_spreadsheet_are_downloads_named_after_the_quarter(reader, demo):
    _, plan_id = demo
    client = reader("inspector")
    pdf = client.get(f"/reports/quarterly.pdf?plan={plan_id}&quarter=2016-Q2")
    assert pdf.status_code == 200
    assert pdf.mimetype == "application/pdf"
    assert pdf.data.startswith(b"%PDF-")
    assert pdf.headers["Content-Disposition"] == (
        'attachment; filename="monitoring-report-Q1-2016-17.pdf"'
    )
    sheet = client.get(f"/reports/quarterly.xlsx?plan={plan_id}&quarter=2016-Q2")
    assert sheet.status_code == 200 and sheet.data.startswith(b"PK")  # a zip: XLSX
    assert sheet.headers["Content-Disposition"].endswith('monitoring-report-Q1-2016-17.xlsx"')
    wrong = client.get(f"/reports/quarterly.pdf?plan={plan_id}&quarter=Q9")
    assert wrong.mimetype == "text/html" and problems(wrong)


def test_the_six_monthly_report_and_its_errors(reader):
    client = reader("auditor")
    page = client.get("/reports/six-monthly?from=2016-04&to=2016-09")
    words = text(page)
    assert page.status_code == 200
    assert "Six-monthly quality assurance report" in words
    assert "1 April 2016 to 30 September 2016" in words
    assert "Audits in the period" in words and "Moderation" in words
    assert problems(client.get("/reports/six-monthly?from=2016-09&to=2016-04")) == (
        "The last month must not be before the first"
    )
    assert problems(client.get("/reports/six-monthly?from=&to=2016-04")) == (
        "Enter the first month of the period, like 2018-10"
    )
    back = client.get("/reports?from=2016-04&to=2016-09&six_known_at=2016-10-05T12:00")
    assert 'value="2016-10-05T12:00"' in back.get_data(as_text=True)
