"""The committee reports' numbers, against answers worked out by hand from a small
history recorded on a simulated clock, on both stores.

The quarterly report is of Q1 2016/17 (April to June 2016) of the bundled 2016 plan.
Recommendation 1's actions (qa_service/data/plan_2016.json), all owned by PK but 1.7:
  1.1 due 31 Mar 2016   1.2 due 30 Jun 2016   1.3, 1.4, 1.5 due 30 Sep 2016
  1.6 due 31 Mar 2016   1.7 due 31 Mar 2016 (JSt)
PK also owns 2.3 and 2.6 (due 30 Sep 2016), 3.1 (due 30 May 2016) and 4.1 (due 28 Feb 2016).

The committee met on 20 July 2016 ("the paper's date"). Two entries came later: on 20
August, 1.2 was recorded as completed on 28 June; on 25 August, the Q1 2016/17 review
of recommendation 1 was replaced (progress green -> amber).
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from events.quarters import parse_quarter
from qa_service.application import Actor
from qa_service.errors import NotFound
from qa_service.plan_document import bundled_2016_plan
from qa_service.plan_import import import_plan
from qa_service.reports.quarterly import quarterly_report
from qa_service.reports.six_monthly import six_monthly_report
from qa_service.service import build_service

LONDON = ZoneInfo("Europe/London")
MANAGER = Actor("Stephen Kitchman", "manager")
AUDITOR = Actor("Ann Auditor", "auditor")
PAPER = datetime(2016, 7, 20, 18, 0, tzinfo=LONDON)
Q1 = parse_quarter("Q1 2016/17")


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2016, 2, 1, 9, 0, tzinfo=LONDON)

    def __call__(self) -> datetime:
        return self.now

    def at(self, y: int, m: int, d: int) -> None:
        self.now = datetime(y, m, d, 10, 0, tzinfo=LONDON)


def review(log, plan_id, quarter, progress, impact, effective, **more):
    log.record_review(
        MANAGER,
        plan_id,
        fields={
            "recommendation": 1,
            "quarter": quarter,
            "progress": progress,
            "impact": impact,
            "commentary": f"{quarter}: {progress}",
            "impact_data": "Re-referrals down from 24% to 19%",
            "effective_on": effective,
            **more,
        },
    )


@pytest.fixture
def plan_history(settings):
    clock = Clock()
    svc = build_service(settings, clock=clock)
    log = svc.commands
    plan_id = import_plan(log, MANAGER, bundled_2016_plan())
    rec1 = svc.queries.plan(plan_id, as_of=date(2016, 2, 1))["recommendations"][0]
    a = [None, *(action["id"] for action in rec1["actions"])]  # a[1] is action 1.1

    def status(action, value, effective, reason=None):
        log.change_action_status(
            MANAGER, action, status=value, effective_on=effective, reason=reason
        )

    clock.at(2016, 4, 5)
    status(a[2], "in_progress", date(2016, 4, 1))
    clock.at(2016, 4, 8)
    review(log, plan_id, "2016-Q1", "amber", "red", date(2016, 4, 8))
    clock.at(2016, 5, 20)
    status(a[1], "completed", date(2016, 5, 20))  # 50 days after its due date
    clock.at(2016, 6, 10)
    log.reschedule_action(
        MANAGER, a[3], due_on=date(2016, 12, 31), effective_on=date(2016, 6, 10),
        reason="Waiting for the IT provider",
    )  # fmt: skip
    clock.at(2016, 7, 12)
    review(
        log, plan_id, "Q1 2016/17", "green", "amber", date(2016, 7, 12),
        further_actions="Extend the audit to the MASH",
    )  # fmt: skip
    clock.at(2016, 8, 20)  # after the paper: 1.2 was done on 28 June
    status(a[2], "completed", date(2016, 6, 28))
    clock.at(2016, 8, 25)  # after the paper: the review is restated
    review(
        log, plan_id, "2016-Q2", "amber", "amber", date(2016, 8, 25),
        reason="Progress overstated: 1.2 was not signed off",
    )  # fmt: skip
    yield svc, plan_id
    svc.close()


def rec(report, number):
    return next(r for r in report.recommendations if r.number == number)


def test_the_plan_as_the_committee_saw_it_on_the_papers_date(plan_history):
    svc, plan_id = plan_history
    report = quarterly_report(svc.queries, plan_id, Q1, known_at=PAPER)
    assert report.label == "Q1 2016/17"
    assert report.as_of == date(2016, 6, 30)
    assert [len(area.recommendations) for area in report.areas] == [5, 1, 3]
    one = rec(report, 1)
    assert (one.review.progress, one.review.impact) == ("green", "amber")
    assert one.review.further_actions == "Extend the audit to the MASH"
    assert (one.progress.word, one.impact.word) == ("improved", "improved")
    assert [(c.quarter.key, c.progress, c.impact) for c in one.history] == [
        ("2016-Q1", "amber", "red"),
        ("2016-Q2", "green", "amber"),
    ]
    lines = {line.number: line for line in one.actions}
    assert (lines[1].status, lines[1].completion, lines[1].days_late) == ("completed", "late", 50)
    assert lines[2].status == "in_progress"  # its completion was recorded after the paper
    assert not lines[2].overdue  # due on the quarter's last day: not yet overdue
    assert (lines[3].original_due_on, lines[3].due_on) == (date(2016, 9, 30), date(2016, 12, 31))
    assert [(m.from_, m.to, m.reason) for m in lines[3].moves] == [
        (date(2016, 9, 30), date(2016, 12, 31), "Waiting for the IT provider")
    ]
    assert [n for n, line in lines.items() if line.overdue] == [6, 7]
    counts = one.counts
    assert (counts.actions, counts.completed, counts.overdue, counts.moved) == (7, 1, 2, 1)
    pk = next(lead for lead in report.leads if lead.initials == "PK")
    assert pk.name == "Paul King"
    # PK's 10 actions: 1.1 done late; overdue 1.6 (31 Mar), 3.1 (30 May), 4.1 (28 Feb).
    assert (pk.counts.actions, pk.counts.completed, pk.counts.completed_late) == (10, 1, 1)
    assert (pk.counts.overdue, pk.counts.open, pk.counts.moved) == (3, 9, 1)
    changes = [c.text for c in report.changes if c.recommendation == 1]
    assert changes == [
        "progress RAG improved: amber to green",
        "impact RAG improved: red to amber",
        "action 1.1 completed on 20 May 2016 (late)",
        "action 1.2 now in progress",
        "action 1.3 due date moved from 30 September 2016 to 31 December 2016: "
        "Waiting for the IT provider",
        "action 1.6 became overdue (due 31 March 2016)",
        "action 1.7 became overdue (due 31 March 2016)",
    ]
    assert report.chain is not None and len(report.chain["hash"]) == 64


def test_late_entries_change_the_report_as_known_now_and_not_as_the_committee_saw_it(
    plan_history,
):
    svc, plan_id = plan_history
    now = quarterly_report(svc.queries, plan_id, Q1)
    one = rec(now, 1)
    assert (one.review.progress, one.review.replaces) == ("amber", 1)
    assert one.progress.word == "no change"  # amber, as in the quarter before
    line = one.actions[1]
    assert (line.status, line.status_since, line.completion) == (
        "completed",
        date(2016, 6, 28),
        "on time",
    )
    assert one.counts.completed == 2
    then = quarterly_report(svc.queries, plan_id, Q1, known_at=PAPER)
    assert rec(then, 1).review.progress == "green"
    assert then.chain["position"] < now.chain["position"]
    totals = now.rag_totals()
    assert [t["quarter"].key for t in totals] == ["2016-Q1", "2016-Q2"]
    assert totals[1]["progress"] == {"red": 0, "amber": 1, "green": 0}  # only rec 1 reviewed


def test_a_quarter_before_the_plan_was_published_is_refused(plan_history):
    svc, plan_id = plan_history
    with pytest.raises(NotFound, match="published on 2016-02-01"):
        quarterly_report(svc.queries, plan_id, parse_quarter("Q3 2015/16"))


# The six-monthly report, October 2018 to March 2019, on a paper of 24 January 2019.
#   In the period: 4 audits: good, good, requires improvement, inadequate (moderated to
#   requires improvement: a disagreement); one good moderated as good (agreement).
#   A late entry recorded on 1 February: an outstanding audit of 15 November 2018.
#   Before it (April to September 2018): 2 audits, one good, one inadequate.
#   A learning week 3-7 December 2018: 2 of the audits; feedback 6 (knew why), 9 (did
#   not) and 7 (did not answer).
#   Audit actions raised in the period: one due 31 October, done 5 November (late); one
#   due 31 January 2019 (the inadequate audit's), still open at the period's end.

SIX_PAPER = datetime(2019, 1, 24, 18, 0, tzinfo=LONDON)


def audit(log, clock, recorded, audited, grade, *, area="child_protection", week=None, due=None):
    """An audit recorded on ``recorded``; one graded below good raises an action due on
    ``due`` (an inadequate one must)."""
    clock.at(recorded.year, recorded.month, recorded.day)
    fields = {
        "case_ref": f"CS-{audited:%m%d}-{grade[:2]}",
        "service_area": area,
        "audit_type": "core",
        "audited_on": audited,
        "judgements": {"assessment": grade},
        "overall_grade": grade,
        "strengths": ["Clear plan"],
        "improvements": ["Chronology out of date"],
        "learning_week_id": week,
    }
    actions = [{"description": "Update the plan", "owners": ["TM"], "due_on": due}] if due else []
    return log.record_audit(AUDITOR, fields, actions)


@pytest.fixture
def qa_history(settings):
    clock = Clock()
    clock.at(2018, 4, 1)
    svc = build_service(settings, clock=clock)
    log = svc.commands
    audit(log, clock, date(2018, 5, 10), date(2018, 5, 10), "good")
    audit(log, clock, date(2018, 8, 10), date(2018, 8, 10), "inadequate", due=date(2018, 9, 10))
    audit(log, clock, date(2018, 10, 10), date(2018, 10, 10), "good", area="assessment")
    audit(
        log, clock, date(2018, 10, 10), date(2018, 10, 10), "requires_improvement",
        area="assessment", due=date(2018, 10, 31),
    )  # fmt: skip
    clock.at(2018, 12, 3)
    week = log.open_learning_week(
        MANAGER, title="Listening and Learning week, December 2018",
        starts_on=date(2018, 12, 3), ends_on=date(2018, 12, 7),
    )  # fmt: skip
    day = date(2018, 12, 4)
    third = audit(log, clock, day, day, "good", week=week)
    fourth = audit(log, clock, day, day, "inadequate", week=week, due=date(2019, 1, 31))
    clock.at(2018, 12, 5)
    for score, knew in ((6, True), (9, False), (7, None)):
        log.record_feedback(
            AUDITOR, week, respondent="parent", satisfaction=score, knew_why_involved=knew,
            comment=None, effective_on=date(2018, 12, 5),
        )  # fmt: skip
    log.record_finding(
        AUDITOR, week, kind="strength", theme="knowing families",
        text="Social workers know their families well", effective_on=date(2018, 12, 5),
    )  # fmt: skip
    clock.at(2018, 12, 10)
    log.moderate_audit(
        MANAGER, fourth, grade="requires_improvement", rationale="Risk was managed",
        effective_on=date(2018, 12, 10),
    )  # fmt: skip
    log.moderate_audit(
        MANAGER, third, grade="good", rationale="Agreed", effective_on=date(2018, 12, 10)
    )
    october = next(
        a for a in svc.queries.actions(origin="audit")["items"] if a["due_on"] == date(2018, 10, 31)
    )
    clock.at(2018, 12, 11)  # done on 5 November, after its due date
    log.change_action_status(
        MANAGER, october["id"], status="completed", effective_on=date(2018, 11, 5), reason=None
    )
    # After the paper: an outstanding audit of 15 November.
    audit(log, clock, date(2019, 2, 1), date(2018, 11, 15), "outstanding")
    yield svc
    svc.close()


def test_the_six_monthly_report_as_the_committee_saw_it(qa_history):
    svc = qa_history
    report = six_monthly_report(
        svc.queries, date(2018, 10, 1), date(2019, 3, 31), known_at=SIX_PAPER
    )
    assert report.label == "October 2018 to March 2019"
    overall = report.distribution["overall"]
    assert overall["total"] == 4
    assert overall["counts"] == {
        "outstanding": 0, "good": 2, "requires_improvement": 2, "inadequate": 0,
    }  # fmt: skip
    assert overall["good_or_better"] == 0.5
    assert report.moderation == {"moderated": 2, "agreed": 1, "agreement_rate": 0.5}
    by_area = {g["key"]: g["total"] for g in report.distribution["service_area"]}
    assert by_area == {"assessment": 2, "child_protection": 2}
    before = report.trend[-2]
    assert (before.period.label, before.audits, before.good_or_better) == (
        "April 2018 to September 2018",
        2,
        0.5,
    )
    assert [p.period.label for p in report.trend[:2]] == [
        "April 2017 to September 2017",
        "October 2017 to March 2018",
    ]
    (week,) = report.weeks
    assert (week.audits, week.share_good_or_better) == (2, 0.5)
    # 3 responses, mean 22 / 3; one of the two who answered knew why (one did not answer).
    assert (week.feedback_count, week.mean_satisfaction, week.share_knew_why_involved) == (
        3,
        7.3,
        0.5,
    )
    assert [f.text for f in week.strengths] == ["Social workers know their families well"]
    # 31 Oct action done late; 31 Jan action (the inadequate December audit's) still open.
    assert report.actions == {
        "raised": 2, "completed": 1, "completed_on_time": 0, "completed_late": 1,
        "cancelled": 0, "open": 1, "overdue": 1,
    }  # fmt: skip


def test_a_late_audit_changes_the_six_monthly_report_as_known_now_only(qa_history):
    svc = qa_history
    now = six_monthly_report(svc.queries, date(2018, 10, 1), date(2019, 3, 31))
    assert now.distribution["overall"]["total"] == 5
    assert now.distribution["overall"]["counts"]["outstanding"] == 1
    assert now.distribution["overall"]["good_or_better"] == 0.6
    then = six_monthly_report(svc.queries, date(2018, 10, 1), date(2019, 3, 31), known_at=SIX_PAPER)
    assert then.distribution["overall"]["total"] == 4


def test_a_service_that_reports_by_calendar_year_writes_calendar_quarters(plan_history):
    svc, plan_id = plan_history
    report = quarterly_report(svc.queries, plan_id, parse_quarter("Q2 2016"), year_style="calendar")
    assert (report.label, report.quarter.key) == ("Q2 2016", "2016-Q2")
    assert [q.label("calendar") for q in report.quarters] == ["Q1 2016", "Q2 2016"]
