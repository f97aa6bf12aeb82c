"""The inspectors' trail, a record's history (the trail's rows with the record as known
after each), and the verification of the hash chain and the read models.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import Schema, fields, validate

from qa_service.schemas.actions import ActionOut
from qa_service.schemas.audits import AuditOut
from qa_service.schemas.common import NAME, Day, Moment, Page, Text
from qa_service.schemas.plans import PlanStateOut


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


class HistoryRowOut(TrailRowOut):
    state = fields.Method(
        "_state",
        metadata={
            "description": "the record as known just after this change (an audit, an action, "
            "or a plan's counts)"
        },
    )

    def _state(self, row: Mapping[str, Any]) -> Any:
        state = row.get("state")
        if state is None:
            return None
        schema = {"audit": AuditOut, "action": ActionOut, "plan": PlanStateOut}[row["entity_type"]]
        return schema().dump(state)


class HistoryOut(TrailOut):
    items = fields.List(fields.Nested(HistoryRowOut))


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
