"""The manager's pages: the plan dashboard as of any date, the action tracker, and the
forms on an action and on the plan, through Flask's test client."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.e2e.pages import csrf, person, sign_in, text
from tests.e2e.test_import import raw_plan


@pytest.fixture
def plan(manager) -> dict:
    made = manager.post("/api/plans/import", raw_plan())
    assert made.status_code == 201, made.json
    return made.json


@pytest.fixture
def browser(app, service):
    client = app.test_client()
    person(service, "Mo Manager", "manager")
    sign_in(client, "Mo Manager")
    return client


def first_action(plan: dict) -> dict:
    return plan["recommendations"][0]["actions"][0]  # "Develop project plan ...", due 31 March 2016


def events_in(service) -> int:
    return service.commands.recorder.max_notification_id() or 0


def test_the_plans_list_links_each_plan_to_its_dashboard(browser, plan):
    page = browser.get("/plans")
    assert page.status_code == 200
    assert "Post-Ofsted Inspection Improvement Plan" in text(page)
    assert f'href="/plans/{plan["id"]}"' in page.get_data(as_text=True)
    home = text(browser.get("/home"))
    assert "Improvement plans" in home and "Action tracker" in home


def test_the_dashboard_as_of_a_past_date_shows_that_days_statuses_and_says_so(
    browser, manager, plan
):
    action = first_action(plan)
    before_change = datetime.now().isoformat()  # noqa: DTZ005 (the service's local time)
    done = manager.post(
        f"/api/actions/{action['id']}/status",
        {"status": "completed", "effective_on": "2016-07-04"},
    )
    assert done.status_code == 200, done.json

    today = text(browser.get(f"/plans/{plan['id']}"))
    assert "Recommendation 1" in today and "A. Early Help and Protection" in today
    assert "Develop project plan for review of Referral and Assessment service" in today
    assert "Completed 1" in today  # the counts: one completed
    assert "Showing the plan" not in today

    past = text(browser.get(f"/plans/{plan['id']}?as_of=2016-06-30"))
    assert "Showing the plan as it was on 30 June 2016." in past
    assert "Show the plan as it is today" in past
    assert "Completed 0" in past
    row = past.split("Develop project plan for review of Referral and Assessment service")[1]
    assert row.lstrip().startswith("PK 31 March 2016 Not started Overdue")

    known = text(browser.get(f"/plans/{plan['id']}?as_of=2016-07-31&known_at={before_change}"))
    assert "as it was on 31 July 2016, as known at" in known
    assert "Completed 0" in known  # the change was not yet recorded then

    wrong = browser.get(f"/plans/{plan['id']}?as_of=2016-02-30&known_at=soon")
    assert wrong.status_code == 200
    assert "There is a problem" in text(wrong)
    assert "There is no 30 February 2016" in text(wrong)
    assert "Not a valid datetime" in text(wrong)
    before = text(browser.get(f"/plans/{plan['id']}?as_of=2015-12-31"))
    assert "The plan was published on 2016-02-01" in before


def test_a_moved_due_date_shows_the_original(browser, manager, plan):
    action = first_action(plan)
    moved = manager.post(
        f"/api/actions/{action['id']}/reschedule",
        {"due_on": "2016-05-31", "effective_on": "2016-03-20", "reason": "the review started late"},
    )
    assert moved.status_code == 200, moved.json
    assert moved.json["original_due_on"] == "2016-03-31"
    row = text(browser.get(f"/plans/{plan['id']}")).split("Referral and Assessment service")[1]
    assert row.lstrip().startswith("PK 31 May 2016 Originally 31 March 2016")


def test_a_status_change_through_the_form_shows_on_the_pages(browser, service, plan):
    action = first_action(plan)
    page = browser.get(f"/actions/{action['id']}")
    assert "Change the status" in text(page)
    sent = browser.post(
        f"/actions/{action['id']}/status",
        data={
            "csrf_token": csrf(page),
            "expected_version": "1",
            "status": "in_progress",
            "effective_on": "2016-03-01",
            "reason": "",
        },
    )
    assert sent.status_code == 302 and sent.headers["Location"] == f"/actions/{action['id']}"
    after = text(browser.get(sent.headers["Location"]))
    assert "Status changed." in after
    assert "In progress since 1 March 2016 (recorded later) Overdue (due 31 March 2016)" in after
    assert "Mo Manager" in after  # the history names who did it
    dashboard = text(browser.get(f"/plans/{plan['id']}"))
    assert "PK 31 March 2016 In progress Overdue" in dashboard
    tracker = text(browser.get("/actions?owner=PK&status=in_progress"))
    assert "1 action on" in tracker and "Develop project plan" in tracker


def test_a_refused_form_shows_the_fields_message_and_writes_nothing(browser, service, plan):
    action = first_action(plan)
    page = browser.get(f"/actions/{action['id']}")
    before = events_in(service)
    refused = browser.post(
        f"/actions/{action['id']}/status",
        data={"csrf_token": csrf(page), "expected_version": "1", "status": "cancelled"},
    )
    assert refused.status_code == 200
    shown = text(refused)
    assert "There is a problem" in shown
    assert "A reason is required when cancelling an action" in shown
    assert 'href="#status-reason"' in refused.get_data(as_text=True)
    bad_date = browser.post(
        f"/actions/{action['id']}/reschedule",
        data={"csrf_token": csrf(page), "due_on": "2016-04-31", "reason": "later"},
    )
    assert "There is no 31 April 2016" in text(bad_date)
    stale = browser.post(
        f"/actions/{action['id']}/owners",
        data={"csrf_token": csrf(page), "expected_version": "7", "owners": "SK", "reason": "x"},
    )
    assert "Someone else changed this action since you opened this page" in text(stale)
    assert events_in(service) == before
    assert "Not started" in text(browser.get(f"/actions/{action['id']}"))


def test_a_quarterly_review_through_the_form_shows_its_rag_in_words(browser, plan):
    form = browser.get(f"/plans/{plan['id']}/reviews?recommendation=2")
    assert form.status_code == 200
    missing = browser.post(
        f"/plans/{plan['id']}/reviews",
        data={"csrf_token": csrf(form), "recommendation": "2", "quarter": "2016-Q2"},
    )
    assert "Choose the progress RAG rating" in text(missing)
    assert 'href="#progress"' in missing.get_data(as_text=True)
    sent = browser.post(
        f"/plans/{plan['id']}/reviews",
        data={
            "csrf_token": csrf(form),
            "expected_version": str(plan["version"]),
            "recommendation": "2",
            "quarter": "2016-Q2",
            "progress": "amber",
            "impact": "red",
            "commentary": "MASH not yet staffed",
            "effective_on": "2016-06-30",
        },
    )
    assert sent.status_code == 302, text(sent)
    dashboard = text(browser.get(sent.headers["Location"]))
    assert "Review of recommendation 2 recorded." in dashboard
    assert "Progress Amber (Q1 2016/17 review) Impact Red (Q1 2016/17 review)" in dashboard
    earlier = text(browser.get(f"/plans/{plan['id']}?as_of=2016-06-29"))
    assert "Amber" not in earlier


def test_the_tracker_filters_and_refuses_an_unknown_owner_beside_the_field(browser, plan):
    overdue = text(browser.get("/actions?overdue=true&as_of=2016-06-30"))
    assert "Showing the actions as they were on 30 June 2016." in overdue
    assert "Overdue" in overdue
    unknown = browser.get("/actions?owner=PQ")
    assert unknown.status_code == 200
    assert "No action or plan has ever had an owner or lead" in text(unknown)
    assert "did you mean PK" in text(unknown)
    assert 'href="#owner"' in unknown.get_data(as_text=True)
    paged = text(browser.get("/actions?page=2"))
    assert "61 actions on" in paged and "(showing 26 to 50)" in paged


def test_only_a_manager_may_use_the_forms(app, service, plan):
    client = app.test_client()
    person(service, "Ann Auditor", "auditor")
    sign_in(client, "Ann Auditor")
    action = first_action(plan)
    page = client.get(f"/actions/{action['id']}")
    assert page.status_code == 200 and "Change the status" not in text(page)
    token = csrf(page)
    for path in ("status", "reschedule", "owners"):
        assert (
            client.post(f"/actions/{action['id']}/{path}", data={"csrf_token": token}).status_code
            == 403
        )
    assert client.get(f"/plans/{plan['id']}/reviews").status_code == 403
    assert (
        client.post(f"/plans/{plan['id']}/reviews", data={"csrf_token": token}).status_code == 403
    )
    assert client.get(f"/plans/{plan['id']}").status_code == 200  # everyone reads the plan


def test_a_form_without_its_csrf_token_is_refused(browser, service, plan):
    action = first_action(plan)
    before = events_in(service)
    forged = browser.post(f"/actions/{action['id']}/status", data={"status": "completed"})
    assert forged.status_code == 400
    assert events_in(service) == before


def test_an_unknown_plan_or_action_is_a_404_page(browser):
    assert browser.get("/plans/00000000-0000-4000-8000-000000000000").status_code == 404
    assert browser.get("/actions/00000000-0000-4000-8000-000000000000").status_code == 404
