"""What every resource's schemas share: the field types, the limits, the error paths
and the arguments of reads.

Strict at the edge: every string has a documented maximum length and refuses control
characters (a NUL would stop PostgreSQL, and no person means one), every date lies in
a sane range, and unknown fields and query parameters are refused, never dropped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip


# Limits, in characters.
NAME = 100  # a person's name, an owner, initials, an actor
SHORT = 200  # a theme, a job title, an area, a quarter
TITLE = 500  # a plan's or a learning week's title and source
ITEM = 5_000  # one strength, improvement, expected outcome...
TEXT = 10_000  # a reason, a rationale, a description, a comment
LIST = 100  # items in a list of texts or owners
EARLIEST = date(2000, 1, 1)
LATEST = date(2099, 12, 31)


# Recommendation numbers (a plan's and an action's).
RECOMMENDATION = (1, 999)


# C0 controls but tab and newline, DEL, C1 controls, lone surrogates, non-characters.
FORBIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
RULES = "no control characters other than tab and newline"


def printable(value: str) -> None:
    """Refuse what a store cannot hold (NUL on PostgreSQL, a lone surrogate in UTF-8) or a
    person cannot mean (other control characters), naming the first one and where."""
    found = FORBIDDEN.search(value)
    if found:
        raise ValidationError(
            f"must not contain control characters: U+{ord(found.group()):04X} at "
            f"character {found.start() + 1} (only tab and newline are allowed)"
        )


class Text(fields.String):
    """A string with a documented maximum length and no control characters."""

    def __init__(self, max_length: int, *, validate: Any = None, **kw: Any) -> None:
        checks = [validate] if callable(validate) else list(validate or [])
        metadata = dict(kw.pop("metadata", {}))
        metadata["description"] = "; ".join(
            part
            for part in (metadata.get("description"), f"at most {max_length} characters", RULES)
            if part
        )
        super().__init__(
            validate=[validate_length(max_length), printable, *checks],
            metadata=metadata,
            **kw,
        )


def validate_length(max_length: int) -> validate.Length:
    return validate.Length(max=max_length, error=f"must be at most {max_length} characters")


def _in_range(value: date) -> None:
    if not EARLIEST <= value <= LATEST:
        raise ValidationError(
            f"{value.isoformat()} is out of range: dates run from "
            f"{EARLIEST.isoformat()} to {LATEST.isoformat()}"
        )


class Day(fields.Date):
    """An ISO date (2016-04-30) from 2000 to 2099; an impossible one is named: 'there is
    no 31 April 2016'."""

    def __init__(self, **kw: Any) -> None:
        metadata = dict(kw.pop("metadata", {}))
        metadata.setdefault("description", "")
        metadata["description"] = (
            metadata["description"] + f" ({EARLIEST.isoformat()} to {LATEST.isoformat()})"
        ).strip()
        super().__init__(metadata=metadata, **kw)

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> date:
        try:
            day = super()._deserialize(value, attr, data, **kwargs)
        except ValidationError:
            if isinstance(value, str) and len(value) == 10 and value[4] == value[7] == "-":
                year, month, dd = value[:4], value[5:7], value[8:]
                if year.isdigit() and month.isdigit() and dd.isdigit():
                    if 1 <= int(month) <= 12:
                        raise ValidationError(
                            f"there is no {int(dd)} {MONTHS[int(month) - 1]} {year}"
                        ) from None
                    raise ValidationError(f"there is no month {int(month)}") from None
            raise ValidationError("not a date: write it as YYYY-MM-DD, e.g. 2016-04-30") from None
        _in_range(day)
        return day


class Moment(fields.DateTime):
    """An ISO date and time from 2000 to 2099; without a zone it is the service's local time."""

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> datetime:
        if isinstance(value, str) and (len(value) > 40 or FORBIDDEN.search(value)):
            raise ValidationError("not a date and time: write it like 2016-04-05T17:00")
        moment: datetime = super()._deserialize(value, attr, data, **kwargs)
        _in_range(moment.date())
        return moment


class Number(fields.Integer):
    """A whole number within a range (JSON numbers only, never "3")."""

    def __init__(self, low: int, high: int, **kw: Any) -> None:
        super().__init__(strict=True, validate=validate.Range(low, high), **kw)


class StoredDate(fields.Date):
    """A date that a read model may hold as an ISO string (inside a JSON column)."""

    def _serialize(
        self, value: date | str | None, attr: str | None, obj: Any, **kwargs: Any
    ) -> Any:
        if isinstance(value, str):
            return value
        return super()._serialize(value, attr, obj, **kwargs)


class Strict(Schema):
    """Unknown fields are refused (a typo must not be silently dropped), naming the
    fields that are known."""

    def handle_error(self, error: ValidationError, data: Any, *, many: bool, **kw: Any) -> None:
        if not isinstance(error.messages, dict):
            return
        known = ", ".join(
            sorted(field.data_key or name for name, field in self.load_fields.items())
        )
        for name, messages in error.messages.items():
            if messages == [self.error_messages["unknown"]] or messages == ["Unknown field."]:
                error.messages[name] = [f"is not known here; the known names are: {known}"]


def free_text(required: bool = False, **kw: Any) -> fields.String:
    return Text(TEXT, required=required, **kw)


def texts(**kw: Any) -> fields.List[str]:
    return fields.List(Text(ITEM), load_default=list, validate=validate_list(LIST), **kw)


def validate_list(most: int) -> validate.Length:
    return validate.Length(max=most, error=f"must hold at most {most} items")


def owners_field(**kw: Any) -> fields.List[str]:
    return fields.List(Text(NAME), validate=validate_list(20), **kw)


def effective_on() -> fields.Date:
    return Day(
        load_default=None,
        metadata={"description": "when it became true in the world; defaults to today"},
    )


def flatten(errors: Any, path: str = "") -> dict[str, list[str]]:
    """Nested marshmallow errors as one level of paths: ``recommendations[3].actions[1].due_on``."""
    if not isinstance(errors, dict):
        return {path or "_schema": list(errors) if isinstance(errors, list) else [str(errors)]}
    flat: dict[str, list[str]] = {}
    for key, value in errors.items():
        if isinstance(key, int) or (isinstance(key, str) and key.isdigit()):
            child = f"{path}[{key}]"
        else:
            child = f"{path}.{key}" if path else str(key)
        flat.update(flatten(value, child))
    return flat


# Reads: when, and which.


class NoArgs(Strict):
    """A read that takes no query parameters (any given is refused)."""


class AsOfArgs(Strict):
    as_of = Day(
        load_default=None,
        metadata={"description": "the state at the end of this day (default: today)"},
    )
    known_at = Moment(
        load_default=None,
        metadata={
            "description": "use only what had been recorded by this time (default: now); "
            "without a zone it is the service's local time"
        },
    )


class Page(Strict):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000))
    page_size = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


class ListArgs(AsOfArgs, Page):
    """A page of a list, as of a day and as known at a time."""


FORMATS = ("json", "csv", "xlsx")


def download_format(paged: bool = True) -> fields.String:
    """``format``: JSON (the default), or the same answer as a file to download."""
    every = (
        "every matching row in one file (page and page_size do not apply to a file and are ignored)"
        if paged
        else "the same answer as a file"
    )
    return fields.String(
        load_default="json",
        validate=validate.OneOf(FORMATS),
        metadata={
            "description": f"json (the default); csv or xlsx: {every}, named for its as_of "
            "day (and known_at time), e.g. action-tracker-2016-06-30.xlsx. An XLSX says "
            "above its table what it holds, as of when, as known at when and with which "
            "filters; a CSV is the plain table (UTF-8 with a byte-order mark, so that Excel "
            "reads it right). A cell a spreadsheet would run as a formula is made inert."
        },
    )
