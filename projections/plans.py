"""Improvement plans: their leads, recommendations and quarterly reviews, as of any date.

Everything in a plan is added, never changed, so each row carries the date it took
effect and the time it was recorded; an as-of read is two range predicates. The plan
tree's actions come from the action register (``projections.actions``).
"""

from __future__ import annotations

from datetime import date
from functools import singledispatchmethod
from typing import Any
from uuid import UUID

from sqlalchemy import (
    JSON,
    Column,
    Connection,
    Integer,
    MetaData,
    String,
    case,
    func,
    select,
)

from events import ImprovementPlan
from projections.actions import action_versions, actions_where, overdue_clause
from projections.base import FactsProjection, as_known, changes_of, facts_of, versions_known
from projections.temporal import as_of_clause

metadata = MetaData()


plans = facts_of(
    metadata,
    "plans",
    "plan_id",
    Column("version", Integer, nullable=False),
    Column("title", String, nullable=False),
    Column("source", String, nullable=False),
)
plan_changes = changes_of(metadata, "plan_changes", "plan_id")
plan_leads = facts_of(
    metadata,
    "plan_leads",
    "plan_id",
    Column("initials", String(10), nullable=False),
    Column("name", String, nullable=False),
    Column("job_title", String),
)
plan_recommendations = facts_of(
    metadata,
    "plan_recommendations",
    "plan_id",
    Column("number", Integer, nullable=False),
    Column("area", String, nullable=False),
    Column("text", String, nullable=False),
    Column("leads", JSON, nullable=False),
    Column("linked_plans", JSON, nullable=False),
    Column("partners", JSON, nullable=False),
    Column("expected_outcomes", JSON, nullable=False),
    Column("measures_of_success", JSON, nullable=False),
)
plan_reviews = facts_of(
    metadata,
    "plan_reviews",
    "plan_id",
    Column("recommendation", Integer, nullable=False),
    Column("quarter", String(7), nullable=False),
    Column("progress", String(5), nullable=False),
    Column("impact", String(5), nullable=False),
    Column("impact_data", String),
    Column("commentary", String),
    Column("further_actions", String),
    Column("reason", String),
)


class PlansProjection(FactsProjection):
    name = "plans"
    metadata = metadata
    key = "plan_id"
    changes = plan_changes

    @singledispatchmethod
    def handle(self, event: Any, conn: Connection, position: int) -> None:
        """Events this read model does not need are skipped (and still tracked)."""

    @handle.register
    def _(self, event: ImprovementPlan.Created, conn: Connection, position: int) -> None:
        self.add_fact(
            plans, event, position, effective_on=event.published_on,
            version=event.originator_version, title=event.title, source=event.source,
        )  # fmt: skip

    @handle.register
    def _(self, event: ImprovementPlan.LeadAdded, conn: Connection, position: int) -> None:
        self.add_fact(
            plan_leads, event, position, effective_on=event.effective_on,
            initials=event.initials, name=event.name, job_title=event.job_title,
        )  # fmt: skip

    @handle.register
    def _(
        self, event: ImprovementPlan.RecommendationAdded, conn: Connection, position: int
    ) -> None:
        self.add_fact(
            plan_recommendations, event, position, effective_on=event.effective_on,
            number=event.number, area=event.area, text=event.text, leads=event.leads,
            linked_plans=event.linked_plans, partners=event.partners,
            expected_outcomes=event.expected_outcomes,
            measures_of_success=event.measures_of_success,
        )  # fmt: skip

    @handle.register
    def _(self, event: ImprovementPlan.ReviewRecorded, conn: Connection, position: int) -> None:
        self.add_fact(
            plan_reviews, event, position, effective_on=event.effective_on,
            recommendation=event.recommendation, quarter=event.quarter,
            progress=event.progress, impact=event.impact, impact_data=event.impact_data,
            commentary=event.commentary, further_actions=event.further_actions,
            reason=event.reason,
        )  # fmt: skip

    @handle.register
    def _(self, event: ImprovementPlan.ActionAttached, conn: Connection, position: int) -> None:
        self.changed(event, position)


# Queries.


def plan_tree(
    conn: Connection, plan_id: UUID, as_of: date, known_at_us: int
) -> dict[str, Any] | None:
    """The plan as it stood at the end of ``as_of``, using what was recorded by
    ``known_at``: None if it was not published yet, or not yet recorded."""
    plan = conn.execute(
        select(plans).where(plans.c.plan_id == plan_id, *as_known(plans, as_of, known_at_us))
    ).first()
    if plan is None:
        return None
    version = conn.execute(
        select(func.max(plan_changes.c.version)).where(
            plan_changes.c.plan_id == plan_id, plan_changes.c.recorded_us <= known_at_us
        )
    ).scalar()
    leads = conn.execute(
        select(plan_leads.c.initials, plan_leads.c.name, plan_leads.c.job_title)
        .where(plan_leads.c.plan_id == plan_id, *as_known(plan_leads, as_of, known_at_us))
        .order_by(plan_leads.c.initials)
    ).all()
    recommendations = conn.execute(
        select(plan_recommendations)
        .where(
            plan_recommendations.c.plan_id == plan_id,
            *as_known(plan_recommendations, as_of, known_at_us),
        )
        .order_by(plan_recommendations.c.number)
    ).mappings()
    latest: dict[int, dict[str, Any]] = {}
    reviews = conn.execute(
        select(plan_reviews)
        .where(plan_reviews.c.plan_id == plan_id, *as_known(plan_reviews, as_of, known_at_us))
        .order_by(plan_reviews.c.quarter, plan_reviews.c.position)
    ).mappings()
    for review in reviews:
        latest[review["recommendation"]] = {
            **review,
            "recorded_by": review["actor"],
        }
    actions, _ = actions_where(conn, as_of, known_at_us, plan_id=plan_id)
    by_recommendation: dict[int, list[dict[str, Any]]] = {}
    for action in actions:
        by_recommendation.setdefault(action["recommendation"], []).append(action)
    tree = []
    for rec in recommendations:
        tree.append(
            {
                **{k: rec[k] for k in _RECOMMENDATION_FIELDS},
                "late": rec["late"],
                "actions": by_recommendation.get(rec["number"], []),
                "latest_review": latest.get(rec["number"]),
            }
        )
    return {
        "id": plan.plan_id,
        "version": version,
        "title": plan.title,
        "source": plan.source,
        "published_on": plan.effective_on,
        "as_of": as_of,
        "leads": [dict(lead._mapping) for lead in leads],
        "recommendations": tree,
        "counts": {
            "actions": len(actions),
            "completed": sum(a["status"] == "completed" for a in actions),
            "overdue": sum(a["overdue"] for a in actions),
        },
    }


_RECOMMENDATION_FIELDS = (
    "number", "area", "text", "leads", "linked_plans", "partners", "expected_outcomes",
    "measures_of_success", "effective_on",
)  # fmt: skip


def plan_summaries(
    conn: Connection, as_of: date, known_at_us: int, *, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """The plans published by ``as_of`` and recorded by ``known_at``, newest first, each
    with its counts as of that day; and how many there are in all. The counts come from a
    few grouped queries over the page's plans, not a plan tree each."""
    where = as_known(plans, as_of, known_at_us)
    total = conn.execute(select(func.count()).select_from(plans).where(*where)).scalar()
    page = conn.execute(
        select(plans.c.plan_id, plans.c.title, plans.c.source, plans.c.effective_on)
        .where(*where)
        .order_by(plans.c.effective_on.desc(), plans.c.position.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    ids = [row.plan_id for row in page]
    version_of = versions_known(conn, plan_changes, "plan_id", ids, known_at_us)
    recommendations: dict[UUID, int] = dict(
        conn.execute(
            select(plan_recommendations.c.plan_id, func.count())
            .where(
                plan_recommendations.c.plan_id.in_(ids),
                *as_known(plan_recommendations, as_of, known_at_us),
            )
            .group_by(plan_recommendations.c.plan_id)
        ).all()
    )
    v = action_versions.c
    counts = {
        plan_id: {"actions": n, "completed": int(completed or 0), "overdue": int(overdue or 0)}
        for plan_id, n, completed, overdue in conn.execute(
            select(
                v.plan_id,
                func.count(),
                func.sum(case((v.status == "completed", 1), else_=0)),
                func.sum(case((overdue_clause(as_of), 1), else_=0)),
            )
            .where(v.plan_id.in_(ids), as_of_clause(action_versions, as_of, known_at_us))
            .group_by(v.plan_id)
        )
    }
    items = [
        {
            "id": row.plan_id,
            "version": version_of.get(row.plan_id),
            "title": row.title,
            "source": row.source,
            "published_on": row.effective_on,
            "recommendations": recommendations.get(row.plan_id, 0),
            "counts": counts.get(row.plan_id, {"actions": 0, "completed": 0, "overdue": 0}),
        }
        for row in page
    ]
    return items, int(total or 0)


def published_on(conn: Connection, plan_id: UUID, known_at_us: int) -> date | None:
    return conn.execute(
        select(plans.c.effective_on).where(
            plans.c.plan_id == plan_id, plans.c.recorded_us <= known_at_us
        )
    ).scalar()


def plan_ids(conn: Connection, as_of: date) -> list[UUID]:
    """Every plan published by ``as_of``, oldest first."""
    return list(
        conn.execute(
            select(plans.c.plan_id)
            .where(plans.c.effective_on <= as_of)
            .order_by(plans.c.effective_on, plans.c.position)
        ).scalars()
    )


def review_history(
    conn: Connection, plan_id: UUID, known_at_us: int, *, recommendation: int | None = None
) -> list[dict[str, Any]]:
    """Every quarterly review of the plan's recommendations (or of one) recorded by
    ``known_at``, by recommendation and quarter, each quarter's reviews in the order
    they were recorded; a review replaced by a later one of the same quarter says so."""
    r = plan_reviews.c
    where = [r.plan_id == plan_id, r.recorded_us <= known_at_us]
    if recommendation is not None:
        where.append(r.recommendation == recommendation)
    rows = conn.execute(
        select(plan_reviews).where(*where).order_by(r.recommendation, r.quarter, r.position)
    ).mappings()
    out = [
        {
            "recommendation": row["recommendation"],
            "quarter": row["quarter"],
            "progress": row["progress"],
            "impact": row["impact"],
            "impact_data": row["impact_data"],
            "commentary": row["commentary"],
            "further_actions": row["further_actions"],
            "reason": row["reason"],
            "effective_on": row["effective_on"],
            "recorded_us": row["recorded_us"],
            "recorded_by": row["actor"],
            "replaced": False,
        }
        for row in rows
    ]
    for earlier, later in zip(out, out[1:], strict=False):
        if (earlier["recommendation"], earlier["quarter"]) == (
            later["recommendation"],
            later["quarter"],
        ):
            earlier["replaced"] = True
    return out
