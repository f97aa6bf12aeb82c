"""Strict at the edge: what a store cannot hold or a person cannot mean is refused with a
422 naming the field, nothing is silently misread, and no request gets a 500."""

from __future__ import annotations

import json
import logging
from datetime import date

import pytest

from tests.e2e.builders import audit_body, make_plan, remedial_action
from tests.e2e.test_errors import assert_error, events_in

CONTROL = ["\x00", "\x07", "\x1b", "\r", "\x7f", "\x85"]


def week(manager) -> str:
    r = manager.post(
        "/api/learning-weeks",
        {"title": "December 2018", "starts_on": "2018-12-03", "ends_on": "2018-12-07"},
    )
    assert r.status_code == 201, r.json
    return r.json["id"]


@pytest.mark.parametrize("char", CONTROL)
def test_a_control_character_in_free_text_is_refused_and_named(auditor, manager, service, char):
    week_id = week(manager)
    before = events_in(service)
    r = auditor.post(
        f"/api/learning-weeks/{week_id}/feedback",
        {
            "respondent": "parent",
            "satisfaction": 7,
            "knew_why_involved": True,
            "comment": f"They listened{char} to us",
        },
    )
    body = assert_error(r, 422)
    [message] = body["errors"]["json"]["comment"]
    assert f"U+{ord(char):04X} at character 14" in message
    assert "only tab and newline are allowed" in message
    assert events_in(service) == before


def test_tab_and_newline_are_kept(auditor, manager):
    week_id = week(manager)
    r = auditor.post(
        f"/api/learning-weeks/{week_id}/findings",
        {"kind": "strength", "theme": "voice", "text": "Line one\n\tLine two"},
    )
    assert r.status_code == 200, r.json
    assert r.json["findings"]["strength"][0]["text"] == "Line one\n\tLine two"


@pytest.mark.parametrize(
    "path, body, field",
    [
        ("/api/plans", {"title": "A\x00", "source": "x", "published_on": "2016-02-01"}, "title"),
        ("/api/audits", audit_body(strengths=["ok", "bad\x00"]), "strengths[1]"),
        ("/api/audits", audit_body(theme="neglect\x00", audit_type="thematic"), "theme"),
        (
            "/api/audits",
            audit_body(
                overall_grade="inadequate",
                actions=[remedial_action(owners=["TM\x00"])],
            ),
            "actions[0].owners[0]",
        ),
    ],
)
def test_nul_is_refused_in_every_kind_of_field(as_role, service, path, body, field):
    client = as_role("manager" if path == "/api/plans" else "auditor")
    before = events_in(service)
    errors = assert_error(client.post(path, body), 422)["errors"]["json"]
    assert "U+0000" in errors[field][0]
    assert events_in(service) == before


def test_a_lone_surrogate_is_refused_not_a_500(auditor, manager, service):
    week_id = week(manager)
    raw = (
        '{"respondent": "parent", "satisfaction": 7, "knew_why_involved": true, '
        '"comment": "half a pair: \\ud83d"}'
    )
    r = auditor.post(
        f"/api/learning-weeks/{week_id}/feedback",
        data=raw,
        content_type="application/json",
    )
    assert "U+D83D" in assert_error(r, 422)["errors"]["json"]["comment"][0]


def test_a_megabyte_owner_name_or_reason_is_refused_with_the_limit(manager, service):
    plan = make_plan(manager)
    action = plan["recommendations"][0]["actions"][0]
    before = events_in(service)
    r = manager.post(
        f"/api/actions/{action['id']}/owners",
        {"owners": ["P" * 1_000_000], "reason": "x"},
    )
    errors = assert_error(r, 422)["errors"]["json"]
    assert errors["owners[0]"] == ["must be at most 100 characters"]
    r = manager.post(
        f"/api/actions/{action['id']}/reschedule",
        {"due_on": "2016-05-01", "reason": "r" * 10_001},
    )
    assert assert_error(r, 422)["errors"]["json"]["reason"] == ["must be at most 10000 characters"]
    assert events_in(service) == before


def request_strings(spec: dict):
    """Every string a client can send: request-body properties (recursively) and
    parameters, with where they are."""
    schemas = spec["components"]["schemas"]
    seen: set[str] = set()

    def walk(schema: dict, where: str):
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            if name in seen:
                return
            seen.add(name)
            schema = schemas[name]
            where = name
        if schema.get("type") == "string":
            yield where, schema
        for key, prop in schema.get("properties", {}).items():
            yield from walk(prop, f"{where}.{key}")
        if "items" in schema:
            yield from walk(schema["items"], f"{where}[]")
        if isinstance(schema.get("additionalProperties"), dict):
            yield from walk(schema["additionalProperties"], f"{where}{{}}")

    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            for parameter in operation.get("parameters", []):
                if parameter["in"] != "path":
                    yield from walk(parameter["schema"], f"{method} {path} {parameter['name']}")
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if body:
                yield from walk(body["schema"], f"{method} {path}")


def test_every_string_a_client_sends_has_a_documented_bound(app):
    spec = app.test_client().get("/api/openapi.json").json
    unbounded = [
        where
        for where, schema in request_strings(spec)
        if "maxLength" not in schema
        and "enum" not in schema
        and schema.get("format") not in ("date", "date-time", "uuid")
    ]
    assert unbounded == []
    texts = [s for _, s in request_strings(spec) if "maxLength" in s and "description" in s]
    assert texts and all("no control characters" in s["description"] for s in texts)


def test_every_operation_lists_its_error_answers(app):
    spec = app.test_client().get("/api/openapi.json").json
    post = spec["paths"]["/api/actions/{action_id}/status"]["post"]["responses"]
    assert {"200", "202", "401", "403", "404", "409", "413", "415", "422"} <= set(post)
    assert "default" not in post
    read = spec["paths"]["/api/plans/{plan_id}"]["get"]["responses"]
    assert {"200", "401", "403", "404", "422", "503"} <= set(read)
    health = spec["paths"]["/api/health"]["get"]["responses"]
    assert {"200", "503"} <= set(health) and "401" not in health


# Nothing is silently misread.


@pytest.mark.parametrize(
    "query, name",
    [("ownr=PK", "ownr"), ("asof=2016-01-01", "asof"), ("as_of=2016-06-30&knownat=x", "knownat")],
)
def test_an_unknown_query_parameter_is_a_422_naming_it(manager, query, name):
    make_plan(manager)
    body = assert_error(manager.get(f"/api/actions?{query}"), 422)
    [message] = body["errors"]["query"][name]
    assert message.startswith("is not known here; the known names are: ")
    assert "as_of" in message and "owner" in message
    assert name in body["message"]


@pytest.mark.parametrize(
    "path", ["/api/trail/verify?full=1", "/api/health?verbose=1", "/api/audits?grade=good&x=1"]
)
def test_reads_without_parameters_refuse_them_too(inspector, path):
    assert_error(inspector.get(path), 422)


def test_a_write_refuses_query_parameters(manager, service):
    before = events_in(service)
    r = manager.post(
        "/api/plans?published_on=2016-02-01",
        {"title": "T", "source": "S", "published_on": "2016-02-01"},
    )
    assert assert_error(r, 422)["errors"]["query"] == {
        "published_on": ["is not a parameter of a write"]
    }
    assert events_in(service) == before


def test_a_misspelt_judgement_domain_is_refused_with_the_list(auditor, service):
    before = events_in(service)
    r = auditor.post("/api/audits", audit_body(judgements={"voice_of_the_child": "good"}))
    errors = assert_error(r, 422)["errors"]["json"]
    [message] = errors["judgements.voice_of_the_child.key"]
    assert "assessment" in message and "voice_of_child" in message
    assert events_in(service) == before


@pytest.mark.parametrize(
    "field, value",
    [("audited_on", "0001-01-01"), ("audited_on", "1999-12-31")],
)
def test_dates_have_a_sane_lower_bound(auditor, field, value):
    errors = assert_error(auditor.post("/api/audits", audit_body(**{field: value})), 422)
    assert errors["errors"]["json"][field] == [
        f"{value} is out of range: dates run from 2000-01-01 to 2099-12-31"
    ]


@pytest.mark.parametrize(
    "query", ["as_of=0001-01-01", "known_at=0001-01-01T00:00", "known_at=9999-12-31T23:59"]
)
def test_reads_refuse_dates_out_of_range(auditor, query):
    assert_error(auditor.get(f"/api/audits?{query}"), 422)


def test_audited_on_defaults_to_today(auditor, service):
    body = audit_body()
    del body["audited_on"]
    r = auditor.post("/api/audits", body)
    assert r.status_code == 201, r.json
    assert r.json["audited_on"] == service.commands.today().isoformat()
    assert r.json["late"] is False


def test_an_owner_no_action_ever_had_is_named_with_the_nearest(manager):
    make_plan(manager)
    body = assert_error(manager.get("/api/actions?owner=pk"), 422)
    [message] = body["errors"]["query"]["owner"]
    assert "no action or plan has ever had an owner or lead 'pk'" in message
    assert "did you mean PK" in message
    assert_error(manager.get("/api/actions?owner=Nobody"), 422)
    # A known owner with nothing on the day asked about is an empty answer, not an error.
    r = manager.get("/api/actions?owner=PK&as_of=2016-01-15")
    assert r.status_code == 200 and r.json["total"] == 0
    # A lead with no actions is known too.
    r = manager.get("/api/actions?owner=SK&origin=audit")
    assert r.status_code == 200 and r.json["total"] == 0


# No request gets a 500.


def test_a_history_page_past_the_end_is_empty_not_a_500(manager):
    plan = make_plan(manager)
    action = plan["recommendations"][0]["actions"][0]
    r = manager.get(f"/api/actions/{action['id']}/history?page=50")
    assert r.status_code == 200, r.json
    assert r.json["items"] == [] and r.json["total"] >= 1
    r = manager.get(f"/api/plans/{plan['id']}/history?page=999999")
    assert r.status_code == 200 and r.json["items"] == []


def test_an_entity_of_another_kind_has_no_history_here(manager):
    plan = make_plan(manager)
    assert_error(manager.get(f"/api/actions/{plan['id']}/history"), 404)


@pytest.mark.parametrize(
    "path",
    [
        "/api/audits?page=99999999999999999999",
        "/api/actions?page=9223372036854775807",
        "/api/actions?recommendation=99999999999999999999",
        "/api/trail?page_size=0",
    ],
)
def test_huge_numbers_are_422_not_overflow(manager, path):
    assert_error(manager.get(path), 422)


def test_a_huge_recommendation_number_in_a_body_is_422(manager):
    plan = make_plan(manager)
    r = manager.post(
        "/api/actions",
        {
            "plan_id": plan["id"],
            "recommendation": 2**63,
            "description": "x",
            "owners": ["PK"],
            "due_on": "2016-05-01",
        },
    )
    assert "recommendation" in assert_error(r, 422)["errors"]["json"]


@pytest.mark.parametrize("depth", [17, 1000, 100_000])
def test_deeply_nested_json_is_refused(manager, depth):
    nested = "[" * depth + "]" * depth
    raw = '{"title": ' + nested + ', "source": "s", "published_on": "2016-02-01"}'
    r = manager.post("/api/plans", data=raw, content_type="application/json")
    assert assert_error(r, 422)["message"] == "the JSON is nested more than 16 levels deep"


def test_a_405_says_which_methods_are_allowed(manager):
    r = manager.flask_client.delete(
        "/api/plans", headers={"Authorization": manager._headers(None)["Authorization"]}
    )
    assert_error(r, 405)
    assert set(r.headers["Allow"].split(", ")) >= {"GET", "POST"}


@pytest.mark.parametrize("key", ["x\x00y", "caf\u00e9", "a" * 201])
def test_an_idempotency_key_must_be_printable_ascii(manager, key):
    r = manager.post(
        "/api/plans",
        {"title": "T", "source": "S", "published_on": "2016-02-01"},
        headers={"Idempotency-Key": key},
    )
    assert "Idempotency-Key" in assert_error(r, 422)["errors"]["headers"]


def test_the_error_log_never_prints_request_text(manager, service, caplog, monkeypatch):
    secret = "Jane Smith lives at 4 Privet Drive"

    def broken(*_args, **_kwargs):
        raise RuntimeError(f"could not save {secret}")

    monkeypatch.setattr(service.commands, "create_plan", broken)
    with caplog.at_level(logging.DEBUG):
        r = manager.post(
            "/api/plans", {"title": secret, "source": "S", "published_on": "2016-02-01"}
        )
    assert_error(r, 500)
    assert secret not in r.get_data(as_text=True)
    assert "RuntimeError (message withheld)" in caplog.text
    assert secret not in caplog.text
    assert "Privet" not in json.dumps([rec.args for rec in caplog.records], default=str)


def test_sql_parameters_are_hidden_from_database_errors(service):
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    with pytest.raises(DBAPIError) as info, service.engine.connect() as conn:
        conn.execute(text("SELECT * FROM no_such_table WHERE x = :x"), {"x": "Privet Drive"})
    assert "Privet" not in str(info.value)


def test_known_at_without_a_zone_still_reads(auditor):
    today = date.today().isoformat()
    assert auditor.get(f"/api/audits?known_at={today}T12:00").status_code == 200
