"""Improvement plans: creating one, its leads, recommendations and reviews, importing a
whole plan document, and reading a plan and the list of plans.
"""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from events.quarters import HOW_TO_WRITE
from events.rules import RAGS
from qa_service.schemas.actions import ActionOut, ActionSpecIn, PlanActionSpecIn
from qa_service.schemas.common import (
    ITEM,
    LIST,
    NAME,
    RECOMMENDATION,
    SHORT,
    TITLE,
    AsOfArgs,
    Day,
    Moment,
    Number,
    Strict,
    Text,
    download_format,
    effective_on,
    free_text,
    owners_field,
    texts,
    validate_list,
)

# Requests.


class PlanIn(Strict):
    title = Text(TITLE, required=True)
    source = Text(TITLE, required=True, metadata={"description": "the inspection the plan answers"})
    published_on = Day(required=True)


class Lead(Strict):
    initials = Text(NAME, required=True)
    name = Text(NAME, required=True)
    job_title = Text(SHORT, allow_none=True, load_default=None)


class LeadIn(Lead):
    effective_on = effective_on()


class Recommendation(Strict):
    number = Number(*RECOMMENDATION, required=True)
    area = Text(SHORT, required=True)
    text = free_text(required=True)
    leads = owners_field(required=True)
    linked_plans = texts()
    partners = texts()
    expected_outcomes = texts()
    measures_of_success = texts()


class RecommendationIn(Recommendation):
    effective_on = effective_on()
    actions = fields.List(
        fields.Nested(PlanActionSpecIn), load_default=list, validate=validate_list(LIST)
    )


class ReviewIn(Strict):
    recommendation = Number(*RECOMMENDATION, required=True)
    quarter = Text(
        SHORT,
        required=True,
        metadata={
            "description": f"{HOW_TO_WRITE}: the financial year's form (April to March) or "
            "the calendar year's; stored, and answered, in the calendar form",
            "example": "Q1 2016/17",
        },
    )
    progress = fields.String(required=True, validate=validate.OneOf(RAGS))
    impact = fields.String(required=True, validate=validate.OneOf(RAGS))
    impact_data = free_text(allow_none=True, load_default=None)
    commentary = free_text(allow_none=True, load_default=None)
    further_actions = free_text(allow_none=True, load_default=None)
    reason = free_text(
        allow_none=True,
        load_default=None,
        metadata={"description": "required when replacing a review of the same quarter"},
    )
    effective_on = effective_on()


class PlanArgs(AsOfArgs):
    format = download_format(paged=False)


class ReviewHistoryArgs(Strict):
    known_at = Moment(
        load_default=None,
        metadata={
            "description": "use only what had been recorded by this time (default: now); "
            "without a zone it is the service's local time"
        },
    )
    recommendation = fields.Integer(
        validate=validate.Range(*RECOMMENDATION),
        metadata={"description": "only this recommendation's reviews"},
    )


# A whole plan, as imported.


class ImportedAction(ActionSpecIn):
    number = Text(
        SHORT,
        allow_none=True,
        metadata={"description": "the action's number in the source, if any"},
    )
    due_text = Text(SHORT, metadata={"description": "the due date as the source prints it"})
    reading = Text(ITEM, metadata={"description": "how a flawed source was read"})


class ImportedRecommendation(Recommendation):
    actions = fields.List(
        fields.Nested(ImportedAction), load_default=list, validate=validate_list(LIST)
    )


class PlanDocument(PlanIn):
    """A whole plan. ``notes``, ``due_text`` and ``reading`` are for people checking the
    document against its source; they are accepted and not stored."""

    notes = texts()
    leads = fields.List(fields.Nested(Lead), required=True, validate=validate_list(LIST))
    recommendations = fields.List(
        fields.Nested(ImportedRecommendation), required=True, validate=validate_list(LIST)
    )


# Responses.


class LeadOut(Schema):
    initials = fields.String()
    name = fields.String()
    job_title = fields.String(allow_none=True)


class ReviewFields(Schema):
    quarter = fields.String(metadata={"description": "the calendar form: 2016-Q2"})
    quarter_label = fields.String(
        metadata={"description": "the financial year's form (April to March): Q1 2016/17"}
    )
    progress = fields.String()
    impact = fields.String()
    impact_data = fields.String(allow_none=True)
    commentary = fields.String(allow_none=True)
    further_actions = fields.String(allow_none=True)
    effective_on = fields.Date()
    recorded_by = fields.String()


class ReviewOut(ReviewFields):
    late = fields.Boolean()


class ReviewHistoryItemOut(ReviewFields):
    recommendation = fields.Integer()
    reason = fields.String(
        allow_none=True, metadata={"description": "why it replaced an earlier review, if it did"}
    )
    recorded_at = fields.DateTime()
    replaced = fields.Boolean(
        metadata={"description": "a later review of the same quarter replaced this one"}
    )


class RecommendationOut(Schema):
    number = fields.Integer()
    area = fields.String()
    text = fields.String()
    leads = fields.List(fields.String())
    linked_plans = fields.List(fields.String())
    partners = fields.List(fields.String())
    expected_outcomes = fields.List(fields.String())
    measures_of_success = fields.List(fields.String())
    effective_on = fields.Date()
    late = fields.Boolean()
    actions = fields.List(fields.Nested(ActionOut))
    latest_review = fields.Nested(ReviewOut, allow_none=True)


class PlanCounts(Schema):
    actions = fields.Integer()
    completed = fields.Integer()
    overdue = fields.Integer()


class PlanOut(Schema):
    id = fields.UUID()
    version = fields.Integer()
    as_of = Day()
    title = fields.String()
    source = fields.String()
    published_on = fields.Date()
    leads = fields.List(fields.Nested(LeadOut))
    recommendations = fields.List(fields.Nested(RecommendationOut))
    counts = fields.Nested(PlanCounts)


class PlanStateOut(PlanCounts):
    version = fields.Integer()
    leads = fields.Integer()
    recommendations = fields.Integer()


class PlanSummaryOut(Schema):
    id = fields.UUID()
    version = fields.Integer()
    title = fields.String()
    source = fields.String()
    published_on = fields.Date()
    recommendations = fields.Integer(metadata={"description": "how many, as of as_of"})
    counts = fields.Nested(PlanCounts, metadata={"description": "its actions, as of as_of"})


class PlanListOut(Schema):
    as_of = Day()
    page = fields.Integer()
    page_size = fields.Integer()
    total = fields.Integer()
    items = fields.List(fields.Nested(PlanSummaryOut))
