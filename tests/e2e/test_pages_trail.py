"""The inspector's pages (the trail, a record's history, verification, the downloads) and
the learning weeks' pages, through Flask's test client, on both stores."""

from __future__ import annotations

import csv
import html
import io
import zipfile
from datetime import date, timedelta
from uuid import UUID

import pytest
from sqlalchemy import update

from projections.trail import trail
from qa_service.checkpoints import issue_checkpoint, signer
from qa_service.pack_verify import verify as verify_pack
from tests.e2e.builders import audit_body, make_plan
from tests.e2e.pages import csrf, person, sign_in, text

TODAY = date.today()


def read(page):
    """What a person reads, with the entities (&#39;) as the characters they show."""
    return html.unescape(text(page))


@pytest.fixture(autouse=True)
def signing_key(tmp_path, monkeypatch):
    """The service's signing key in this test's folder (on PostgreSQL it would otherwise
    be made in the working directory)."""
    monkeypatch.setenv("QA_SIGNING_KEY", str(tmp_path / "keys" / "qa-signing-key.pem"))


@pytest.fixture
def recorded(manager, auditor):
    """A plan (by manager-1) and two audits (by auditor-1), one of them withdrawn with a
    reason a spreadsheet would run as a formula; the first audit's id."""
    make_plan(manager)
    first = auditor.post("/api/audits", audit_body(case_ref="CS-104233")).json["id"]
    second = auditor.post("/api/audits", audit_body(case_ref="CS-200871")).json["id"]
    withdrawn = auditor.post(
        f"/api/audits/{second}/withdrawal", {"reason": '=HYPERLINK("http://evil.example")'}
    )
    assert withdrawn.status_code == 200, withdrawn.json
    return first


def signed_in_as(app, service, name, role):
    person(service, name, role)
    client = app.test_client()
    assert sign_in(client, name).status_code == 302
    return client


@pytest.fixture
def inspector_page(app, service):
    return signed_in_as(app, service, "Ian Inspector", "inspector")


@pytest.fixture
def auditor_page(app, service):
    return signed_in_as(app, service, "Ann Auditor", "auditor")


def test_the_trail_lists_what_was_recorded_with_who_and_when(recorded, inspector_page):
    page = inspector_page.get("/trail")
    assert page.status_code == 200
    seen = read(page)
    assert "Plan created: Post-inspection improvement plan" in seen
    assert "manager-1 Manager" in seen and "auditor-1 Auditor" in seen
    assert "Audit recorded: core audit of case CS-104233" in seen
    assert "Recorded late" in seen  # audited in 2019, recorded today
    assert 'Reason: =HYPERLINK("http://evil.example")' in seen
    assert f'href="/audits/{recorded}"' in page.get_data(as_text=True)
    assert f'href="/history/audit/{recorded}"' in page.get_data(as_text=True)
    assert f"Effective {TODAY.day} " in seen  # the plan's leads, added today


def test_a_filter_narrows_the_trail_and_a_bad_one_is_named(recorded, inspector_page):
    audits = read(inspector_page.get("/trail?entity_type=audit&actor=auditor-1"))
    assert "3 entries match these filters" in audits
    assert "Audit recorded" in audits and "Plan created" not in audits
    withdrawn = read(inspector_page.get("/trail?event_type=Withdrawn"))
    assert "1 entry match" in withdrawn and "Audit withdrawn" in withdrawn
    bad = inspector_page.get("/trail?effective_to=2016-02-31&recorded_from=soon")
    assert "There is a problem" in read(bad)
    assert "Effective to: there is no 31 February 2016" in read(bad)
    assert "Recorded from: must be a date and time" in read(bad)


def test_the_csv_download_is_the_apis_csv_with_formula_safe_cells(
    recorded, inspector_page, inspector
):
    download = inspector_page.get("/trail.csv?entity_type=audit")
    assert download.status_code == 200
    assert download.mimetype == "text/csv"
    assert "attachment" in download.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(download.get_data(as_text=True))))
    assert [r["event_type"] for r in rows] == ["Recorded", "Recorded", "Withdrawn"]
    assert rows[-1]["reason"] == '\'=HYPERLINK("http://evil.example")'
    api = inspector.get("/api/trail?format=csv&entity_type=audit")
    assert download.get_data() == api.get_data()  # the same CSV as the API's


def test_the_pack_download_is_a_zip_that_verify_pack_verifies(
    recorded, inspector_page, service, tmp_path
):
    form = read(inspector_page.get("/trail"))
    assert "separate channel" in form
    pack = inspector_page.get(f"/trail/pack?as_of={TODAY.isoformat()}")
    assert pack.status_code == 200 and pack.mimetype == "application/zip"
    assert f"qa-pack-{TODAY.isoformat()}.zip" in pack.headers["Content-Disposition"]
    path = tmp_path / "pack.zip"
    path.write_bytes(pack.get_data())
    key = tmp_path / "public.pub"
    key.write_text(signer(service.settings).public_hex + "\n")
    assert verify_pack(str(path), str(key)) == []
    with zipfile.ZipFile(path) as opened:
        assert "trail.csv" in opened.namelist()
    known = inspector_page.get(f"/trail/pack?as_of=2019-02-01&known_at={TODAY}T00:00")
    assert known.status_code == 200 and known.mimetype == "application/zip"
    missing = inspector_page.get("/trail/pack?as_of=")
    assert "Enter the date the plan status and audit register are for" in read(missing)
    verifier = inspector_page.get("/trail/verify_pack.py")
    assert b"def verify(" in verifier.get_data()


def test_the_verification_panel_says_ok_with_the_head_position(recorded, inspector_page, service):
    issue_checkpoint(service)
    head = service.queries.trail(page_size=1)["total"]
    before = read(inspector_page.get("/trail/verify"))
    assert "Verify now" in before and "Verified" not in before
    assert signer(service.settings).public_hex in before
    assert f"Checkpoints, newest first Position Issued Head hash Signed by {head} " in before
    result = read(inspector_page.get("/trail/verify?run=yes"))
    assert "Verified: the trail is intact" in result
    assert f"Chain verified to position {head}" in result
    assert "Every read model matches the events" in result
    assert "1 checked: every signature is good" in result


def test_a_records_history_shows_the_state_after_each_change(recorded, inspector_page, auditor):
    corrected = auditor.post(
        f"/api/audits/{recorded}/corrections",
        {"changes": {"service_area": "early_help"}, "reason": "Entered wrongly"},
    )
    assert corrected.status_code == 200, corrected.json
    page = read(inspector_page.get(f"/history/audit/{recorded}"))
    assert "2 changes" in page
    assert "Version 1: Recorded" in page and "Version 2: Corrected" in page
    assert "Reason Entered wrongly" in page
    assert "Service area Child protection" in page  # after version 1
    assert "Service area Changed Early help" in page  # after version 2
    assert inspector_page.get(f"/history/nothing/{recorded}").status_code == 404


def test_an_auditor_may_not_see_the_trail(recorded, auditor_page):
    for path in ("/trail", "/trail.csv", "/trail/verify", "/trail/pack?as_of=2019-01-01",
                 f"/history/audit/{recorded}"):  # fmt: skip
        assert auditor_page.get(path).status_code == 403, path


@pytest.fixture
def week(manager):
    opened = manager.post(
        "/api/learning-weeks",
        {
            "title": "Listening and Learning week, test",
            "starts_on": (TODAY - timedelta(days=2)).isoformat(),
            "ends_on": (TODAY + timedelta(days=2)).isoformat(),
        },
    )
    assert opened.status_code == 201, opened.json
    return opened.json["id"]


def test_a_learning_weeks_page_shows_feedback_and_findings_recorded_through_its_forms(
    week, auditor_page, app, service
):
    page = auditor_page.get(f"/learning-weeks/{week}")
    assert "Record a family's feedback" in read(page)
    feedback = auditor_page.post(
        f"/learning-weeks/{week}/feedback",
        data={
            "csrf_token": csrf(page),
            "version": "1",
            "respondent": "young_person",
            "satisfaction": "8",
            "knew_why_involved": "yes",
            "comment": "They listened to me",
        },
    )
    assert feedback.status_code == 302
    assert feedback.headers["Location"].endswith(
        f"/learning-weeks/{week}?recorded=feedback#recorded"
    )
    after = auditor_page.get(feedback.headers["Location"])
    shown = read(after)
    assert "The family's feedback was recorded." in shown
    assert "Young person 8 Yes They listened to me" in shown
    assert "Families who gave feedback 1" in shown and "Mean satisfaction 8.0 out of 10" in shown
    finding = auditor_page.post(
        f"/learning-weeks/{week}/findings",
        data={"csrf_token": csrf(after), "kind": "strength", "theme": "voice of the child",
              "text": "Children's wishes are recorded in their words"},
    )  # fmt: skip
    assert finding.status_code == 302
    shown = read(auditor_page.get(finding.headers["Location"]))
    assert "What is going well Voice of the child: Children's wishes are recorded" in shown
    inspector = signed_in_as(app, service, "Ian Inspector", "inspector")
    seen = read(inspector.get(f"/learning-weeks/{week}"))
    assert "They listened to me" in seen and "Record a family's feedback" not in seen
    listed = read(inspector.get("/learning-weeks"))
    assert "Listening and Learning week, test" in listed
    assert "Learning weeks: families' mean satisfaction" in listed


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("satisfaction", "11", "Satisfaction must be greater than or equal to 0 and less "
                               "than or equal to 10"),
        ("comment", "ok\x01", "Comment must not contain control characters: U+0001 at "
                              "character 3"),
    ],
)  # fmt: skip
def test_refused_feedback_shows_the_schemas_message_and_records_nothing(
    week, auditor_page, service, field, value, message
):
    page = auditor_page.get(f"/learning-weeks/{week}")
    data = {"csrf_token": csrf(page), "respondent": "parent", "satisfaction": "5",
            "knew_why_involved": "no", field: value}  # fmt: skip
    refused = auditor_page.post(f"/learning-weeks/{week}/feedback", data=data)
    assert refused.status_code == 200  # the form again, as the sign-in page does
    shown = read(refused)
    assert "There is a problem" in shown and message in shown
    assert f'href="#{field}"' in refused.get_data(as_text=True)
    assert service.queries.learning_week(UUID(week))["feedback_count"] == 0


def test_feedback_for_a_closed_week_or_a_missing_answer_is_said_in_words(
    week, auditor_page, manager
):
    page = auditor_page.get(f"/learning-weeks/{week}")
    empty = auditor_page.post(f"/learning-weeks/{week}/findings",
                              data={"csrf_token": csrf(page)})  # fmt: skip
    assert "Select whether it is going well or an area for improvement" in read(empty)
    assert "Enter the finding's theme" in read(empty)
    assert manager.post(f"/api/learning-weeks/{week}/closure", {}).status_code == 200
    closed = auditor_page.post(
        f"/learning-weeks/{week}/feedback",
        data={"csrf_token": csrf(page), "respondent": "parent", "satisfaction": "5",
              "knew_why_involved": "no"},
    )  # fmt: skip
    assert closed.status_code == 200
    assert "The learning week was closed on" in read(closed)
    assert "nothing was recorded" in read(closed)
    assert "Record a family's feedback" not in read(closed)


def test_the_verification_panel_names_a_read_model_that_was_edited(
    recorded, inspector_page, service
):
    with service.engine.begin() as conn:  # someone with write access to the read models
        conn.execute(update(trail).where(trail.c.position == 1).values(actor="someone else"))
    result = read(inspector_page.get("/trail/verify?run=yes"))
    assert "Not verified The chain holds, but something does not match" in result
    assert "Where the read models differ from the events" in result
    assert "someone else" in result and "Verified: the trail is intact" not in result
