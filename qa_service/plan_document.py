"""Reading a whole-plan document (JSON), as the import endpoint and command take it."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

from marshmallow import ValidationError

from events import InvalidInput
from qa_service.schemas.common import flatten
from qa_service.schemas.plans import PlanDocument

BUNDLED_2016_PLAN = "plan_2016.json"


def read_plan_document(source: str | Path | dict[str, Any]) -> dict[str, Any]:
    """Check a plan document against the import schema; errors name each path."""
    if isinstance(source, dict):
        raw = source
    else:
        try:
            raw = json.loads(Path(source).read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            raise InvalidInput({"_file": [f"not valid JSON: {error}"]}) from None
    try:
        document: dict[str, Any] = PlanDocument().load(raw)
    except ValidationError as error:
        raise InvalidInput(flatten(error.messages)) from None
    return document


def bundled_2016_plan() -> dict[str, Any]:
    """The Early Help, Protection and Looked After Children improvement plan, February 2016."""
    text = resources.files("qa_service.data").joinpath(BUNDLED_2016_PLAN).read_text("utf-8")
    return read_plan_document(json.loads(text))
