"""What the OpenAPI document says every operation can answer, written once.

flask-smorest documents each view's success response and its 422; the answers that come
from the request pipeline (sign-in, roles, body checks, versions, a stopped read model)
are the same for every operation of a kind, so an apispec plugin adds them, and the
catch-all ``default`` response is not used: a client, and the schema-driven tests, can
rely on the list.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from apispec import APISpec, BasePlugin

from qa_service.exports import XLSX_TYPE

IF_MATCH = {
    "in": "header",
    "name": "If-Match",
    "required": False,
    "description": 'the version you read (3, "3" or W/"3"): 409 if the record changed since',
    "schema": {"type": "string", "maxLength": 40},
}
IDEMPOTENCY_KEY = {
    "in": "header",
    "name": "Idempotency-Key",
    "required": False,
    "description": "your id for this request (1 to 200 printable ASCII characters): a retry "
    "with the same key gets the first answer back and writes nothing more",
    "schema": {"type": "string", "minLength": 1, "maxLength": 200},
}
RETRY_AFTER = {
    "description": "whole seconds to wait before trying again",
    "required": True,
    "schema": {"type": "integer", "minimum": 1},
}
WHY = {
    202: "Recorded, but the read model that shows it has stopped; the record stands",
    401: "No token, or a token that is not known, was revoked or has expired (the message "
    "says when it expired, and how to get a new one)",
    403: "Your role may not do this",
    404: "No such record (on the date asked about)",
    409: "A conflict: a stale If-Match version, an impossible change, or the same "
    "Idempotency-Key still in flight",
    413: "The body is over the size limit",
    415: "The body is not JSON",
    422: "A field, a query parameter or a header breaks a rule; each is named",
    429: "Too many failed sign-ins from this client lately: wait the Retry-After seconds",
    503: "The read model that would answer has stopped (see GET /api/health)",
}


class ErrorResponses(BasePlugin):
    def init_spec(self, spec: APISpec) -> None:
        self.spec = spec

    def operation_helper(
        self, path: str | None = None, operations: dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        if not path or not operations:
            return
        for method, operation in operations.items():
            if not isinstance(operation, dict) or method == "parameters":
                continue
            codes = self._codes(path, method, operation)
            responses = operation.setdefault("responses", {})
            responses.pop("default", None)
            for code in codes:
                if str(code) not in responses and code not in responses:
                    responses[str(code)] = self._response(code)
            if method == "post":
                parameters = operation.setdefault("parameters", [])
                parameters.append(IDEMPOTENCY_KEY)
                if "{" in path and not path.endswith("/import"):
                    parameters.append(IF_MATCH)

    @staticmethod
    def _codes(path: str, method: str, operation: dict[str, Any]) -> list[int]:
        public = operation.get("security") == []
        codes = [] if public else [401, 403, 429]
        if "{" in path:
            codes.append(404)
        if method == "post":
            codes += [202, 409, 413, 415]
        codes.append(422)  # every operation refuses unknown query parameters
        if method == "get" and not public:
            codes.append(503)
        return codes

    def _response(self, code: int) -> dict[str, Any]:
        """The answer in the one error shape, saying when it happens here."""
        # flask-smorest's lazily registered response of this status carries the shape.
        self.spec.components.get_ref("response", HTTPStatus(code).name)
        answer: dict[str, Any] = {
            "description": WHY[code],
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
        if code == 429:
            answer["headers"] = {"Retry-After": RETRY_AFTER}
        return answer


def downloads(blp: Any, what: str, stem: str) -> Any:
    """Document the files a read also answers with ``format=csv`` or ``format=xlsx``: the
    200 answer's media types, and the file's name."""
    described = {
        "description": f"{what}: as JSON (format=json, the default), or as a file to download: "
        "CSV (format=csv, a plain table whose first line holds the headings) or an Excel "
        "workbook (format=xlsx, saying above its table what it holds, as of when, as known "
        "at when and with which filters)",
        "headers": {
            "Content-Disposition": {
                "description": f'csv and xlsx only: attachment; filename="{stem}-2016-06-30.xlsx" '
                "(its as_of day, and -known-2016-07-05-1700 for a known_at time)",
                "schema": {"type": "string"},
            }
        },
        "success": True,
    }
    csv = blp.alt_response(200, content_type="text/csv", schema={"type": "string"}, **described)
    xlsx = blp.alt_response(
        200, content_type=XLSX_TYPE, schema={"type": "string", "format": "binary"}, **described
    )

    def decorate(view: Any) -> Any:
        return csv(xlsx(view))

    return decorate
