"""The quarterly monitoring report of an improvement plan, as its committee reads it.

One model, computed from the read models through one connection as of the quarter's
last day and as known at one moment; the page, the PDF, the spreadsheet and the CLI
are renderings of it. Its sections follow the plan's own "Monitoring and impact"
pages: per recommendation, d) action plan progress with its RAG, e) impact data and
commentary with its RAG, f) recommendations for further action; then the RAG history,
the actions with their original and current due dates, a summary by lead, and what
changed since the previous quarter.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any
from uuid import UUID

from events.quarters import Quarter, quarter_of, quarters_between
from events.rules import CLOSED_STATUSES
from projections import actions, plans, trail
from projections.temporal import from_micros, micros
from qa_service.errors import NotFound
from qa_service.queries import Queries
from qa_service.words import day

RAG_SCORE = {"red": 1, "amber": 2, "green": 3}


@dataclass(frozen=True)
class Review:
    quarter: Quarter
    progress: str
    impact: str
    commentary: str | None  # d) action plan progress
    impact_data: str | None  # e) impact: data and commentary
    further_actions: str | None  # f) recommendations for further action
    recorded_by: str
    recorded_at: datetime
    replaces: int  # how many earlier reviews of the same quarter it replaced


@dataclass(frozen=True)
class Move:
    effective_on: date
    from_: date | None
    to: date | None
    reason: str | None
    recorded_by: str


@dataclass(frozen=True)
class ActionLine:
    number: int  # its place among its recommendation's actions, as raised
    id: UUID
    description: str
    owners: list[str]
    status: str
    status_since: date
    raised_on: date
    original_due_on: date | None
    due_on: date | None
    moves: list[Move]
    overdue: bool  # at the quarter's end

    @property
    def completion(self) -> str | None:
        """ "on time" or "late" for a completed action (against its due date then), or
        None. An action completed with no due date set counts as on time."""
        if self.status != "completed":
            return None
        if self.due_on is None or self.status_since <= self.due_on:
            return "on time"
        return "late"

    @property
    def days_late(self) -> int | None:
        if self.completion != "late" or self.due_on is None:
            return None
        return (self.status_since - self.due_on).days


@dataclass(frozen=True)
class Direction:
    """How a RAG moved against the previous quarter's review."""

    now: str | None
    before: str | None

    @property
    def word(self) -> str:
        if self.now is None:
            return "not reviewed"
        if self.before is None:
            return "first review"
        change = RAG_SCORE[self.now] - RAG_SCORE[self.before]
        return "improved" if change > 0 else "worse" if change < 0 else "no change"


@dataclass(frozen=True)
class RagCell:
    quarter: Quarter
    progress: str | None
    impact: str | None


@dataclass(frozen=True)
class Counts:
    actions: int = 0
    completed: int = 0
    completed_on_time: int = 0
    completed_late: int = 0
    cancelled: int = 0
    open: int = 0
    overdue: int = 0
    moved: int = 0  # actions whose due date has moved at least once

    @classmethod
    def of(cls, lines: list[ActionLine]) -> Counts:
        return cls(
            actions=len(lines),
            completed=sum(a.status == "completed" for a in lines),
            completed_on_time=sum(a.completion == "on time" for a in lines),
            completed_late=sum(a.completion == "late" for a in lines),
            cancelled=sum(a.status == "cancelled" for a in lines),
            open=sum(a.status not in CLOSED_STATUSES for a in lines),
            overdue=sum(a.overdue for a in lines),
            moved=sum(bool(a.moves) for a in lines),
        )


@dataclass(frozen=True)
class Recommendation:
    number: int
    area: str
    text: str
    leads: list[str]
    linked_plans: list[str]
    partners: list[str]
    expected_outcomes: list[str]
    measures_of_success: list[str]
    review: Review | None  # this quarter's
    previous: Review | None  # the previous quarter's
    history: list[RagCell]  # every quarter from the plan's first to this one
    actions: list[ActionLine]

    @property
    def progress(self) -> Direction:
        return Direction(
            self.review.progress if self.review else None,
            self.previous.progress if self.previous else None,
        )

    @property
    def impact(self) -> Direction:
        return Direction(
            self.review.impact if self.review else None,
            self.previous.impact if self.previous else None,
        )

    @property
    def counts(self) -> Counts:
        return Counts.of(self.actions)


@dataclass(frozen=True)
class Area:
    name: str
    recommendations: list[Recommendation]


@dataclass(frozen=True)
class LeadLine:
    initials: str
    name: str
    job_title: str | None
    counts: Counts


@dataclass(frozen=True)
class Change:
    recommendation: int
    kind: str  # raised, completed, cancelled, reopened, moved, overdue, rag
    text: str


@dataclass(frozen=True)
class QuarterlyReport:
    plan_id: UUID
    title: str
    source: str
    published_on: date
    quarter: Quarter
    year_style: str
    known_at: datetime  # what the log held at this moment
    known_at_given: bool  # False: "now", when the report was made
    chain: dict[str, Any] | None  # the last link of the hash chain known then
    areas: list[Area]
    leads: list[LeadLine]
    changes: list[Change]
    quarters: list[Quarter]  # the columns of the RAG history
    made_at: datetime = field(compare=False)

    @property
    def label(self) -> str:
        return self.quarter.label(self.year_style)

    @property
    def as_of(self) -> date:
        return self.quarter.last

    @property
    def recommendations(self) -> list[Recommendation]:
        return [rec for area in self.areas for rec in area.recommendations]

    @property
    def counts(self) -> Counts:
        return Counts.of([a for rec in self.recommendations for a in rec.actions])

    def rag_totals(self) -> list[dict[str, Any]]:
        """For each quarter of the history, how many recommendations were rated green,
        amber and red for progress and for impact (the report's chart)."""
        out = []
        for i, quarter in enumerate(self.quarters):
            cells = [rec.history[i] for rec in self.recommendations]
            out.append(
                {
                    "quarter": quarter,
                    "progress": {rag: sum(c.progress == rag for c in cells) for rag in RAG_SCORE},
                    "impact": {rag: sum(c.impact == rag for c in cells) for rag in RAG_SCORE},
                }
            )
        return out


def quarterly_report(
    queries: Queries,
    plan_id: UUID,
    quarter: Quarter,
    *,
    known_at: datetime | None = None,
    year_style: str = "financial",
) -> QuarterlyReport:
    """The report of ``quarter``, as of its last day, as known at ``known_at`` (default:
    now, pinned, so that every part of it comes from the same knowledge)."""
    made_at = datetime.now(queries.zone)
    moment = made_at if known_at is None else known_at
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=queries.zone)
    known_us = micros(moment)
    as_of = quarter.last
    previous_end = quarter.previous().last
    with queries.reading("plans", "actions", "audits", "trail") as conn:
        tree = plans.plan_tree(conn, plan_id, as_of, known_us)
        if tree is None:
            published = plans.published_on(conn, plan_id, known_us)
            error = NotFound("plan", plan_id)
            if published is not None:
                error.args = (
                    f"the plan was published on {published.isoformat()}, after "
                    f"{quarter.label(year_style)} ended ({as_of.isoformat()})",
                )
            raise error
        reviews = plans.review_history(conn, plan_id, known_us)
        ids = [a["id"] for rec in tree["recommendations"] for a in rec["actions"]]
        moves = actions.due_date_history(conn, ids, as_of, known_us)
        before, _ = actions.actions_where(conn, previous_end, known_us, plan_id=plan_id)
        chain = trail.chain_head(conn, known_us)

    first = quarter_of(tree["published_on"])
    quarters = quarters_between(min(first, quarter), quarter)
    latest: dict[tuple[int, str], Review] = {}
    replaced: dict[tuple[int, str], int] = defaultdict(int)
    for row in reviews:  # by recommendation and quarter, in the order recorded
        key = (row["recommendation"], row["quarter"])
        if key in latest:
            replaced[key] += 1
        latest[key] = Review(
            quarter=Quarter.from_key(row["quarter"]),
            progress=row["progress"],
            impact=row["impact"],
            commentary=row["commentary"],
            impact_data=row["impact_data"],
            further_actions=row["further_actions"],
            recorded_by=row["recorded_by"],
            recorded_at=from_micros(row["recorded_us"]).astimezone(queries.zone),
            replaces=replaced[key],
        )

    lead_names = {lead["initials"]: lead for lead in tree["leads"]}
    by_area: dict[str, list[Recommendation]] = {}
    for rec in tree["recommendations"]:
        lines = [
            ActionLine(
                number=i,
                id=a["id"],
                description=a["description"],
                owners=list(a["owners"]),
                status=a["status"],
                status_since=a["status_since"],
                raised_on=a["raised_on"],
                original_due_on=a["original_due_on"],
                due_on=a["due_on"],
                moves=[
                    Move(m["effective_on"], m["from"], m["to"], m["reason"], m["recorded_by"])
                    for m in moves.get(a["id"], [])
                ],
                overdue=a["overdue"],
            )
            for i, a in enumerate(rec["actions"], 1)
        ]
        number = rec["number"]
        by_area.setdefault(rec["area"], []).append(
            Recommendation(
                number=number,
                area=rec["area"],
                text=rec["text"],
                leads=list(rec["leads"]),
                linked_plans=list(rec["linked_plans"]),
                partners=list(rec["partners"]),
                expected_outcomes=list(rec["expected_outcomes"]),
                measures_of_success=list(rec["measures_of_success"]),
                review=latest.get((number, quarter.key)),
                previous=latest.get((number, quarter.previous().key)),
                history=[
                    RagCell(
                        q,
                        *(
                            (r.progress, r.impact)
                            if (r := latest.get((number, q.key)))
                            else (None, None)
                        ),
                    )
                    for q in quarters
                ],
                actions=lines,
            )
        )
    areas = [Area(name, recs) for name, recs in by_area.items()]
    all_lines = [line for area in areas for rec in area.recommendations for line in rec.actions]

    owned: dict[str, list[ActionLine]] = defaultdict(list)
    for line in all_lines:
        for owner in line.owners:
            owned[owner].append(line)
    leads = [
        LeadLine(
            initials=initials,
            name=lead_names[initials]["name"] if initials in lead_names else initials,
            job_title=lead_names[initials]["job_title"] if initials in lead_names else None,
            counts=Counts.of(owned[initials]),
        )
        for initials in sorted(set(lead_names) | set(owned))
    ]

    report = QuarterlyReport(
        plan_id=plan_id,
        title=tree["title"],
        source=tree["source"],
        published_on=tree["published_on"],
        quarter=quarter,
        year_style=year_style,
        known_at=moment,
        known_at_given=known_at is not None,
        chain=chain,
        areas=areas,
        leads=leads,
        changes=[],
        quarters=quarters,
        made_at=made_at,
    )
    return _with_changes(report, {a["id"]: a for a in before})


def _with_changes(report: QuarterlyReport, before: dict[UUID, dict[str, Any]]) -> QuarterlyReport:
    """What changed in the quarter: against the plan as it stood at the previous quarter's
    end, as known at the same moment."""
    first, last = report.quarter.first, report.quarter.last
    changes: list[Change] = []
    for rec in report.recommendations:
        n = rec.number
        for direction, what in ((rec.progress, "progress"), (rec.impact, "impact")):
            if direction.word in ("improved", "worse"):
                changes.append(
                    Change(
                        n,
                        "rag",
                        f"{what} RAG {direction.word}: {direction.before} to {direction.now}",
                    )  # fmt: skip
                )
        for line in rec.actions:
            then = before.get(line.id)
            name = f"action {n}.{line.number}"
            if then is None:
                changes.append(Change(n, "raised", f"{name} raised on {_day(line.raised_on)}"))
            elif then["status"] != line.status:
                if line.status == "completed":
                    kind = "completed"
                    text = f"{name} completed on {_day(line.status_since)} ({line.completion})"
                elif line.status == "cancelled":
                    kind, text = "cancelled", f"{name} cancelled on {_day(line.status_since)}"
                elif then["status"] in CLOSED_STATUSES:
                    kind, text = "reopened", f"{name} reopened: now {line.status.replace('_', ' ')}"
                else:
                    kind, text = "status", f"{name} now {line.status.replace('_', ' ')}"
                changes.append(Change(n, kind, text))
            for move in line.moves:
                if first <= move.effective_on <= last:
                    changes.append(
                        Change(
                            n,
                            "moved",
                            f"{name} due date moved from {_day(move.from_)} to "
                            f"{_day(move.to)}: {move.reason or 'no reason given'}",
                        )  # fmt: skip
                    )
            if line.overdue and (then is None or not then["overdue"]):
                text = f"{name} became overdue (due {_day(line.due_on)})"
                changes.append(Change(n, "overdue", text))
    return replace(report, changes=changes)


def _day(value: date | None) -> str:
    return day(value) or "to be confirmed"
