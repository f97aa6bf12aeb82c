"""Liveness."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from qa_service.api.http import service
from qa_service.api.schemas import HealthOut

blp = Blueprint("health", __name__, url_prefix="/api/health", description="Liveness")


@blp.route("")
class Health(MethodView):
    @blp.response(200, HealthOut)
    @blp.doc(security=[])
    def get(self):  # type: ignore[no-untyped-def]
        """Is the service up; how many events it holds; each projection's position and lag
        behind the event log (no sign-in needed)"""
        svc = service()
        return {
            "status": "ok",
            "store": "sqlite" if svc.settings.is_sqlite else "postgresql",
            "events": svc.log.recorder.max_notification_id() or 0,
            "projections": svc.reads.lag(),
        }
