"""The action tracker, the audit register and a plan's status as spreadsheets (XLSX and
CSV), from the API and from the pages, with the same filters, as_of and known_at as the
JSON; what a committee clerk opens: headings in words, real dates, formulas made inert.

The history, on a simulated clock (worked out by hand below):
  2016-02-01 10:00  the bundled 2016 plan is imported (61 actions); "Develop project
                    plan for review of Referral and Assessment service" (PK) is due
                    2016-03-31, "Complete review of Referral and Assessment service..."
                    (PK) 2016-06-30
  2016-03-20 09:00  the first is moved to 2016-05-31: "the review started late"
  2016-04-10 09:00  an action on recommendation 1 whose description is a formula,
                    =HYPERLINK("http://x"), owner PK, due 2016-09-30
  2016-05-10 11:00  an audit of CS-1001 (child protection, good), audited 2016-05-09
  2016-06-12 11:00  an audit of CS-1002 (early help, requires improvement), audited
                    2016-06-10
  2016-07-04 10:00  the first action is completed, effective 2016-07-04
  2016-07-05 10:00  recommendation 1's review of Q1 2016/17: progress amber, impact red
  2016-07-06 09:00  recorded late: the second action in progress since 2016-06-15
and then the clock stands at 2016-09-01 12:00 ("today").
So on 2016-06-30, as known at 2016-07-05 17:00, the second action was not started (and
not overdue: due that very day), and as known now it was in progress since 15 June.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime
from html import unescape
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from qa_service.app import create_app
from qa_service.exports import Sheet, csv_lines, xlsx
from qa_service.service import build_service
from tests.conftest import ROLES, Client
from tests.e2e.builders import audit_body
from tests.e2e.pages import person, sign_in, text
from tests.e2e.test_import import raw_plan

LONDON = ZoneInfo("Europe/London")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FIRST = "Develop project plan for review of Referral and Assessment service"
SECOND = "Complete review of Referral and Assessment service"
FORMULA = '=HYPERLINK("http://x")'
KNOWN = "2016-07-05T17:00"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2016, 2, 1, 10, 0, tzinfo=LONDON)

    def __call__(self) -> datetime:
        return self.now

    def at(self, *when: int) -> None:
        self.now = datetime(*when, tzinfo=LONDON)


@pytest.fixture
def world(settings):
    """The history above: the app, a client per role, the plan and its two actions."""
    clock = Clock()
    svc = build_service(settings, clock=clock)
    app = create_app(settings, service=svc, TESTING=True)
    as_role = {role: Client(app.test_client(), svc.accounts.add(role, role)) for role in ROLES}
    manager, auditor = as_role["manager"], as_role["auditor"]

    plan = manager.post("/api/plans/import", raw_plan())
    assert plan.status_code == 201, plan.json
    plan = plan.json
    actions = plan["recommendations"][0]["actions"]
    first, second = actions[0], actions[1]
    assert first["description"] == FIRST and second["description"].startswith(SECOND)

    def ok(response):
        assert response.status_code in (200, 201), response.json
        return response.json

    clock.at(2016, 3, 20, 9)
    ok(
        manager.post(
            f"/api/actions/{first['id']}/reschedule",
            {
                "due_on": "2016-05-31",
                "effective_on": "2016-03-20",
                "reason": "the review started late",
            },
        )
    )
    clock.at(2016, 4, 10, 9)
    formula = ok(
        manager.post(
            "/api/actions",
            {
                "plan_id": plan["id"],
                "recommendation": 1,
                "description": FORMULA,
                "owners": ["PK"],
                "due_on": "2016-09-30",
            },
        )
    )
    clock.at(2016, 5, 10, 11)
    ok(auditor.post("/api/audits", audit_body(case_ref="CS-1001", audited_on="2016-05-09")))
    clock.at(2016, 6, 12, 11)
    ok(
        auditor.post(
            "/api/audits",
            audit_body(
                case_ref="CS-1002",
                service_area="early_help",
                overall_grade="requires_improvement",
                audited_on="2016-06-10",
                improvements=["+ chase the health visitor", "Plan actions are not timebound"],
            ),
        )
    )
    clock.at(2016, 7, 4, 10)
    ok(
        manager.post(
            f"/api/actions/{first['id']}/status",
            {"status": "completed", "effective_on": "2016-07-04"},
        )
    )
    clock.at(2016, 7, 5, 10)
    review = {
        "recommendation": 1,
        "quarter": "Q1 2016/17",
        "progress": "amber",
        "impact": "red",
        "effective_on": "2016-07-05",
    }
    ok(manager.post(f"/api/plans/{plan['id']}/reviews", review))
    clock.at(2016, 7, 6, 9)
    ok(
        manager.post(
            f"/api/actions/{second['id']}/status",
            {"status": "in_progress", "effective_on": "2016-06-15"},
        )
    )
    clock.at(2016, 9, 1, 12)
    yield {
        "app": app,
        "service": svc,
        "as_role": as_role,
        "plan": plan,
        "first": first,
        "second": second,
        "formula": formula,
    }
    svc.close()


def download(client, path: str, kind: str):
    response = client.get(path)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    wanted = XLSX if kind == "xlsx" else "text/csv"
    assert response.headers["Content-Type"].split(";")[0] == wanted
    return response


def csv_rows(response) -> list[dict[str, str]]:
    body = response.data.decode("utf-8")
    assert body.startswith("\ufeff")  # Excel reads it as UTF-8
    return list(csv.DictReader(io.StringIO(body.removeprefix("\ufeff"))))


def filename(response) -> str:
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment; filename=")
    return disposition.split("filename=")[1].strip('"')


def workbook(response):
    return openpyxl.load_workbook(io.BytesIO(response.data))


def table(ws) -> tuple[int, list[str], list[dict]]:
    """The headings' row (the first bold one under the title), the headings, and each
    row below as a dict of cells."""
    top = next(r for r in range(2, ws.max_row + 1) if ws.cell(r, 1).font.bold)
    headings = [cell.value for cell in ws[top]]
    rows = [dict(zip(headings, row, strict=True)) for row in ws.iter_rows(min_row=top + 1)]
    return top, headings, rows


def notes(ws, top: int) -> list[str]:
    return [ws.cell(row, 1).value for row in range(1, top) if ws.cell(row, 1).value]


# The action tracker.


def test_the_tracker_as_csv_has_a_row_per_action_with_its_due_date_history(world):
    inspector = world["as_role"]["inspector"]
    response = download(inspector, "/api/actions?format=csv&owner=PK&as_of=2016-06-30", "csv")
    assert filename(response) == "action-tracker-2016-06-30.csv"
    rows = csv_rows(response)
    assert list(rows[0])[:13] == [
        "Action", "Raised from", "Recommendation", "Case reference", "Owners",
        "Due date (original)", "Due date (now)", "Times moved", "Due date changes", "Status",
        "Status since", "Status reason", "Overdue",
    ]  # fmt: skip
    row = next(r for r in rows if r["Action"] == FIRST)
    assert row["Raised from"] == "Plan" and row["Recommendation"] == "1"
    assert row["Owners"] == "PK"
    assert (row["Due date (original)"], row["Due date (now)"]) == ("2016-03-31", "2016-05-31")
    assert row["Times moved"] == "1"
    assert row["Due date changes"] == (
        "20 March 2016: from 31 March 2016 to 31 May 2016 (the review started late), by manager"
    )
    assert (row["Status"], row["Overdue"]) == ("Not started", "Yes")
    inert = next(r for r in rows if r["Action"].endswith('HYPERLINK("http://x")'))
    assert inert["Action"] == "'" + FORMULA  # a spreadsheet shows it and runs nothing
    assert inert["Due date (now)"] == "2016-09-30" and inert["Times moved"] == "0"
    # Every action PK owns, not a page of them: the JSON's total, in one file.
    total = inspector.get("/api/actions?owner=PK&as_of=2016-06-30&page_size=1").json["total"]
    assert len(rows) == total > 1


def test_the_tracker_as_xlsx_says_what_it_holds_with_real_dates_and_no_formulas(world):
    auditor = world["as_role"]["auditor"]
    path = f"/api/actions?format=xlsx&owner=PK&as_of=2016-06-30&known_at={KNOWN}"
    response = download(auditor, path, "xlsx")
    assert filename(response) == "action-tracker-2016-06-30-known-2016-07-05-1700.xlsx"
    book = workbook(response)
    assert book.sheetnames == ["Action tracker"]
    ws = book["Action tracker"]
    top, headings, rows = table(ws)
    said = notes(ws, top)
    assert said[0] == "Action tracker" and ws.cell(1, 1).font.bold
    assert "As of 30 June 2016: each action as it stood at the end of that day." in said
    assert any(n.startswith("As known at 5 July 2016, 17:00 (Europe/London)") for n in said)
    assert "Filters: owner PK." in said
    assert headings[:8] == [
        "Action", "Raised from", "Recommendation", "Case reference", "Owners",
        "Due date (original)", "Due date (now)", "Times moved",
    ]  # fmt: skip
    assert all(cell.font.bold for cell in ws[top])
    assert ws.freeze_panes == f"A{top + 1}"  # the headings stay in view
    assert ws.column_dimensions["A"].width > ws.column_dimensions["B"].width
    row = next(r for r in rows if r["Action"].value == FIRST)
    due = row["Due date (original)"]
    assert due.is_date and due.value == datetime(2016, 3, 31) and "yy" in due.number_format
    assert row["Due date (now)"].value == datetime(2016, 5, 31)
    assert row["Times moved"].value == 1
    assert row["Overdue"].value == "Yes"
    formula = next(r for r in rows if "HYPERLINK" in str(r["Action"].value))["Action"]
    assert formula.value == FORMULA and formula.data_type == "s"  # text, not a formula
    assert formula.quotePrefix
    # As known at 17:00 on 5 July the second action had not started; it was due that day.
    second = next(r for r in rows if str(r["Action"].value).startswith(SECOND))
    assert (second["Status"].value, second["Overdue"].value) == ("Not started", "No")


def test_the_trackers_filters_as_of_and_known_at_change_the_rows(world):
    manager = world["as_role"]["manager"]

    def rows(query: str) -> list[dict[str, str]]:
        return csv_rows(download(manager, f"/api/actions?format=csv&{query}", "csv"))

    everything = rows("as_of=2016-06-30")
    assert len(everything) == 62  # the plan's 61 and the formula one
    overdue = rows("as_of=2016-06-30&overdue=true")
    assert 0 < len(overdue) < len(everything) and {r["Overdue"] for r in overdue} == {"Yes"}
    completed = rows("status=completed")
    assert [r["Action"] for r in completed] == [FIRST]
    assert rows("status=completed&as_of=2016-07-03") == []
    known_now = next(r for r in rows("as_of=2016-06-30") if r["Action"].startswith(SECOND))
    assert (known_now["Status"], known_now["Status since"]) == ("In progress", "2016-06-15")
    known_then = next(
        r for r in rows(f"as_of=2016-06-30&known_at={KNOWN}") if r["Action"].startswith(SECOND)
    )
    assert known_then["Status"] == "Not started"
    # page and page_size do not apply to a file: every matching row comes back.
    assert len(rows("as_of=2016-06-30&page=3&page_size=1")) == 62
    # The moves shown are those that had taken effect by as_of.
    before = next(r for r in rows("as_of=2016-03-19") if r["Action"] == FIRST)
    assert (before["Due date (now)"], before["Times moved"]) == ("2016-03-31", "0")


def test_a_format_the_api_does_not_make_or_a_bad_filter_is_refused(world):
    manager = world["as_role"]["manager"]
    plan_id = world["plan"]["id"]
    for path in ("/api/actions", "/api/audits", f"/api/plans/{plan_id}"):
        refused = manager.get(f"{path}?format=pdf")
        assert refused.status_code == 422
        assert "format" in refused.json["errors"]["query"]
        assert manager.get(f"{path}?format=xlsx&fromat=csv").status_code == 422
    unknown = manager.get("/api/actions?format=xlsx&owner=PQ")
    assert unknown.status_code == 422 and "did you mean PK" in unknown.json["message"]
    assert manager.get("/api/actions?format=csv&recommendation=1").status_code == 200
    missing = manager.get("/api/plans/00000000-0000-0000-0000-000000000000?format=xlsx")
    assert missing.status_code == 404 and missing.is_json


# The audit register.


def test_the_audit_register_as_csv_and_xlsx(world):
    inspector = world["as_role"]["inspector"]
    response = download(inspector, "/api/audits?format=csv&as_of=2016-06-30", "csv")
    assert filename(response) == "audit-register-2016-06-30.csv"
    rows = csv_rows(response)
    assert list(rows[0])[:9] == [
        "Case reference", "Audited on", "Service area", "Audit type", "Theme", "Grade",
        "Auditor's grade", "Moderated", "Moderated by",
    ]  # fmt: skip
    assert [r["Case reference"] for r in rows] == ["CS-1002", "CS-1001"]  # most recent first
    latest = rows[0]
    assert latest["Audited on"] == "2016-06-10"
    assert (latest["Service area"], latest["Grade"]) == ("Early help", "Requires improvement")
    assert latest["Planning"] == "Requires improvement" and latest["Assessment"] == "Good"
    assert latest["Areas for improvement"] == (
        "'+ chase the health visitor\nPlan actions are not timebound"
    )
    assert (latest["Moderated"], latest["Auditor"], latest["Recorded late"]) == (
        "No",
        "auditor",
        "Yes",
    )

    book = workbook(download(inspector, "/api/audits?format=xlsx&as_of=2016-06-30", "xlsx"))
    assert book.sheetnames == ["Audit register"]
    ws = book.active
    top, headings, cells = table(ws)
    said = notes(ws, top)
    assert said[0] == "Audit register"
    assert "As of 30 June 2016: each audit as it stood at the end of that day." in said
    assert "Filters: withdrawn audits left out." in said
    assert "2 audits, most recent first." in said
    audited = cells[0]["Audited on"]
    assert audited.is_date and audited.value == datetime(2016, 6, 10)
    assert cells[0]["Recorded at"].value == datetime(2016, 6, 12, 11, 0)  # London time
    assert cells[0]["Areas for improvement"].data_type == "s"


def test_the_registers_filters_as_of_and_known_at_change_the_rows(world):
    auditor = world["as_role"]["auditor"]

    def cases(query: str) -> list[str]:
        rows = csv_rows(download(auditor, f"/api/audits?format=csv&{query}", "csv"))
        return [r["Case reference"] for r in rows]

    assert cases("as_of=2016-06-30&service_area=child_protection") == ["CS-1001"]
    assert cases("as_of=2016-06-30&grade=requires_improvement") == ["CS-1002"]
    assert cases("as_of=2016-06-30&from=2016-06-01") == ["CS-1002"]
    assert cases("as_of=2016-05-31") == ["CS-1001"]
    assert cases("as_of=2016-06-30&known_at=2016-06-01T12:00") == ["CS-1001"]
    response = download(auditor, "/api/audits?format=xlsx&service_area=early_help", "xlsx")
    assert filename(response) == "audit-register-2016-09-01.xlsx"  # today, by default
    ws = workbook(response).active
    assert "Filters: service area Early help; withdrawn audits left out." in notes(ws, 10)


# A plan's status.


def test_the_plan_status_has_a_row_per_action_with_its_recommendations_latest_rag(world):
    manager = world["as_role"]["manager"]
    plan_id = world["plan"]["id"]
    response = download(manager, f"/api/plans/{plan_id}?format=xlsx&as_of=2016-07-31", "xlsx")
    assert filename(response) == "plan-status-2016-07-31.xlsx"
    book = workbook(response)
    assert book.sheetnames == ["Plan status", "Recommendations"]
    ws = book["Plan status"]
    top, headings, rows = table(ws)
    said = notes(ws, top)
    assert said[0].startswith("Plan status: Early Help, Protection and Looked After Children")
    assert "As of 31 July 2016: the plan as it stood at the end of that day." in said
    assert any(n.startswith("62 actions: 1 completed,") for n in said)
    assert headings[:7] == [
        "Recommendation", "Area", "Leads", "Progress RAG (latest)", "Impact RAG (latest)",
        "Latest review", "Action",
    ]  # fmt: skip
    assert len(rows) == 62
    row = next(r for r in rows if r["Action"].value == FIRST)
    assert row["Recommendation"].value == 1
    assert row["Area"].value == "A. Early Help and Protection"
    assert (row["Progress RAG (latest)"].value, row["Impact RAG (latest)"].value) == (
        "Amber",
        "Red",
    )
    assert row["Latest review"].value == "Q1 2016/17"
    assert row["Status"].value == "Completed" and row["Times moved"].value == 1
    assert row["Due date (now)"].value == datetime(2016, 5, 31)
    other = next(r for r in rows if r["Recommendation"].value == 2)
    assert other["Latest review"].value == "Not reviewed yet"
    formula = next(r for r in rows if "HYPERLINK" in str(r["Action"].value))["Action"]
    assert formula.data_type == "s" and formula.value == FORMULA
    recommendations = table(book["Recommendations"])[2]
    assert [r["Recommendation"].value for r in recommendations] == list(range(1, 10))
    assert recommendations[0]["Actions"].value == 8 and recommendations[0]["Completed"].value == 1

    # Before the review was recorded, nothing was reviewed; the CSV is the first sheet.
    path = f"/api/plans/{plan_id}?format=csv&as_of=2016-07-31&known_at=2016-07-05T09:00"
    response = download(manager, path, "csv")
    assert filename(response) == "plan-status-2016-07-31-known-2016-07-05-0900.csv"
    rows = csv_rows(response)
    first = next(r for r in rows if r["Action"] == FIRST)
    assert first["Latest review"] == "Not reviewed yet" and first["Progress RAG (latest)"] == ""
    assert first["Status"] == "Completed"  # recorded on 4 July


# The pages: links that keep the filters, and the files they give.


@pytest.fixture
def browser(world):
    client = world["app"].test_client()
    person(world["service"], "Mo Manager", "manager")
    sign_in(client, "Mo Manager")
    return client


def links(page) -> dict[str, str]:
    """The page's download links: their words, and where they go."""
    html = page.get_data(as_text=True)
    found = re.findall(r'<a class="govuk-link" href="([^"]+)" download>([^<]+)</a>', html)
    return {unescape(words): unescape(href) for href, words in found}


def test_the_tracker_page_links_to_its_list_as_xlsx_and_csv_with_its_filters(world, browser):
    page = browser.get(f"/actions?origin=plan&as_of=2016-06-30&known_at={KNOWN}&page=2")
    assert page.status_code == 200
    assert "Download this list as a spreadsheet (XLSX)" in text(page)
    found = links(page)
    xlsx_link = found["Download this list as a spreadsheet (XLSX)"]
    csv_link = found["Download this list as CSV"]
    assert xlsx_link.startswith("/actions.xlsx?") and csv_link.startswith("/actions.csv?")
    for part in ("origin=plan", "as_of=2016-06-30", "known_at=2016-07-05T17"):
        assert part in xlsx_link and part in csv_link
    assert "page=" not in xlsx_link  # every page's actions
    book = workbook(download(browser, xlsx_link, "xlsx"))
    said = notes(book.active, 8)
    assert "Filters: raised from a plan." in said
    assert any(n.startswith("As known at 5 July 2016, 17:00") for n in said)
    rows = csv_rows(download(browser, csv_link, "csv"))
    assert len(rows) == 62 and FIRST in {r["Action"] for r in rows}
    second = next(r for r in rows if r["Action"].startswith(SECOND))
    assert second["Status"] == "Not started"  # as known at 17:00 on 5 July
    # A filter that is not right shows the tracker with its message, not a file.
    wrong = browser.get("/actions.xlsx?owner=PQ")
    assert wrong.status_code == 200 and "did you mean PK" in text(wrong)
    assert browser.get("/actions.pdf").status_code == 404


def test_the_register_page_links_to_its_list_as_xlsx_and_csv_with_its_filters(browser):
    page = browser.get("/audits?service_area=early_help&as_of=2016-06-30&known_at=2016-07-01T09:00")
    assert page.status_code == 200
    found = links(page)
    csv_link = found["Download this list as CSV"]
    assert csv_link.startswith("/audits.csv?")
    for part in ("service_area=early_help", "as_of=2016-06-30", "known_at=2016-07-01T09"):
        assert part in csv_link
    rows = csv_rows(download(browser, csv_link, "csv"))
    assert [r["Case reference"] for r in rows] == ["CS-1002"]
    xlsx_link = found["Download this list as a spreadsheet (XLSX)"]
    response = download(browser, xlsx_link, "xlsx")
    assert filename(response) == "audit-register-2016-06-30-known-2016-07-01-0900.xlsx"
    wrong = browser.get("/audits.csv?from=2016-02-30")
    assert wrong.status_code == 200 and "Audited from: there is no 30 February 2016" in text(wrong)


def test_the_dashboard_links_to_the_plan_status_and_shows_quarters_in_financial_years(
    world, browser
):
    plan_id = world["plan"]["id"]
    page = browser.get(f"/plans/{plan_id}?as_of=2016-07-31")
    assert "Progress Amber (Q1 2016/17 review)" in text(page)
    found = links(page)
    xlsx_link = found["Download this plan's status as a spreadsheet (XLSX)"]
    assert xlsx_link == f"/plans/{plan_id}/status.xlsx?as_of=2016-07-31"
    assert found["Download this plan's status as CSV"].startswith(f"/plans/{plan_id}/status.csv")
    book = workbook(download(browser, xlsx_link, "xlsx"))
    assert book.sheetnames == ["Plan status", "Recommendations"]
    before = browser.get(f"/plans/{plan_id}/status.csv?as_of=2015-12-31")
    assert before.status_code == 200 and "The plan was published on 2016-02-01" in text(before)


# The writer itself.


def test_sheet_names_are_made_safe_and_unique_and_lists_joined():
    book = openpyxl.load_workbook(
        io.BytesIO(
            xlsx(
                [
                    Sheet("Plan: status / 2016 [draft] and a name far too long", [("a", "A")], []),
                    Sheet("plan  status", [("a", "A")], []),
                    Sheet("Plan status", [("a", "A")], []),
                    Sheet("Plan status", [("owners", "Owners")], [{"owners": ["PK", "SK"]}]),
                ]
            )
        )
    )
    assert book.sheetnames == [
        "Plan status 2016 draft and a na",
        "plan status",
        "Plan status (2)",
        "Plan status (3)",
    ]
    assert book["Plan status (3)"]["A2"].value == "PK, SK"  # no notes: headings in row 1
    long = openpyxl.load_workbook(
        io.BytesIO(xlsx([Sheet("x", [("t", "T")], [{"t": "a" * 40_000}])]))
    )
    assert len(long.active["A2"].value) == 32_767  # Excel's most, said so at the end
    assert long.active["A2"].value.endswith("a cell holds at most 32,767 characters]")
    sheet = Sheet(
        "x", [("owners", "Owners"), ("n", "@ note")], [{"owners": ["=A1", "SK"], "n": None}]
    )
    assert "".join(csv_lines(sheet)).splitlines() == ["Owners,'@ note", '"\'=A1, SK",']
