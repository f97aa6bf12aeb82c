"""The inspectors' trail: every change, and a check that nothing was altered or removed."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date, datetime

from flask import Response, stream_with_context
from flask.views import MethodView
from flask_smorest import Blueprint

from qa_service.api.http import roles, service
from qa_service.api.schemas import TrailArgs, TrailOut, TrailRowOut, VerifyOut

blp = Blueprint("trail", __name__, url_prefix="/api/trail", description="The inspectors' trail")

READERS = ("inspector", "manager", "admin")
CSV_COLUMNS = list(TrailRowOut().fields)


def _cell(value: object) -> object:
    """As the JSON form writes it: ISO dates and times, true/false, empty for none."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


def _csv(rows: Iterator[dict]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for i, row in enumerate(rows, 1):
        writer.writerow([_cell(row[name]) for name in CSV_COLUMNS])
        if i % 500 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


@blp.route("")
class Trail(MethodView):
    @roles(*READERS)
    @blp.arguments(TrailArgs, location="query")
    @blp.response(200, TrailOut)
    @blp.alt_response(
        200,
        description="with format=csv: every matching row as CSV",
        content_type="text/csv",
        success=True,
    )
    def get(self, args):  # type: ignore[no-untyped-def]
        """Every event: position, entity, type, actor and role, recorded_at, effective date,
        reason, late mark, a readable summary and its hash"""
        if args.pop("format") == "csv":
            args.pop("page")
            args.pop("page_size")
            rows = service().queries.trail_rows(**args)
            return Response(
                stream_with_context(_csv(rows)),
                mimetype="text/csv",
                headers={"Content-Disposition": 'attachment; filename="qa-trail.csv"'},
            )
        return service().queries.trail(**args)


@blp.route("/verify")
class Verify(MethodView):
    @roles(*READERS)
    @blp.response(200, VerifyOut)
    def get(self):  # type: ignore[no-untyped-def]
        """Recompute the hash chain over the stored events: ok with the count and head hash,
        or the first position that fails and how (altered, missing, reordered, inserted)"""
        return service().queries.verify()
