"""The service's health: the store, and how far each read model has got."""

from __future__ import annotations

from marshmallow import Schema, fields


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
