"""Case audits: recording, correcting, moderating and withdrawing one, and the register
with its grade distribution.
"""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from events.rules import AUDIT_TYPES, GRADES, JUDGEMENT_DOMAINS, SERVICE_AREAS
from qa_service.schemas.actions import ActionOut, ActionSpecIn
from qa_service.schemas.common import (
    ITEM,
    LIST,
    SHORT,
    AsOfArgs,
    Day,
    Page,
    StoredDate,
    Strict,
    Text,
    download_format,
    effective_on,
    free_text,
    texts,
    validate_list,
)

Grade = validate.OneOf(GRADES)
CASE_REF_HELP = "a pseudonymous case number, never a name"


# Requests.


class AuditFields(Strict):
    case_ref = Text(32, metadata={"description": CASE_REF_HELP})
    service_area = fields.String(validate=validate.OneOf(SERVICE_AREAS))
    audit_type = fields.String(validate=validate.OneOf(AUDIT_TYPES))
    theme = Text(SHORT, allow_none=True)
    audited_on = Day()
    judgements = fields.Dict(
        keys=fields.String(validate=validate.OneOf(JUDGEMENT_DOMAINS)),
        values=fields.String(validate=Grade),
        load_default=dict,
        metadata={"description": "practice domain to grade"},
    )
    overall_grade = fields.String(validate=Grade)
    strengths = texts(metadata={"description": "what is going well"})
    improvements = texts(metadata={"description": "areas for improvement"})


class AuditIn(AuditFields):
    case_ref = Text(32, required=True, metadata={"description": CASE_REF_HELP})
    service_area = fields.String(required=True, validate=validate.OneOf(SERVICE_AREAS))
    audit_type = fields.String(required=True, validate=validate.OneOf(AUDIT_TYPES))
    overall_grade = fields.String(required=True, validate=Grade)
    audited_on = Day(
        load_default=None, metadata={"description": "defaults to today; never in the future"}
    )
    learning_week_id = fields.UUID(allow_none=True, load_default=None)
    actions = fields.List(
        fields.Nested(ActionSpecIn), load_default=list, validate=validate_list(LIST)
    )


class CorrectionChanges(AuditFields):
    judgements = fields.Dict(
        keys=fields.String(validate=validate.OneOf(JUDGEMENT_DOMAINS)),
        values=fields.String(validate=Grade),
    )
    strengths = fields.List(Text(ITEM), validate=validate_list(LIST))
    improvements = fields.List(Text(ITEM), validate=validate_list(LIST))


class CorrectionIn(Strict):
    changes = fields.Nested(CorrectionChanges, required=True)
    reason = free_text(required=True)


class ModerationIn(Strict):
    grade = fields.String(required=True, validate=Grade)
    rationale = free_text(required=True)
    effective_on = effective_on()
    actions = fields.List(
        fields.Nested(ActionSpecIn), load_default=list, validate=validate_list(LIST)
    )


class WithdrawalIn(Strict):
    reason = free_text(required=True)
    effective_on = effective_on()


class AuditRegisterArgs(AsOfArgs, Page):
    service_area = fields.String(validate=validate.OneOf(SERVICE_AREAS))
    grade = fields.String(validate=Grade, metadata={"description": "the moderated grade"})
    audit_type = fields.String(validate=validate.OneOf(AUDIT_TYPES))
    theme = Text(SHORT)
    learning_week_id = fields.UUID()
    audited_from = Day(data_key="from", metadata={"description": "audited on or after"})
    audited_to = Day(data_key="to", metadata={"description": "audited on or before"})
    include_withdrawn = fields.Boolean(load_default=False)
    format = download_format()


# Responses.


class ModerationOut(Schema):
    grade = fields.String()
    rationale = fields.String()
    effective_on = StoredDate()
    moderator = fields.String()
    late = fields.Boolean()


class WithdrawalOut(Schema):
    reason = fields.String()
    effective_on = StoredDate()
    by = fields.String()


class AuditSummaryOut(Schema):
    id = fields.UUID()
    case_ref = fields.String()
    service_area = fields.String()
    audit_type = fields.String()
    theme = fields.String(allow_none=True)
    learning_week_id = fields.UUID(allow_none=True)
    audited_on = fields.Date()
    judgements = fields.Dict(keys=fields.String(), values=fields.String())
    auditor_grade = fields.String(metadata={"description": "the grade the auditor gave"})
    grade = fields.String(metadata={"description": "the moderated grade once moderated"})
    moderation = fields.Nested(ModerationOut, allow_none=True)
    strengths = fields.List(fields.String())
    improvements = fields.List(fields.String())
    auditor = fields.String()
    recorded_at = fields.DateTime()
    late = fields.Boolean(metadata={"description": "recorded after the day it was audited"})
    corrections = fields.Integer()
    withdrawn = fields.Nested(WithdrawalOut, allow_none=True)


class AuditOut(AuditSummaryOut):
    version = fields.Integer()
    as_of = Day()
    actions = fields.List(fields.Nested(ActionOut))


class GradeCounts(Schema):
    key = fields.String()
    total = fields.Integer()
    counts = fields.Dict(keys=fields.String(), values=fields.Integer())
    shares = fields.Dict(keys=fields.String(), values=fields.Float(allow_none=True))
    good_or_better = fields.Float(allow_none=True)


class ModerationAgreement(Schema):
    moderated = fields.Integer()
    agreed = fields.Integer()
    agreement_rate = fields.Float(allow_none=True)


class Distribution(Schema):
    overall = fields.Nested(GradeCounts)
    month = fields.List(fields.Nested(GradeCounts))
    quarter = fields.List(fields.Nested(GradeCounts))
    service_area = fields.List(fields.Nested(GradeCounts))
    audit_type = fields.List(fields.Nested(GradeCounts))
    moderation = fields.Nested(ModerationAgreement)


class AuditRegisterOut(Schema):
    as_of = Day()
    page = fields.Integer()
    page_size = fields.Integer()
    total = fields.Integer()
    items = fields.List(fields.Nested(AuditSummaryOut))
    distribution = fields.Nested(Distribution)
