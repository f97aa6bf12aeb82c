"""The wire format, written once: requests are checked and documented from these.

Strict at the edge: every string has a documented maximum length and refuses control
characters (a NUL would stop PostgreSQL, and no person means one), every date lies in
a sane range, and unknown fields and query parameters are refused, never dropped.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from events.rules import (
    ACTION_STATUSES,
    AUDIT_TYPES,
    FINDING_KINDS,
    GRADES,
    JUDGEMENT_DOMAINS,
    RAGS,
    RESPONDENTS,
    SERVICE_AREAS,
)

Grade = validate.OneOf(GRADES)
MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip

# Limits, in characters.
NAME = 100  # a person's name, an owner, initials, an actor
SHORT = 200  # a theme, a job title, an area, a quarter
TITLE = 500  # a plan's or a learning week's title and source
ITEM = 5_000  # one strength, improvement, expected outcome...
TEXT = 10_000  # a reason, a rationale, a description, a comment
LIST = 100  # items in a list of texts or owners
EARLIEST = date(2000, 1, 1)
LATEST = date(2099, 12, 31)

# C0 controls but tab and newline, DEL, C1 controls, lone surrogates, non-characters.
FORBIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
RULES = "no control characters other than tab and newline"


def printable(value: str) -> None:
    """Refuse what a store cannot hold (NUL on PostgreSQL, a lone surrogate in UTF-8) or a
    person cannot mean (other control characters), naming the first one and where."""
    found = FORBIDDEN.search(value)
    if found:
        raise ValidationError(
            f"must not contain control characters: U+{ord(found.group()):04X} at "
            f"character {found.start() + 1} (only tab and newline are allowed)"
        )


class Text(fields.String):
    """A string with a documented maximum length and no control characters."""

    def __init__(self, max_length: int, *, validate: Any = None, **kw: Any) -> None:
        checks = [validate] if callable(validate) else list(validate or [])
        metadata = dict(kw.pop("metadata", {}))
        metadata["description"] = "; ".join(
            part
            for part in (metadata.get("description"), f"at most {max_length} characters", RULES)
            if part
        )
        super().__init__(
            validate=[validate_length(max_length), printable, *checks],
            metadata=metadata,
            **kw,
        )


def validate_length(max_length: int) -> validate.Length:
    return validate.Length(max=max_length, error=f"must be at most {max_length} characters")


def _in_range(value: date) -> None:
    if not EARLIEST <= value <= LATEST:
        raise ValidationError(
            f"{value.isoformat()} is out of range: dates run from "
            f"{EARLIEST.isoformat()} to {LATEST.isoformat()}"
        )


class Day(fields.Date):
    """An ISO date (2016-04-30) from 2000 to 2099; an impossible one is named: 'there is
    no 31 April 2016'."""

    def __init__(self, **kw: Any) -> None:
        metadata = dict(kw.pop("metadata", {}))
        metadata.setdefault("description", "")
        metadata["description"] = (
            metadata["description"] + f" ({EARLIEST.isoformat()} to {LATEST.isoformat()})"
        ).strip()
        super().__init__(metadata=metadata, **kw)

    def _deserialize(self, value, attr, data, **kwargs):  # type: ignore[no-untyped-def]
        try:
            day = super()._deserialize(value, attr, data, **kwargs)
        except ValidationError:
            if isinstance(value, str) and len(value) == 10 and value[4] == value[7] == "-":
                year, month, day = value[:4], value[5:7], value[8:]
                if year.isdigit() and month.isdigit() and day.isdigit():
                    if 1 <= int(month) <= 12:
                        raise ValidationError(
                            f"there is no {int(day)} {MONTHS[int(month) - 1]} {year}"
                        ) from None
                    raise ValidationError(f"there is no month {int(month)}") from None
            raise ValidationError("not a date: write it as YYYY-MM-DD, e.g. 2016-04-30") from None
        _in_range(day)
        return day


class Moment(fields.DateTime):
    """An ISO date and time from 2000 to 2099; without a zone it is the service's local time."""

    def _deserialize(self, value, attr, data, **kwargs):  # type: ignore[no-untyped-def]
        if isinstance(value, str) and (len(value) > 40 or FORBIDDEN.search(value)):
            raise ValidationError("not a date and time: write it like 2016-04-05T17:00")
        moment: datetime = super()._deserialize(value, attr, data, **kwargs)
        _in_range(moment.date())
        return moment


class Number(fields.Integer):
    """A whole number within a range (JSON numbers only, never "3")."""

    def __init__(self, low: int, high: int, **kw: Any) -> None:
        super().__init__(strict=True, validate=validate.Range(low, high), **kw)


class Strict(Schema):
    """Unknown fields are refused (a typo must not be silently dropped), naming the
    fields that are known."""

    def handle_error(self, error: ValidationError, data: Any, *, many: bool, **kw: Any) -> None:
        if not isinstance(error.messages, dict):
            return
        known = ", ".join(
            sorted(field.data_key or name for name, field in self.load_fields.items())
        )
        for name, messages in error.messages.items():
            if messages == [self.error_messages["unknown"]] or messages == ["Unknown field."]:
                error.messages[name] = [f"is not known here; the known names are: {known}"]


def free_text(required: bool = False, **kw) -> fields.String:  # type: ignore[no-untyped-def]
    return Text(TEXT, required=required, **kw)


def texts(**kw) -> fields.List:  # type: ignore[no-untyped-def]
    return fields.List(Text(ITEM), load_default=list, validate=validate_list(LIST), **kw)


def validate_list(most: int) -> validate.Length:
    return validate.Length(max=most, error=f"must hold at most {most} items")


def owners_field(**kw) -> fields.List:  # type: ignore[no-untyped-def]
    return fields.List(Text(NAME), validate=validate_list(20), **kw)


def effective_on() -> fields.Date:
    return Day(
        load_default=None,
        metadata={"description": "when it became true in the world; defaults to today"},
    )


# Requests.


class ActionSpecIn(Strict):
    description = free_text(required=True)
    owners = owners_field(required=True)
    due_on = Day(
        allow_none=True,
        load_default=None,
        metadata={"description": "null means 'to be confirmed' (plan actions only)"},
    )


class PlanActionSpecIn(ActionSpecIn):
    effective_on = effective_on()


CASE_REF_HELP = "a pseudonymous case number, never a name"


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


class LearningWeekIn(Strict):
    title = Text(TITLE, required=True)
    starts_on = Day(required=True)
    ends_on = Day(required=True)


class ClosureIn(Strict):
    effective_on = effective_on()


class FeedbackIn(Strict):
    respondent = fields.String(required=True, validate=validate.OneOf(RESPONDENTS))
    satisfaction = Number(0, 10, required=True)
    knew_why_involved = fields.Boolean(required=True)
    comment = free_text(allow_none=True, load_default=None)
    effective_on = effective_on()


class FindingIn(Strict):
    kind = fields.String(required=True, validate=validate.OneOf(FINDING_KINDS))
    theme = Text(SHORT, required=True)
    text = free_text(required=True)
    effective_on = effective_on()


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


RECOMMENDATION = (1, 999)


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
    quarter = Text(SHORT, required=True, metadata={"example": "2016-Q2"})
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


class ActionIn(PlanActionSpecIn):
    plan_id = fields.UUID(load_default=None)
    recommendation = Number(*RECOMMENDATION, load_default=None)
    audit_id = fields.UUID(load_default=None)

    @validates_schema
    def _one_origin(self, data, **_kwargs):  # type: ignore[no-untyped-def]
        if (data.get("plan_id") is None) == (data.get("audit_id") is None):
            raise ValidationError(
                "name either plan_id (with recommendation) or audit_id, not both", "plan_id"
            )
        if data.get("plan_id") is not None and data.get("recommendation") is None:
            raise ValidationError("a plan action names its recommendation", "recommendation")


class StatusIn(Strict):
    status = fields.String(required=True, validate=validate.OneOf(ACTION_STATUSES))
    effective_on = effective_on()
    reason = free_text(allow_none=True, load_default=None)


class RescheduleIn(Strict):
    due_on = Day(required=True, allow_none=True)
    effective_on = effective_on()
    reason = free_text(required=True)


class OwnersIn(Strict):
    owners = owners_field(required=True)
    effective_on = effective_on()
    reason = free_text(required=True)


def flatten(errors: Any, path: str = "") -> dict[str, list[str]]:
    """Nested marshmallow errors as one level of paths: ``recommendations[3].actions[1].due_on``."""
    if not isinstance(errors, dict):
        return {path or "_schema": list(errors) if isinstance(errors, list) else [str(errors)]}
    flat: dict[str, list[str]] = {}
    for key, value in errors.items():
        if isinstance(key, int) or (isinstance(key, str) and key.isdigit()):
            child = f"{path}[{key}]"
        else:
            child = f"{path}.{key}" if path else str(key)
        flat.update(flatten(value, child))
    return flat


# Reads: when, and which.


class NoArgs(Strict):
    """A read that takes no query parameters (any given is refused)."""


class AsOfArgs(Strict):
    as_of = Day(
        load_default=None,
        metadata={"description": "the state at the end of this day (default: today)"},
    )
    known_at = Moment(
        load_default=None,
        metadata={
            "description": "use only what had been recorded by this time (default: now); "
            "without a zone it is the service's local time"
        },
    )


class Page(Strict):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000))
    page_size = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


class AuditRegisterArgs(AsOfArgs, Page):
    service_area = fields.String(validate=validate.OneOf(SERVICE_AREAS))
    grade = fields.String(validate=Grade, metadata={"description": "the moderated grade"})
    audit_type = fields.String(validate=validate.OneOf(AUDIT_TYPES))
    theme = Text(SHORT)
    learning_week_id = fields.UUID()
    audited_from = Day(data_key="from", metadata={"description": "audited on or after"})
    audited_to = Day(data_key="to", metadata={"description": "audited on or before"})
    include_withdrawn = fields.Boolean(load_default=False)


class ActionRegisterArgs(AsOfArgs, Page):
    owner = Text(
        NAME,
        metadata={
            "description": "an owner, exactly as recorded (lead initials for plan actions); "
            "a name no action has ever had is refused, with the nearest known ones"
        },
    )
    status = fields.String(validate=validate.OneOf(ACTION_STATUSES))
    overdue = fields.Boolean(
        metadata={"description": "due before as_of and not completed or cancelled by then"}
    )
    origin = fields.String(validate=validate.OneOf(("plan", "audit")))
    plan_id = fields.UUID()
    recommendation = Number(*RECOMMENDATION)
    audit_id = fields.UUID()


# Responses.


class StoredDate(fields.Date):
    """A date that a read model may hold as an ISO string (inside a JSON column)."""

    def _serialize(self, value, attr, obj, **kwargs):  # type: ignore[no-untyped-def]
        if isinstance(value, str):
            return value
        return super()._serialize(value, attr, obj, **kwargs)


class ActionOut(Schema):
    id = fields.UUID()
    version = fields.Integer()
    as_of = Day()
    origin = fields.String()
    plan_id = fields.UUID(allow_none=True)
    recommendation = fields.Integer(allow_none=True)
    audit_id = fields.UUID(allow_none=True)
    case_ref = fields.String(allow_none=True)
    description = fields.String()
    owners = fields.List(fields.String())
    due_on = fields.Date(allow_none=True)
    due_to_be_confirmed = fields.Function(lambda a: a["due_on"] is None)
    status = fields.String()
    status_since = fields.Date()
    status_reason = fields.String(allow_none=True)
    status_late = fields.Boolean(
        metadata={"description": "the status change was recorded after the day it took effect"}
    )
    overdue = fields.Boolean()
    raised_on = fields.Date()
    raised_by = fields.String()


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


class ActionRegisterOut(Schema):
    as_of = Day()
    page = fields.Integer()
    page_size = fields.Integer()
    total = fields.Integer()
    items = fields.List(fields.Nested(ActionOut))


class FeedbackOut(Schema):
    respondent = fields.String()
    satisfaction = fields.Integer()
    knew_why_involved = fields.Boolean()
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
    share_knew_why_involved = fields.Float(allow_none=True)
    feedback = fields.List(fields.Nested(FeedbackOut))
    findings = fields.Nested(FindingsOut)
    comparison = fields.Nested(WeekComparison, allow_none=True)


class LeadOut(Schema):
    initials = fields.String()
    name = fields.String()
    job_title = fields.String(allow_none=True)


class ReviewOut(Schema):
    quarter = fields.String()
    progress = fields.String()
    impact = fields.String()
    impact_data = fields.String(allow_none=True)
    commentary = fields.String(allow_none=True)
    further_actions = fields.String(allow_none=True)
    effective_on = fields.Date()
    recorded_by = fields.String()
    late = fields.Boolean()


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


class TrailArgs(Page):
    page_size = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))
    entity_type = fields.String(
        validate=validate.OneOf(("audit", "action", "plan", "learning_week"))
    )
    entity_id = fields.UUID()
    actor = Text(NAME)
    event_type = Text(40, metadata={"example": "StatusChanged"})
    recorded_from = Moment(metadata={"description": "recorded at or after"})
    recorded_to = Moment(metadata={"description": "recorded before"})
    effective_from = Day(metadata={"description": "took effect on or after"})
    effective_to = Day(metadata={"description": "took effect on or before"})
    format = fields.String(
        load_default="json",
        validate=validate.OneOf(("json", "csv")),
        metadata={"description": "csv streams every matching row (no pages)"},
    )


class HistoryArgs(Page):
    page_size = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class TrailRowOut(Schema):
    position = fields.Integer(metadata={"description": "the event's place in the log"})
    entity_type = fields.String()
    entity_id = fields.UUID()
    entity_version = fields.Integer()
    event_type = fields.String()
    actor = fields.String()
    actor_role = fields.String()
    recorded_at = fields.DateTime()
    effective_on = fields.Date(allow_none=True)
    reason = fields.String(allow_none=True)
    late = fields.Boolean(metadata={"description": "recorded after the day it took effect"})
    summary = fields.String()
    hash = fields.String(metadata={"description": "the hash chain's value at this position"})


class TrailOut(Schema):
    page = fields.Integer()
    page_size = fields.Integer()
    total = fields.Integer()
    items = fields.List(fields.Nested(TrailRowOut))


class DriftOut(Schema):
    read_model = fields.String(metadata={"description": "actions, audits, plans, ..."})
    table = fields.String()
    key = fields.String(metadata={"description": "action_id, audit_id, plan_id, week_id, ..."})
    entity_id = fields.String()
    detail = fields.String()


class VerifyOut(Schema):
    ok = fields.Boolean(
        metadata={"description": "the chain holds and every read model matches the events"}
    )
    count = fields.Integer(metadata={"description": "events verified"})
    head_position = fields.Integer()
    head_hash = fields.String()
    unchained = fields.Integer(metadata={"description": "newer events not yet in the chain"})
    position = fields.Integer(
        allow_none=True, metadata={"description": "the chain's first position that fails"}
    )
    problem = fields.String(
        allow_none=True, metadata={"description": "altered, missing, reordered or inserted"}
    )
    detail = fields.String(allow_none=True)
    read_models_ok = fields.Boolean(
        allow_none=True,
        metadata={
            "description": "every read model matches a rebuild from the events (null: not "
            "checked, as the chain failed)"
        },
    )
    drift = fields.List(
        fields.Nested(DriftOut),
        metadata={"description": "where read models differ from the events (the first 20)"},
    )


class ProjectionFailure(Schema):
    position = fields.Integer(metadata={"description": "the event it could not apply"})
    reason = fields.String()
    since = fields.DateTime(metadata={"description": "when it first stopped there"})


class ProjectionLag(Schema):
    position = fields.Integer(metadata={"description": "the last event it has applied"})
    lag = fields.Integer(metadata={"description": "events not yet applied"})
    failed = fields.Nested(
        ProjectionFailure,
        allow_none=True,
        metadata={"description": "set when it has stopped at an event it cannot apply"},
    )


class HealthOut(Schema):
    status = fields.String(
        metadata={"description": "ok, or failing when a read model has stopped (then 503)"}
    )
    store = fields.String()
    events = fields.Integer()
    projections = fields.Dict(keys=fields.String(), values=fields.Nested(ProjectionLag))


class PlanStateOut(PlanCounts):
    version = fields.Integer()
    leads = fields.Integer()
    recommendations = fields.Integer()


class HistoryRowOut(TrailRowOut):
    state = fields.Method(
        "_state",
        metadata={
            "description": "the record as known just after this change (an audit, an action, "
            "or a plan's counts)"
        },
    )

    def _state(self, row):  # type: ignore[no-untyped-def]
        state = row.get("state")
        if state is None:
            return None
        schema = {"audit": AuditOut, "action": ActionOut, "plan": PlanStateOut}[row["entity_type"]]
        return schema().dump(state)


class HistoryOut(TrailOut):
    items = fields.List(fields.Nested(HistoryRowOut))


# The lists of plans and learning weeks (for finding one without knowing its id).


class ListArgs(AsOfArgs, Page):
    """A page of a list, as of a day and as known at a time."""


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
