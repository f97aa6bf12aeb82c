"""The inspectors' trail: every change, and a check that nothing was altered or removed."""

from __future__ import annotations

from typing import Any

from flask import Response, stream_with_context
from flask.views import MethodView

from qa_service.api.http import Blueprint, queries, roles
from qa_service.exports import trail_csv
from qa_service.schemas.common import NoArgs
from qa_service.schemas.trail import TrailArgs, TrailOut, VerifyOut

blp = Blueprint("trail", __name__, url_prefix="/api/trail", description="The inspectors' trail")

READERS = ("inspector", "manager", "admin")


@blp.route("")
class Trail(MethodView):
    @roles(*READERS)
    @blp.arguments(TrailArgs, location="query")
    @blp.response(200, TrailOut)
    @blp.alt_response(
        200,
        description="with format=csv: every matching row as CSV",
        content_type="text/csv",
        schema={"type": "string"},
        success=True,
    )
    def get(self, args: dict[str, Any]) -> Any:
        """Every event: position, entity, type, actor and role, recorded_at, effective date,
        reason, late mark, a readable summary and its hash"""
        if args.pop("format") == "csv":
            args.pop("page")
            args.pop("page_size")
            rows = queries().trail_rows(**args)
            return Response(
                stream_with_context(trail_csv(rows)),
                mimetype="text/csv",
                headers={"Content-Disposition": 'attachment; filename="qa-trail.csv"'},
            )
        return queries().trail(**args)


@blp.route("/verify")
class Verify(MethodView):
    @roles(*READERS)
    @blp.arguments(NoArgs, location="query")
    @blp.response(200, VerifyOut)
    def get(self, _args: dict[str, Any]) -> Any:
        """Recompute the hash chain over the stored events: ok with the count and head hash,
        or the first position that fails and how (altered, missing, reordered, inserted);
        then check every read model against the events, naming any that drifted"""
        return queries().verify()
