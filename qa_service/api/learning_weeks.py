"""Listening and Learning weeks: open, feedback, findings, close, read."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flask import url_for
from flask.views import MethodView

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
from qa_service.schemas.common import AsOfArgs, ListArgs
from qa_service.schemas.learning_weeks import (
    ClosureIn,
    FeedbackIn,
    FindingIn,
    LearningWeekIn,
    LearningWeekOut,
    WeekListOut,
)

blp = Blueprint(
    "learning_weeks",
    __name__,
    url_prefix="/api/learning-weeks",
    description="Listening and Learning weeks",
)


@blp.route("")
class LearningWeeks(MethodView):
    @roles("auditor", "manager", "inspector", "admin")
    @blp.arguments(ListArgs, location="query")
    @blp.response(200, WeekListOut)
    def get(self, args: dict[str, Any]) -> Any:
        """Every learning week started by as_of (as known at known_at), latest first, with
        its counts of audits and family feedback"""
        return queries().learning_weeks(**args)

    @roles("manager")
    @blp.arguments(LearningWeekIn)
    @blp.response(201, LearningWeekOut)
    def post(self, body: dict[str, Any]) -> Any:
        """Open a learning week"""
        week_id = commands().open_learning_week(actor(), **body)
        return answer(
            queries().learning_week,
            week_id,
            location=url_for("learning_weeks.LearningWeek", week_id=week_id),
        )


@blp.route("/<uuid:week_id>")
class LearningWeek(MethodView):
    @roles("auditor", "manager", "inspector", "admin")
    @blp.arguments(AsOfArgs, location="query")
    @blp.response(200, LearningWeekOut)
    def get(self, args: dict[str, Any], week_id: UUID) -> Any:
        """A learning week's summary as of a date, compared with the previous week"""
        return versioned(queries().learning_week(week_id, **args))


@blp.route("/<uuid:week_id>/feedback")
class Feedback(MethodView):
    @roles("auditor")
    @blp.arguments(FeedbackIn)
    @blp.response(200, LearningWeekOut)
    def post(self, body: dict[str, Any], week_id: UUID) -> Any:
        """Record one family's feedback"""
        commands().record_feedback(actor(), week_id, expected_version=expected_version(), **body)
        return answer(queries().learning_week, week_id)


@blp.route("/<uuid:week_id>/findings")
class Findings(MethodView):
    @roles("auditor")
    @blp.arguments(FindingIn)
    @blp.response(200, LearningWeekOut)
    def post(self, body: dict[str, Any], week_id: UUID) -> Any:
        """Record a finding: a strength or an area for improvement"""
        commands().record_finding(actor(), week_id, expected_version=expected_version(), **body)
        return answer(queries().learning_week, week_id)


@blp.route("/<uuid:week_id>/closure")
class Closure(MethodView):
    @roles("manager")
    @blp.arguments(ClosureIn)
    @blp.response(200, LearningWeekOut)
    def post(self, body: dict[str, Any], week_id: UUID) -> Any:
        """Close the learning week: nothing more can be added to it"""
        commands().close_learning_week(
            actor(), week_id, expected_version=expected_version(), **body
        )
        return answer(queries().learning_week, week_id)
