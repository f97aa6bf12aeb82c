"""Liveness, and whether every read model is keeping up."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask.views import MethodView

from qa_service.api.http import Blueprint, service
from qa_service.schemas.common import NoArgs
from qa_service.schemas.health import HealthOut

blp = Blueprint("health", __name__, url_prefix="/api/health", description="Liveness")


@blp.route("")
class Health(MethodView):
    @blp.arguments(NoArgs, location="query")
    @blp.response(200, HealthOut)
    @blp.alt_response(
        503,
        schema=HealthOut,
        description="a read model has stopped at an event it cannot apply: it is named, "
        "with the position and the reason",
    )
    @blp.doc(security=[])
    def get(self, _args: dict[str, Any]) -> Any:
        """Is the service up; how many events it holds; each read model's position and lag
        behind the event log, and any that has stopped (no sign-in needed)"""
        svc = service()
        projections = svc.reads.lag()
        for state in projections.values():
            failure = state.get("failed")
            if failure is not None:
                state["failed"] = {
                    "position": failure.position,
                    "reason": failure.reason,
                    "since": datetime.fromtimestamp(failure.failed_at, UTC),
                }
        failing = any(state.get("failed") for state in projections.values())
        body = {
            "status": "failing" if failing else "ok",
            "store": "sqlite" if svc.settings.is_sqlite else "postgresql",
            "events": svc.commands.recorder.max_notification_id() or 0,
            "projections": projections,
        }
        return body, 503 if failing else 200
