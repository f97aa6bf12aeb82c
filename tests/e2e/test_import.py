"""A whole plan in one document: all or nothing, every error named by its path."""

from __future__ import annotations

import copy
import json

import pytest

from qa_service.plan_document import bundled_2016_plan
from tests.e2e.test_server import run


def raw_plan() -> dict:
    from importlib import resources

    text = resources.files("qa_service.data").joinpath("plan_2016.json").read_text("utf-8")
    return json.loads(text)


def events_in(service) -> int:
    return service.commands.recorder.max_notification_id() or 0


def test_the_bundled_plan_imports_whole(manager):
    r = manager.post("/api/plans/import", raw_plan())
    assert r.status_code == 201, r.json
    plan = r.json
    assert plan["published_on"] == "2016-02-01"
    assert [rec["number"] for rec in plan["recommendations"]] == list(range(1, 10))
    assert [len(rec["actions"]) for rec in plan["recommendations"]] == [7, 6, 6, 4, 8, 4, 10, 7, 9]
    assert len(plan["leads"]) == 19
    areas = {rec["area"] for rec in plan["recommendations"]}
    assert len(areas) == 3
    tbc = [a for rec in plan["recommendations"] for a in rec["actions"] if a["due_to_be_confirmed"]]
    assert len(tbc) == 4  # 'tbc with IT provider', 'tbc' and two '??'
    rec6 = plan["recommendations"][5]
    # The source says "31st April 2016"; the data file reads it as 30 April.
    assert "2016-04-30" in {a["due_on"] for a in rec6["actions"]}


def test_a_document_with_errors_is_refused_whole_and_names_each_path(manager, service):
    doc = raw_plan()
    doc["recommendations"][3]["actions"][1]["due_on"] = "2016-04-31"
    doc["recommendations"][5]["actions"][0]["owners"] = ["PK", "XX"]
    doc["leads"][2]["initials"] = "not initials"
    before = events_in(service)
    r = manager.post("/api/plans/import", doc)
    assert r.status_code == 422
    errors = r.json["errors"]["json"]
    assert errors == {"recommendations[3].actions[1].due_on": ["there is no 31 April 2016"]}
    assert "recommendations[3].actions[1].due_on: there is no 31 April 2016" in r.json["message"]
    assert events_in(service) == before

    doc["recommendations"][3]["actions"][1]["due_on"] = "2016-04-30"
    r = manager.post("/api/plans/import", doc)
    assert r.status_code == 422
    errors = r.json["errors"]["json"]
    assert "'XX' is not a key lead" in errors["recommendations[5].actions[0].owners"][0]
    assert "leads[2].initials" in errors
    assert events_in(service) == before


def test_duplicate_numbers_and_missing_fields_are_named(manager, service):
    doc = raw_plan()
    doc["recommendations"][4]["number"] = 4
    del doc["recommendations"][0]["actions"][0]["description"]
    r = manager.post("/api/plans/import", doc)
    assert r.status_code == 422
    assert r.json["errors"]["json"] == {
        "recommendations[0].actions[0].description": ["Missing data for required field."]
    }
    del doc["recommendations"][0]["actions"][0]
    r = manager.post("/api/plans/import", doc)
    assert r.json["errors"]["json"] == {
        "recommendations[4].number": ["the plan already has a recommendation 4"]
    }
    assert events_in(service) == 0 or manager.get("/api/actions").json["total"] == 0


def test_the_command_line_imports_a_file_and_reports_errors_by_path(settings, tmp_path):
    good = tmp_path / "plan.json"
    good.write_text(json.dumps(raw_plan()))
    out = run(settings, "import", str(good)).stdout
    assert "Imported the plan" in out
    bad = copy.deepcopy(raw_plan())
    bad["published_on"] = "2016-02-30"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))
    result = run(settings, "import", str(path), check=False)
    assert result.returncode != 0
    assert "published_on: there is no 30 February 2016" in result.stderr
    assert "nothing was imported" in result.stderr
    not_json = tmp_path / "notes.txt"
    not_json.write_text("Recommendation 1: review the duty team")
    result = run(settings, "import", str(not_json), check=False)
    assert "not valid JSON" in result.stderr


@pytest.mark.parametrize("field", ["title", "leads", "recommendations"])
def test_the_document_needs_its_parts(manager, field):
    doc = raw_plan()
    del doc[field]
    r = manager.post("/api/plans/import", doc)
    assert r.status_code == 422
    assert field in r.json["errors"]["json"]


def test_the_bundled_plan_reads_back_as_the_schema_loads_it():
    plan = bundled_2016_plan()
    assert plan["title"].startswith("Early Help, Protection and Looked After Children")
    assert sum(len(r["actions"]) for r in plan["recommendations"]) == 61
