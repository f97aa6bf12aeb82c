"""What every request goes through: authentication, body checks, idempotency, errors."""

from __future__ import annotations

import functools
import hashlib
import logging
import traceback
from collections.abc import Callable
from typing import Any

import flask_smorest
from flask import Flask, Response, current_app, g, jsonify, request
from flask_smorest import abort
from marshmallow import RAISE
from webargs.flaskparser import FlaskParser
from werkzeug.exceptions import HTTPException, InternalServerError, RequestEntityTooLarge
from werkzeug.http import HTTP_STATUS_CODES

from events import InvalidInput, Refused
from qa_service.accounts import (
    IdempotencyKeyInUse,
    IdempotencyKeyReused,
    StoredResponse,
    TokenExpired,
    TokenRefused,
    TooManyFailures,
    client_address,
)
from qa_service.application import Actor, Commands
from qa_service.errors import Forbidden, NotFound, StaleVersion
from qa_service.queries import BadQuery, Queries, ReadModelStopped
from qa_service.schemas.common import flatten
from qa_service.service import Service

logger = logging.getLogger(__name__)

PUBLIC_PATHS = ("/api/openapi.json", "/api/docs", "/api/health")
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
MAX_JSON_DEPTH = 16  # the deepest request document (a plan import) needs 5


class Blueprint(flask_smorest.Blueprint):
    """A blueprint whose query arguments are strict: a misspelt ``as_of`` is a 422 naming
    it, never an answer about today."""

    ARGUMENTS_PARSER = FlaskParser(unknown=RAISE)


def service() -> Service:
    svc: Service = current_app.extensions["qa_service"]
    return svc


def commands() -> Commands:
    """The command side: every write goes through one of its methods."""
    return service().commands


def queries() -> Queries:
    """The query side: every read goes through one of its methods."""
    return service().queries


def actor() -> Actor:
    user = g.user
    return Actor(name=user.name, role=user.role)


def roles(*allowed: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Only these roles may call the view (checked before its body is read)."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if g.user.role not in allowed:
                abort(
                    403,
                    message=f"{_article(g.user.role)} {g.user.role} may not do this; it needs "
                    f"the role {' or '.join(allowed)}",
                )
            return view(*args, **kwargs)

        return wrapper

    return decorate


def answer(
    read: Callable[[Any], dict[str, Any]], entity_id: Any, *, location: str | None = None
) -> Any:
    """A write's response: the record as now saved, read back from its read model, with
    its version as ETag (201 with its ``location`` when the write created it). The write
    stands even if that read model has stopped (or has not caught up): then 202, saying
    so, so that nobody sends it again."""
    try:
        view = read(entity_id)
    except (ReadModelStopped, NotFound) as problem:
        why = problem if isinstance(problem, ReadModelStopped) else "it has not caught up"
        response = jsonify(
            code=202,
            status=HTTP_STATUS_CODES[202],
            message=f"recorded ({entity_id}), but it cannot be shown yet: {why}",
        )
        response.status_code = 202
        if location:
            response.headers["Location"] = location
        return response
    status, headers = versioned(view)[1:]
    if location:
        status, headers["Location"] = 201, location
    return view, status, headers


def versioned(view: dict[str, Any]) -> tuple[dict[str, Any], int, dict[str, str]]:
    """A read's answer, with the record's version as ETag (for If-Match)."""
    return view, 200, {"ETag": f'"{view["version"]}"'}


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def expected_version() -> int | None:
    """The version named by ``If-Match`` (``3``, ``"3"`` or ``W/"3"``), if any."""
    value = request.headers.get("If-Match")
    if value is None or value.strip() == "*":
        return None
    cleaned = value.strip().removeprefix("W/").strip('"')
    if not cleaned.isdigit():
        abort(
            422,
            message="If-Match must name the version you read, such as 3",
            errors={"headers": {"If-Match": ["must be a version number"]}},
        )
    return int(cleaned)


def _is_public(path: str) -> bool:
    return not path.startswith("/api/") or path.startswith(PUBLIC_PATHS)


def _authenticate() -> None:
    if _is_public(request.path):
        return
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        abort(
            401,
            message="sign in: send 'Authorization: Bearer <token>'",
            headers={"WWW-Authenticate": 'Bearer realm="qa-log"'},
        )
    svc = service()
    forwarded = ", ".join(request.headers.getlist("X-Forwarded-For"))
    client = client_address(request.remote_addr, forwarded, svc.settings.trusted_proxies)
    try:
        g.user = svc.accounts.authenticate(token.strip(), client)
    except TooManyFailures as limited:
        abort(429, message=str(limited), headers={"Retry-After": str(limited.wait)})
    except TokenRefused as refused:
        why = "expired" if isinstance(refused, TokenExpired) else "not known or revoked"
        challenge = f'Bearer realm="qa-log", error="invalid_token", error_description="{why}"'
        abort(401, message=str(refused), headers={"WWW-Authenticate": challenge})


def _check_body() -> None:
    if (
        request.method not in WRITE_METHODS
        or _is_public(request.path)
        or request.routing_exception is not None  # 404 or 405 comes first
    ):
        return
    if request.args:
        names = ", ".join(sorted(request.args))
        abort(
            422,
            message=f"a write takes no query parameters; send them in the body: {names}",
            errors={"query": {name: ["is not a parameter of a write"] for name in request.args}},
        )
    body = _read_body()
    if not request.is_json:
        abort(415, message="send the body as JSON, with 'Content-Type: application/json'")
    try:
        document = request.get_json(silent=True)
    except RecursionError:
        abort(422, message=f"the JSON is nested more than {MAX_JSON_DEPTH} levels deep")
    if document is None and body.strip() != b"null":
        abort(415, message="the body is not valid JSON")
    if _depth(document) > MAX_JSON_DEPTH:
        abort(422, message=f"the JSON is nested more than {MAX_JSON_DEPTH} levels deep")


def _read_body() -> bytes:
    """The whole body, or 413 past the limit, also for a chunked body with no length
    (werkzeug stops reading such a body at the limit without saying so)."""
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    body = request.get_data(cache=True)  # raises 413 past a declared Content-Length
    if (
        request.content_length is None
        and len(body) >= limit
        and (len(body) > limit or request.stream.read(1))
    ):
        raise RequestEntityTooLarge()
    return body


def _depth(document: Any) -> int:
    """How deeply lists and objects nest (iteratively: a hostile document cannot recurse)."""
    deepest = 0
    stack = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            deepest = max(deepest, depth)
            if depth > MAX_JSON_DEPTH:
                break
            children = value.values() if isinstance(value, dict) else value
            stack.extend((child, depth + 1) for child in children)
    return deepest


def _replay_or_claim() -> Response | None:
    key = request.headers.get("Idempotency-Key")
    if (
        request.method != "POST"
        or key is None
        or _is_public(request.path)
        or request.routing_exception is not None
    ):
        return None
    key = key.strip()
    if not key or len(key) > 200 or not all(" " <= ch <= "~" for ch in key):
        message = "must be 1 to 200 printable ASCII characters"
        abort(
            422,
            message=f"Idempotency-Key {message}",
            errors={"headers": {"Idempotency-Key": [message]}},
        )
    fingerprint = hashlib.sha256(
        request.method.encode() + b" " + request.path.encode() + b"\n" + request.get_data()
    ).hexdigest()
    try:
        stored = service().idempotency.claim(g.user.name, key, fingerprint)
    except IdempotencyKeyReused as error:
        abort(
            422,
            message=str(error),
            errors={"headers": {"Idempotency-Key": [str(error)]}},
        )
    except IdempotencyKeyInUse as error:
        abort(409, message=str(error))
    if stored is not None:
        response = Response(stored.body, status=stored.status_code, headers=stored.headers)
        response.headers["Idempotent-Replayed"] = "true"
        return response
    g.idempotency_key = key
    return None


def _remember(response: Response) -> Response:
    key = g.pop("idempotency_key", None)
    if key is None:
        return response
    if response.status_code >= 500:
        service().idempotency.release(g.user.name, key)
        return response
    headers = {
        k: v for k, v in response.headers.items() if k in ("Content-Type", "Location", "ETag")
    }
    service().idempotency.complete(
        g.user.name,
        key,
        StoredResponse(response.status_code, headers, response.get_data()),
    )
    return response


def _release_on_crash(error: BaseException | None) -> None:
    key = g.pop("idempotency_key", None)
    if key is not None and error is not None:
        service().idempotency.release(g.user.name, key)


def error(
    code: int,
    message: str,
    errors: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Any:
    """The one shape of every error: ``code``, ``status``, ``message`` and maybe ``errors``."""
    payload: dict[str, Any] = {"code": code, "status": HTTP_STATUS_CODES.get(code, "Error")}
    payload["message"] = message
    if errors:
        payload["errors"] = errors
    return jsonify(payload), code, headers or {}


def http_error(e: HTTPException) -> Any:
    """An HTTP error in the API's one JSON shape."""
    data = getattr(e, "data", None) or {}
    errors = data.get("errors") or data.get("messages")
    if errors:
        errors = {location: flatten(fields) for location, fields in errors.items()}
    message = data.get("message")
    if message is None and errors:
        message = "the request is not valid: " + "; ".join(
            f"{field}: {' '.join(messages)}"
            for fields in errors.values()
            for field, messages in fields.items()
        )
    code = e.code or 500
    headers = dict(data.get("headers") or {})
    if code == 405:
        headers.update(e.get_headers())  # Allow: the methods this path takes
        headers.pop("Content-Type", None)
    return error(code, message or e.description or "", errors, headers)


def _where(e: BaseException) -> str:
    """The exception's type and where it was raised, never its message: messages carry
    request text and SQL parameters, which may be a child's personal data."""
    frames = "".join(traceback.format_tb(e.__traceback__))
    return f"{frames}{type(e).__module__}.{type(e).__qualname__} (message withheld)"


def install(app: Flask) -> None:
    """Wire the request pipeline and the domain-to-HTTP error mapping into ``app``."""
    app.before_request(_authenticate)
    app.before_request(_check_body)
    app.before_request(_replay_or_claim)
    app.after_request(_remember)
    app.teardown_request(_release_on_crash)

    app.register_error_handler(HTTPException, http_error)

    app.register_error_handler(
        InvalidInput,
        lambda e: error(422, "the request breaks a rule: " + str(e), {"json": e.errors}),
    )
    app.register_error_handler(
        BadQuery,
        lambda e: error(422, "the request is not valid: " + str(e), {"query": e.errors}),
    )
    app.register_error_handler(
        ReadModelStopped, lambda e: error(503, str(e), headers={"Retry-After": "60"})
    )
    app.register_error_handler(Refused, lambda e: error(409, str(e)))
    app.register_error_handler(StaleVersion, lambda e: error(409, str(e)))
    app.register_error_handler(NotFound, lambda e: error(404, str(e)))
    app.register_error_handler(Forbidden, lambda e: error(403, str(e)))

    def unexpected(e: Exception) -> Any:
        if isinstance(e, HTTPException):
            return http_error(e)
        logger.error("unhandled error on %s %s\n%s", request.method, request.url_rule, _where(e))
        return error(500, InternalServerError.description)

    app.register_error_handler(Exception, unexpected)
