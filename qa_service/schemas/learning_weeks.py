"""Learning weeks: opening and closing one, family feedback and findings, and reading a
week (compared with the one before) and the list of weeks.
"""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from events.rules import FINDING_KINDS, RESPONDENTS
from qa_service.schemas.common import (
    SHORT,
    TITLE,
    Day,
    Number,
    Strict,
    Text,
    effective_on,
    free_text,
)

# Requests.


class LearningWeekIn(Strict):
    title = Text(TITLE, required=True)
    starts_on = Day(required=True)
    ends_on = Day(required=True)


class ClosureIn(Strict):
    effective_on = effective_on()


class FeedbackIn(Strict):
    respondent = fields.String(required=True, validate=validate.OneOf(RESPONDENTS))
    satisfaction = Number(0, 10, required=True)
    knew_why_involved = fields.Boolean(
        required=True,
        allow_none=True,
        metadata={"description": "whether they knew why the service was involved; null: "
                  "they did not answer"},
    )  # fmt: skip
    comment = free_text(allow_none=True, load_default=None)
    effective_on = effective_on()


class FindingIn(Strict):
    kind = fields.String(required=True, validate=validate.OneOf(FINDING_KINDS))
    theme = Text(SHORT, required=True)
    text = free_text(required=True)
    effective_on = effective_on()


# Responses.


class FeedbackOut(Schema):
    respondent = fields.String()
    satisfaction = fields.Integer()
    knew_why_involved = fields.Boolean(allow_none=True)
    comment = fields.String(allow_none=True)
    effective_on = fields.Date()
    late = fields.Boolean()


class FindingOut(Schema):
    kind = fields.String()
    theme = fields.String()
    text = fields.String()
    effective_on = fields.Date()
    late = fields.Boolean()


class FindingsOut(Schema):
    strength = fields.List(fields.Nested(FindingOut))
    improvement = fields.List(fields.Nested(FindingOut))


class WeekFigures(Schema):
    audits = fields.Integer()
    share_good_or_better = fields.Float(allow_none=True)
    feedback_count = fields.Integer()
    mean_satisfaction = fields.Float(allow_none=True)
    share_knew_why_involved = fields.Float(allow_none=True)


class WeekComparison(Schema):
    previous_week_id = fields.UUID()
    previous_title = fields.String()
    previous_starts_on = fields.Date()
    previous = fields.Nested(WeekFigures)
    change = fields.Nested(WeekFigures)


class LearningWeekOut(Schema):
    id = fields.UUID()
    version = fields.Integer()
    as_of = Day()
    title = fields.String()
    starts_on = fields.Date()
    ends_on = fields.Date()
    closed_on = fields.Date(allow_none=True)
    audits = fields.Integer()
    grades = fields.Dict(keys=fields.String(), values=fields.Integer())
    good_or_better = fields.Integer()
    share_good_or_better = fields.Float(allow_none=True)
    feedback_count = fields.Integer()
    mean_satisfaction = fields.Float(allow_none=True)
    knew_why_answered = fields.Integer(
        metadata={"description": "how many answered whether they knew why the service was involved"}
    )
    share_knew_why_involved = fields.Float(
        allow_none=True, metadata={"description": "a share of those who answered"}
    )
    feedback = fields.List(fields.Nested(FeedbackOut))
    findings = fields.Nested(FindingsOut)
    comparison = fields.Nested(WeekComparison, allow_none=True)


class WeekSummaryOut(Schema):
    id = fields.UUID()
    version = fields.Integer()
    title = fields.String()
    starts_on = fields.Date()
    ends_on = fields.Date()
    closed_on = fields.Date(allow_none=True)
    audits = fields.Integer(metadata={"description": "audits in the week, as of as_of"})
    feedback_count = fields.Integer(metadata={"description": "as of as_of"})


class WeekListOut(Schema):
    as_of = Day()
    page = fields.Integer()
    page_size = fields.Integer()
    total = fields.Integer()
    items = fields.List(fields.Nested(WeekSummaryOut))
