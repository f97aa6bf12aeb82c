"""Actions: raise, move through the lifecycle, reschedule, reassign, read."""

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
from qa_service.schemas.actions import (
    ActionIn,
    ActionOut,
    ActionRegisterArgs,
    ActionRegisterOut,
    OwnersIn,
    RescheduleIn,
    StatusIn,
)
from qa_service.schemas.common import AsOfArgs
from qa_service.schemas.trail import HistoryArgs, HistoryOut

blp = Blueprint(
    "actions", __name__, url_prefix="/api/actions", description="Plan and audit actions"
)


@blp.route("")
class Actions(MethodView):
    @roles("auditor", "manager", "inspector", "admin")
    @blp.arguments(ActionRegisterArgs, location="query")
    @blp.response(200, ActionRegisterOut)
    @downloads(blp, "The action tracker", "action-tracker")
    def get(self, args: dict[str, Any]) -> Any:
        """The action register (the tracker): filter by owner, status, overdue, origin; as
        a spreadsheet (XLSX or CSV) of every matching action with format"""
        fmt = args.pop("format")
        if fmt == "json":
            return queries().actions(**args)
        del args["page"], args["page_size"]
        sheets, stem = exports.action_tracker(
            queries().action_rows(**args), args, args.get("known_at"), queries().zone
        )
        file = exports.download(sheets, fmt, stem)
        return Response(file.body, mimetype=file.mimetype, headers=file.headers)

    @roles("auditor", "manager")
    @blp.arguments(ActionIn)
    @blp.response(201, ActionOut)
    def post(self, body: dict[str, Any]) -> Any:
        """Raise an action on a plan recommendation (manager) or a case audit"""
        action_id = commands().raise_action(actor(), body)
        return answer(
            queries().action, action_id, location=url_for("actions.Action", action_id=action_id)
        )


@blp.route("/<uuid:action_id>")
class Action(MethodView):
    @roles("auditor", "manager", "inspector", "admin")
    @blp.arguments(AsOfArgs, location="query")
    @blp.response(200, ActionOut)
    def get(self, args: dict[str, Any], action_id: UUID) -> Any:
        """One action as of a date: status, owners, due date, overdue"""
        return versioned(queries().action(action_id, **args))


@blp.route("/<uuid:action_id>/status")
class Status(MethodView):
    @roles("manager")
    @blp.arguments(StatusIn)
    @blp.response(200, ActionOut)
    def post(self, body: dict[str, Any], action_id: UUID) -> Any:
        """Move the action to a new status from a date, with a reason where one is needed"""
        commands().change_action_status(
            actor(), action_id, expected_version=expected_version(), **body
        )
        return answer(queries().action, action_id)


@blp.route("/<uuid:action_id>/reschedule")
class Reschedule(MethodView):
    @roles("manager")
    @blp.arguments(RescheduleIn)
    @blp.response(200, ActionOut)
    def post(self, body: dict[str, Any], action_id: UUID) -> Any:
        """Give the action a new due date (null: to be confirmed), with a reason"""
        commands().reschedule_action(
            actor(), action_id, expected_version=expected_version(), **body
        )
        return answer(queries().action, action_id)


@blp.route("/<uuid:action_id>/owners")
class Owners(MethodView):
    @roles("manager")
    @blp.arguments(OwnersIn)
    @blp.response(200, ActionOut)
    def post(self, body: dict[str, Any], action_id: UUID) -> Any:
        """Give the action new owners, with a reason"""
        commands().reassign_action(actor(), action_id, expected_version=expected_version(), **body)
        return answer(queries().action, action_id)


@blp.route("/<uuid:action_id>/history")
class History(MethodView):
    @roles("inspector", "manager", "admin")
    @blp.arguments(HistoryArgs, location="query")
    @blp.response(200, HistoryOut)
    def get(self, args: dict[str, Any], action_id: UUID) -> Any:
        """Every change to this action (as in the trail), with the state just after each"""
        return queries().history("action", action_id, **args)
