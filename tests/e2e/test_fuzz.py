"""Schema-driven fuzzing against the app's own OpenAPI document, on both stores, as every
role: no request gets a server error, and every answer is one the document lists, in the
shape it gives.

Each operation is a test of its own, fed by schemathesis' Hypothesis strategies with data
that fits the document (positive) and data that does not (negative). Bounded so CI stays
fast: ``QA_FUZZ_EXAMPLES`` cases per operation and mode (default 6), each sent as every
role; set it higher for a longer hunt. Half the fitting cases have their path ids swapped
for ids that exist, so the fuzzing reaches past the 404s into the commands and reads.
"""

from __future__ import annotations

import os
import tempfile
import zlib

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from qa_service.app import create_app
from qa_service.settings import Settings
from tests.conftest import ROLES
from tests.e2e.builders import audit_body, make_plan, remedial_action

EXAMPLES = int(os.environ.get("QA_FUZZ_EXAMPLES", "6"))


@schemathesis.check
def negative_data_refused(ctx, response, case):  # type: ignore[no-untyped-def]
    """Data that does not fit the document is refused: a 413 for a body over the size
    limit is a refusal too (schemathesis' own check does not count it as one)."""
    if response.status_code == 413:
        return None
    return negative_data_rejection(ctx, response, case)


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def _operations() -> list[tuple[str, str]]:
    with tempfile.TemporaryDirectory() as folder:
        app = create_app(Settings(database_url=f"sqlite:///{folder}/spec.sqlite3"))
        spec = app.test_client().get("/api/openapi.json").json
        app.extensions["qa_service"].close()
    return [
        (method.upper(), path)
        for path, operations in spec["paths"].items()
        for method in operations
        if method in ("get", "post")
    ]


OPERATIONS = _operations()
TAKES_NOTHING = {("GET", "/api/health"), ("GET", "/api/trail/verify")}


@pytest.fixture
def known_ids(as_role) -> dict[str, str]:
    """A plan with actions, an inadequate audit with an action, a learning week."""
    manager, auditor = as_role("manager"), as_role("auditor")
    plan = make_plan(manager)
    audit = auditor.post(
        "/api/audits", audit_body(overall_grade="inadequate", actions=[remedial_action()])
    ).json
    week = manager.post(
        "/api/learning-weeks",
        {"title": "December 2018", "starts_on": "2018-12-03", "ends_on": "2018-12-07"},
    ).json
    return {
        "plan_id": plan["id"],
        "audit_id": audit["id"],
        "action_id": plan["recommendations"][0]["actions"][0]["id"],
        "week_id": week["id"],
    }


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize("method, path", OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_no_request_gets_a_server_error_or_an_undocumented_answer(
    app, tokens, known_ids, method, path, mode
):
    if mode is GenerationMode.NEGATIVE and (method, path) in TAKES_NOTHING:
        pytest.skip("it takes no parameters and no body: there is nothing to get wrong")
    operation = schemathesis.openapi.from_wsgi("/api/openapi.json", app)[path][method]
    checks = CHECKS + ([negative_data_refused] if mode is GenerationMode.NEGATIVE else [])

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def fuzz(case):
        swap = mode is GenerationMode.POSITIVE and zlib.crc32(repr(case.body).encode()) % 2
        if case.path_parameters and swap:
            for name in case.path_parameters:
                if name in known_ids:
                    case.path_parameters[name] = known_ids[name]
        for role in ROLES:
            case.call_and_validate(
                headers={"Authorization": f"Bearer {tokens[role]}"}, checks=checks
            )

    fuzz()
