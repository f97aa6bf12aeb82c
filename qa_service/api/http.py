"""What every request goes through: authentication, body checks, idempotency, errors."""

from __future__ import annotations

import functools
import hashlib
import logging
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, current_app, g, jsonify, request
from flask_smorest import abort
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.http import HTTP_STATUS_CODES

from events import InvalidInput, Refused
from qa_service.accounts import (
    IdempotencyKeyInUse,
    IdempotencyKeyReused,
    StoredResponse,
)
from qa_service.api.schemas import flatten
from qa_service.application import Actor, Forbidden, NotFound, StaleVersion
from qa_service.service import Service

log = logging.getLogger(__name__)

PUBLIC_PATHS = ("/api/openapi.json", "/api/docs", "/api/health")
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


def service() -> Service:
    return current_app.extensions["qa_service"]


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
                    message=f"a {g.user.role} may not do this; it needs the role "
                    f"{' or '.join(allowed)}",
                )
            return view(*args, **kwargs)

        wrapper._qa_roles = allowed  # type: ignore[attr-defined]
        return wrapper

    return decorate


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
    user = service().accounts.authenticate(token.strip())
    if user is None:
        abort(
            401,
            message="the token is not known or was revoked",
            headers={"WWW-Authenticate": 'Bearer realm="qa-log", error="invalid_token"'},
        )
    g.user = user


def _check_body() -> None:
    if (
        request.method not in WRITE_METHODS
        or _is_public(request.path)
        or request.routing_exception is not None  # 404 or 405 comes first
    ):
        return
    body = request.get_data(cache=True)  # raises 413 past MAX_CONTENT_LENGTH
    if not request.is_json:
        abort(415, message="send the body as JSON, with 'Content-Type: application/json'")
    if request.get_json(silent=True) is None and body.strip() != b"null":
        abort(415, message="the body is not valid JSON")


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
    if not key or len(key) > 200:
        abort(
            422,
            message="Idempotency-Key must be 1 to 200 characters",
            errors={"headers": {"Idempotency-Key": ["must be 1 to 200 characters"]}},
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


def _http_error(e: HTTPException) -> Any:
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
    return error(code, message or e.description or "", errors, data.get("headers"))


def install(app: Flask) -> None:
    """Wire the request pipeline and the domain-to-HTTP error mapping into ``app``."""
    app.before_request(_authenticate)
    app.before_request(_check_body)
    app.before_request(_replay_or_claim)
    app.after_request(_remember)
    app.teardown_request(_release_on_crash)

    app.register_error_handler(HTTPException, _http_error)

    app.register_error_handler(
        InvalidInput,
        lambda e: error(422, "the request breaks a rule: " + str(e), {"json": e.errors}),
    )
    app.register_error_handler(Refused, lambda e: error(409, str(e)))
    app.register_error_handler(StaleVersion, lambda e: error(409, str(e)))
    app.register_error_handler(NotFound, lambda e: error(404, str(e)))
    app.register_error_handler(Forbidden, lambda e: error(403, str(e)))

    def unexpected(e: Exception) -> Any:
        if isinstance(e, HTTPException):
            return _http_error(e)
        log.exception("unhandled error")
        return error(500, InternalServerError.description)

    app.register_error_handler(Exception, unexpected)
