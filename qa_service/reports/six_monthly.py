"""The six-monthly quality assurance report: what the audits, the Listening and Learning
weeks and the families said over a period, against the periods before it.

One model, computed from the read models through one connection as of the period's
last day and as known at one moment; the page, the PDF, the spreadsheet and the CLI
are renderings of it. Grades are the moderated ones where an audit was moderated.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

from projections import actions, audits, learning_weeks, trail
from projections.temporal import micros
from qa_service.queries import BadQuery, Queries
from qa_service.words import day

PREVIOUS_PERIODS = 3  # the trend shows this many periods before the report's own
MAX_DAYS = 366 * 2


@dataclass(frozen=True)
class Period:
    first: date
    last: date

    @property
    def whole_months(self) -> bool:
        return self.first.day == 1 and (self.last + timedelta(days=1)).day == 1

    @property
    def months(self) -> int:
        return (self.last.year - self.first.year) * 12 + self.last.month - self.first.month + 1

    @property
    def label(self) -> str:
        """ "October 2018 to March 2019", or exact days when the period is not whole months."""
        if self.whole_months:
            return f"{self.first:%B %Y} to {self.last:%B %Y}"
        return f"{day(self.first)} to {day(self.last)}"

    def before(self) -> Period:
        """The period of the same length just before this one (whole months if it is)."""
        if self.whole_months:
            last = self.first - timedelta(days=1)
            month = last.month - self.months + 1
            year = last.year + (month - 1) // 12
            return Period(date(year, (month - 1) % 12 + 1, 1), last)
        length = self.last - self.first
        return Period(self.first - length - timedelta(days=1), self.first - timedelta(days=1))


@dataclass(frozen=True)
class PeriodFigures:
    period: Period
    audits: int
    good_or_better: float | None  # share
    inadequate: float | None  # share
    counts: dict[str, int]


@dataclass(frozen=True)
class Finding:
    theme: str | None
    text: str


@dataclass(frozen=True)
class Week:
    id: UUID
    title: str
    starts_on: date
    ends_on: date | None
    closed_on: date | None
    audits: int
    grades: dict[str, int]
    share_good_or_better: float | None
    feedback_count: int
    mean_satisfaction: float | None
    knew_why_answered: int  # how many answered whether they knew why (not all do)
    share_knew_why_involved: float | None  # of those who answered
    strengths: list[Finding]
    improvements: list[Finding]
    comparison: dict[str, Any] | None  # against the week before it


@dataclass(frozen=True)
class SixMonthlyReport:
    period: Period
    known_at: datetime
    known_at_given: bool
    chain: dict[str, Any] | None
    distribution: dict[str, Any]  # overall, month, quarter, service_area, audit_type, moderation
    trend: list[PeriodFigures]  # the earlier periods, oldest first, then this one
    weeks: list[Week]
    actions: dict[str, int]  # audit actions raised in the period, as they stood at its end
    made_at: datetime = field(compare=False)

    @property
    def as_of(self) -> date:
        return self.period.last

    @property
    def label(self) -> str:
        return self.period.label

    @property
    def moderation(self) -> dict[str, Any]:
        return self.distribution["moderation"]  # type: ignore[no-any-return]


def month_or_day(value: str, *, last: bool) -> date:
    """``2018-10`` (as a month input gives it) is that month's first day, or, to end a
    period, its last; ``2018-10-15`` is that day. ValueError for anything else."""
    value = value.strip()
    if len(value) == 7:
        first = date.fromisoformat(value + "-01")
        if not last:
            return first
        following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
        return following - timedelta(days=1)
    if len(value) != 10:
        raise ValueError(f"{value!r} is neither a month (YYYY-MM) nor a day (YYYY-MM-DD)")
    return date.fromisoformat(value)


def check_period(period_from: date, period_to: date) -> Period:
    if period_to < period_from:
        raise BadQuery({"to": ["must not be before the start of the period"]})
    if (period_to - period_from).days > MAX_DAYS:
        raise BadQuery({"to": ["a report covers at most two years"]})
    return Period(period_from, period_to)


def six_monthly_report(
    queries: Queries,
    period_from: date,
    period_to: date,
    *,
    known_at: datetime | None = None,
) -> SixMonthlyReport:
    """The report of the period, as of its last day, as known at ``known_at`` (default:
    now, pinned, so that every part of it comes from the same knowledge)."""
    period = check_period(period_from, period_to)
    made_at = datetime.now(queries.zone)
    moment = made_at if known_at is None else known_at
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=queries.zone)
    known_us = micros(moment)
    as_of = period.last
    periods = [period]
    for _ in range(PREVIOUS_PERIODS):
        periods.insert(0, periods[0].before())
    with queries.reading("audits", "actions", "learning_weeks", "trail") as conn:
        distribution = audits.distribution(
            conn,
            audits.audit_filters(as_of, known_us, audited_from=period.first, audited_to=as_of),
        )
        trend = []
        for each in periods:
            figures = (
                distribution
                if each is period
                else audits.distribution(
                    conn,
                    audits.audit_filters(
                        as_of, known_us, audited_from=each.first, audited_to=each.last
                    ),
                )
            )["overall"]
            trend.append(
                PeriodFigures(
                    period=each,
                    audits=figures["total"],
                    good_or_better=figures["good_or_better"],
                    inadequate=figures["shares"]["inadequate"],
                    counts=figures["counts"],
                )
            )
        started, _ = learning_weeks.week_summaries(conn, as_of, known_us, limit=1000, offset=0)
        weeks = []
        for summary in reversed(started):  # oldest first
            if summary["starts_on"] < period.first:
                continue
            week = learning_weeks.week_summary(conn, summary["id"], as_of, known_us)
            if week is not None:
                weeks.append(_week(week))
        raised = actions.audit_action_figures(conn, period.first, period.last, as_of, known_us)
        chain = trail.chain_head(conn, known_us)
    return SixMonthlyReport(
        period=period,
        known_at=moment,
        known_at_given=known_at is not None,
        chain=chain,
        distribution=distribution,
        trend=trend,
        weeks=weeks,
        actions=raised,
        made_at=made_at,
    )


def _week(week: dict[str, Any]) -> Week:
    return Week(
        id=week["id"],
        title=week["title"],
        starts_on=week["starts_on"],
        ends_on=week["ends_on"],
        closed_on=week["closed_on"],
        audits=week["audits"],
        grades=dict(week["grades"]),
        share_good_or_better=week["share_good_or_better"],
        feedback_count=week["feedback_count"],
        mean_satisfaction=week["mean_satisfaction"],
        knew_why_answered=week["knew_why_answered"],
        share_knew_why_involved=week["share_knew_why_involved"],
        strengths=[Finding(f["theme"], f["text"]) for f in week["findings"]["strength"]],
        improvements=[Finding(f["theme"], f["text"]) for f in week["findings"]["improvement"]],
        comparison=week["comparison"],
    )
