"""Actions: raising one, its status, due date and owners, and the register.

An audit and a plan raise actions too, so their requests use ``ActionSpecIn`` and their
answers ``ActionOut``.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from events.rules import ACTION_STATUSES
from qa_service.schemas.common import (
    NAME,
    RECOMMENDATION,
    AsOfArgs,
    Day,
    Number,
    Page,
    Strict,
    Text,
    download_format,
    effective_on,
    free_text,
    owners_field,
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


class ActionIn(PlanActionSpecIn):
    plan_id = fields.UUID(load_default=None)
    recommendation = Number(*RECOMMENDATION, load_default=None)
    audit_id = fields.UUID(load_default=None)

    @validates_schema
    def _one_origin(self, data: dict[str, Any], **_kwargs: Any) -> None:
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
    recommendation = fields.Integer(validate=validate.Range(*RECOMMENDATION))  # "3" in a query
    audit_id = fields.UUID()
    format = download_format()


# Responses.


class DueDateMoveOut(Schema):
    effective_on = fields.Date(metadata={"description": "the day the move took effect"})
    moved_from = fields.Date(
        attribute="from",
        data_key="from",
        allow_none=True,
        metadata={"description": "the due date before (null: to be confirmed)"},
    )
    to = fields.Date(allow_none=True, metadata={"description": "null: to be confirmed"})
    reason = fields.String(allow_none=True)
    recorded_by = fields.String()
    recorded_at = fields.DateTime()


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
    original_due_on = fields.Date(
        allow_none=True,
        metadata={"description": "the due date it was raised with (null: to be confirmed)"},
    )
    due_date_history = fields.List(
        fields.Nested(DueDateMoveOut),
        metadata={
            "description": "every move of the due date that took effect by as_of, oldest "
            "first (in one action's read only)"
        },
    )
    times_moved = fields.Integer(
        metadata={"description": "how many times the due date moved (in one action's read only)"}
    )
    status = fields.String()
    status_since = fields.Date()
    status_reason = fields.String(allow_none=True)
    status_late = fields.Boolean(
        metadata={"description": "the status change was recorded after the day it took effect"}
    )
    overdue = fields.Boolean()
    raised_on = fields.Date()
    raised_by = fields.String()


class ActionRegisterOut(Schema):
    as_of = Day()
    page = fields.Integer()
    page_size = fields.Integer()
    total = fields.Integer()
    items = fields.List(fields.Nested(ActionOut))
