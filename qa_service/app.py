"""The Flask application factory."""

from __future__ import annotations

from typing import Any

import swagger_ui_bundle
from flask import Flask, Response, send_from_directory
from flask_smorest import Api

from qa_service import pages
from qa_service.api import actions, audits, headers, health, learning_weeks, plans, trail
from qa_service.api.http import http_error, install
from qa_service.api.openapi import ErrorResponses
from qa_service.service import Service, build_service
from qa_service.settings import Settings

API_SPEC_OPTIONS: dict[str, Any] = {
    "info": {
        "description": (
            "An event-sourced audit and quality-assurance log for children's social care. "
            "Send `Authorization: Bearer <token>` (from `qa-service users add`). Every write "
            "is an immutable event; writes to an existing record accept `If-Match: <version>` "
            "and any POST accepts `Idempotency-Key`."
        )
    },
    "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    "security": [{"bearer": []}],
}


def create_app(
    settings: Settings | None = None, *, service: Service | None = None, **config: Any
) -> Flask:
    settings = settings or Settings.from_env()
    app = Flask(__name__, static_folder=None)  # the pages serve their own /static
    app.config.update(
        API_TITLE="QA log",
        API_VERSION="1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        OPENAPI_SWAGGER_UI_URL="/api/docs/static/",
        API_SPEC_OPTIONS=API_SPEC_OPTIONS,
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        JSON_SORT_KEYS=False,
    )
    app.config.update(config)

    svc = service or build_service(settings)
    app.extensions["qa_service"] = svc

    api = Api(app)
    api.DEFAULT_ERROR_RESPONSE_NAME = None  # every answer is listed (qa_service.api.openapi)
    api.spec.plugins.append(ErrorResponses())
    api.spec.plugins[-1].init_spec(api.spec)
    for module in (audits, actions, plans, learning_weeks, trail, health):
        api.register_blueprint(module.blp)
    install(app)
    headers.install(app)

    @app.get("/api/docs/static/<path:filename>")
    def swagger_static(filename: str) -> Response:
        return send_from_directory(swagger_ui_bundle.swagger_ui_path, filename)

    pages.install(app, settings, api_errors=http_error)

    return app
