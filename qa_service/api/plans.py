"""Improvement plans: create, key leads, recommendations, reviews, read the tree."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flask import Response, url_for
from flask.views import MethodView

from qa_service import exports
from qa_service.api.http import (
    Blueprint,
    actor,
    answer,
    commands,
    expected_version,
    queries,
    roles,
    versioned,
)
from qa_service.api.openapi import downloads
from qa_service.plan_import import import_plan
from qa_service.schemas.common import ListArgs
from qa_service.schemas.plans import (
    LeadIn,
    PlanArgs,
    PlanDocument,
    PlanIn,
    PlanListOut,
    PlanOut,
    RecommendationIn,
    ReviewHistoryArgs,
    ReviewHistoryItemOut,
    ReviewIn,
)
from qa_service.schemas.trail import HistoryArgs, HistoryOut

blp = Blueprint("plans", __name__, url_prefix="/api/plans", description="Improvement plans")


@blp.route("")
class Plans(MethodView):
    @roles("auditor", "manager", "inspector", "admin")
    @blp.arguments(ListArgs, location="query")
    @blp.response(200, PlanListOut)
    def get(self, args: dict[str, Any]) -> Any:
        """Every plan published by as_of (as known at known_at), newest first, with its
        counts of recommendations, actions and overdue actions"""
        return queries().plans(**args)

    @roles("manager")
    @blp.arguments(PlanIn)
    @blp.response(201, PlanOut)
    def post(self, body: dict[str, Any]) -> Any:
        """Create an improvement plan"""
        plan_id = commands().create_plan(actor(), **body)
        return answer(queries().plan, plan_id, location=url_for("plans.Plan", plan_id=plan_id))


@blp.route("/import")
class Import(MethodView):
    @roles("manager")
    @blp.arguments(PlanDocument)
    @blp.response(201, PlanOut)
    def post(self, body: dict[str, Any]) -> Any:
        """Import a whole plan (leads, recommendations, actions) in one document, all or
        nothing; each error names its path, e.g. recommendations[3].actions[1].due_on"""
        plan_id = import_plan(commands(), actor(), body)
        return answer(queries().plan, plan_id, location=url_for("plans.Plan", plan_id=plan_id))


@blp.route("/<uuid:plan_id>")
class Plan(MethodView):
    @roles("auditor", "manager", "inspector", "admin")
    @blp.arguments(PlanArgs, location="query")
    @blp.response(200, PlanOut)
    @downloads(blp, "The plan's status", "plan-status")
    def get(self, args: dict[str, Any], plan_id: UUID) -> Any:
        """The plan's status tree as of a date: recommendations, actions, owners, due dates,
        overdue flags and the latest RAG reviews; as a spreadsheet (XLSX or CSV, a row per
        action with its recommendation's latest RAG) with format"""
        fmt = args.pop("format")
        if fmt == "json":
            return versioned(queries().plan(plan_id, **args))
        plan = queries().plan(plan_id, **args, with_moves=True)
        sheets, stem = exports.plan_status(plan, args.get("known_at"), queries().zone)
        file = exports.download(sheets, fmt, stem)
        return Response(file.body, mimetype=file.mimetype, headers=file.headers)


@blp.route("/<uuid:plan_id>/leads")
class Leads(MethodView):
    @roles("manager")
    @blp.arguments(LeadIn)
    @blp.response(200, PlanOut)
    def post(self, body: dict[str, Any], plan_id: UUID) -> Any:
        """Add a key lead"""
        commands().add_lead(actor(), plan_id, expected_version=expected_version(), **body)
        return answer(queries().plan, plan_id)


@blp.route("/<uuid:plan_id>/recommendations")
class Recommendations(MethodView):
    @roles("manager")
    @blp.arguments(RecommendationIn)
    @blp.response(200, PlanOut)
    def post(self, body: dict[str, Any], plan_id: UUID) -> Any:
        """Add a recommendation, with any of its actions"""
        actions = body.pop("actions")
        effective_on = body.pop("effective_on")
        commands().add_recommendation(
            actor(),
            plan_id,
            fields=body,
            actions=actions,
            effective_on=effective_on,
            expected_version=expected_version(),
        )
        return answer(queries().plan, plan_id)


@blp.route("/<uuid:plan_id>/reviews")
class Reviews(MethodView):
    @roles("auditor", "manager", "inspector", "admin")
    @blp.arguments(ReviewHistoryArgs, location="query")
    @blp.response(200, ReviewHistoryItemOut(many=True))
    def get(self, args: dict[str, Any], plan_id: UUID) -> Any:
        """Every quarterly review of the plan's recommendations (or of one), as known at a
        time: each quarter's progress and impact RAG and commentary, by recommendation and
        quarter; a review that a later one of the same quarter replaced is there too,
        marked replaced"""
        return queries().review_history(plan_id, **args)

    @roles("manager")
    @blp.arguments(ReviewIn)
    @blp.response(200, PlanOut)
    def post(self, body: dict[str, Any], plan_id: UUID) -> Any:
        """Record a quarterly progress and impact RAG review of a recommendation"""
        commands().record_review(actor(), plan_id, fields=body, expected_version=expected_version())
        return answer(queries().plan, plan_id)


@blp.route("/<uuid:plan_id>/history")
class History(MethodView):
    @roles("inspector", "manager", "admin")
    @blp.arguments(HistoryArgs, location="query")
    @blp.response(200, HistoryOut)
    def get(self, args: dict[str, Any], plan_id: UUID) -> Any:
        """Every change to this plan (as in the trail), with the state just after each"""
        return queries().history("plan", plan_id, **args)
