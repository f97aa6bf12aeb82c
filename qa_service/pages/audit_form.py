"""The audit forms, shaped into the API's JSON bodies and back.

A form holds what the person typed, as text, so that a page sent back with an error (or
with one more action row) shows everything as it was typed. ``body()`` turns it into the
body the API takes (empty optional fields left out, one item per line for lists, owners
split at commas and line ends); the API's own schema and the domain then check it, and
:func:`place` puts each message beside the field it is about, as a sentence that starts
with the field's name.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from events.rules import JUDGEMENT_DOMAINS
from qa_service.pages.common import field_id
from qa_service.words import label

LABELS = {
    "case_ref": "Case reference",
    "service_area": "Service area",
    "audit_type": "Audit type",
    "theme": "Theme",
    "learning_week_id": "Learning week",
    "audited_on": "Audited on",
    "judgements": "Grades by practice domain",
    "overall_grade": "Overall grade",
    "strengths": "Strengths",
    "improvements": "Areas for improvement",
    "actions": "Remedial actions",
    "reason": "Reason",
    "grade": "Grade",
    "rationale": "Rationale",
    "effective_on": "Date it takes effect",
    "from": "Audited from",
    "to": "Audited to",
    "as_of": "As of",
    "known_at": "As known at",
    "page": "Page",
}
NOUNS = {"strengths": "strengths", "improvements": "areas for improvement"}
ACTION_LABELS = {"description": "Description", "owners": "Owners", "due_on": "Due date"}
SCALARS = ("case_ref", "service_area", "audit_type", "theme", "learning_week_id", "audited_on")
LISTS = ("strengths", "improvements")
MOST_ACTION_ROWS = 100  # the API takes at most 100 actions with an audit
LINE = re.compile(r"\r\n|\r|\n")
OWNER_SPLIT = re.compile(r"[,\r\n]")
# marshmallow's words for a missing required field, in the domain's words for the same rule
REQUIRED = {"Missing data for required field.": "is required"}


def lines(text: str) -> tuple[list[str], list[int]]:
    """One item per non-blank line, and the line number each came from. Only spaces and
    tabs are trimmed: anything else (a control character) reaches the schema, which names it."""
    items, numbers = [], []
    for number, line in enumerate(LINE.split(text), start=1):
        if line.strip(" \t"):
            items.append(line.strip(" \t"))
            numbers.append(number)
    return items, numbers


def owners(text: str) -> list[str]:
    return [name.strip(" \t") for name in OWNER_SPLIT.split(text) if name.strip(" \t")]


@dataclass
class Shaped:
    """A form as the API's body, with where each list item came from on the form:
    ``rows[i]`` is the action row of ``actions[i]``, ``lines[name][i]`` the line of
    ``name[i]``."""

    body: dict[str, Any]
    rows: list[int] = field(default_factory=list)
    lines: dict[str, list[int]] = field(default_factory=dict)
    form_rows: int = 0  # action rows on the form, blank ones too


@dataclass
class AuditForm:
    """The new-audit form as typed: text fields, a grade per domain, action rows."""

    values: dict[str, str] = field(default_factory=dict)
    judgements: dict[str, str] = field(default_factory=dict)
    actions: list[dict[str, str]] = field(default_factory=list)

    @classmethod
    def blank(cls) -> AuditForm:
        return cls(actions=[blank_action()])

    @classmethod
    def from_form(cls, form: Mapping[str, str]) -> AuditForm:
        values = {name: form.get(name, "") for name in (*SCALARS, "overall_grade", *LISTS)}
        judgements = {d: form.get(f"judgements-{d}", "") for d in JUDGEMENT_DOMAINS}
        try:
            count = min(int(form.get("action_rows", "0")), MOST_ACTION_ROWS)
        except ValueError:
            count = 0
        actions = [
            {name: form.get(f"actions-{i}-{name}", "") for name in ACTION_LABELS}
            for i in range(max(count, 0))
        ]
        return cls(values, judgements, actions)

    def add_action(self) -> None:
        if len(self.actions) < MOST_ACTION_ROWS:
            self.actions.append(blank_action())

    def remove_action(self, index: str) -> None:
        with contextlib.suppress(ValueError, IndexError):  # a row already gone: nothing to do
            del self.actions[int(index)]

    def shaped(self) -> Shaped:
        """The API's body for ``POST /api/audits`` (``AuditIn``)."""
        body: dict[str, Any] = {}
        for name in (*SCALARS, "overall_grade"):
            value = self.values.get(name, "")
            if value.strip(" \t"):
                body[name] = value.strip(" \t")
        judgements = {d: g for d, g in self.judgements.items() if g}
        if judgements:
            body["judgements"] = judgements
        found: dict[str, list[int]] = {}
        for name in LISTS:
            items, found[name] = lines(self.values.get(name, ""))
            if items:
                body[name] = items
        rows, actions = [], []
        for i, row in enumerate(self.actions):
            if not any(value.strip(" \t") for value in row.values()):
                continue  # a row left blank is no action
            action: dict[str, Any] = {
                "description": row["description"].strip(" \t"),
                "owners": owners(row["owners"]),
            }
            if row["due_on"].strip():
                action["due_on"] = row["due_on"].strip()
            actions.append(action)
            rows.append(i)
        if actions:
            body["actions"] = actions
        return Shaped(body, rows, found, len(self.actions))


def blank_action() -> dict[str, str]:
    return dict.fromkeys(ACTION_LABELS, "")


# The other forms: correct, withdraw, moderate.

CORRECTABLE = ("case_ref", "service_area", "audited_on", "overall_grade", *LISTS)


def correction_values(audit: Mapping[str, Any]) -> dict[str, str]:
    """The correction form filled in with what the audit says now."""
    return {
        "case_ref": audit["case_ref"],
        "service_area": audit["service_area"],
        "audited_on": _iso(audit["audited_on"]),
        "overall_grade": audit["auditor_grade"],
        "strengths": "\n".join(audit["strengths"]),
        "improvements": "\n".join(audit["improvements"]),
        "reason": "",
    }


def correction(form: Mapping[str, str], audit: Mapping[str, Any]) -> tuple[dict[str, str], Shaped]:
    """What was typed, and the API's body for ``POST .../corrections``: only the fields
    that differ from what the audit says now are changes."""
    typed = {name: form.get(name, "") for name in (*CORRECTABLE, "reason")}
    now = correction_values(audit)
    changes: dict[str, Any] = {}
    found: dict[str, list[int]] = {}
    for name in CORRECTABLE:
        if name in LISTS:
            items, numbers = lines(typed[name])
            if items != lines(now[name])[0]:
                changes[name], found[name] = items, numbers
        elif typed[name].strip(" \t") != now[name] and (typed[name] or name == "case_ref"):
            changes[name] = typed[name].strip(" \t")
    body: dict[str, Any] = {"changes": changes}
    if typed["reason"].strip():
        body["reason"] = typed["reason"]
    return typed, Shaped(body, lines=found)


def reasoned(form: Mapping[str, str], *names: str) -> tuple[dict[str, str], Shaped]:
    """A form of a few text fields (a reason; a grade and a rationale): what was typed,
    and the body with the empty ones left out."""
    typed = {name: form.get(name, "") for name in names}
    return typed, Shaped({k: v for k, v in typed.items() if v.strip()})


def _iso(value: date | str) -> str:
    return value if isinstance(value, str) else value.isoformat()


# Messages beside their fields.


@dataclass
class Placed:
    """Each message keyed by the id of the field it is about (``""``: the whole form),
    and the error summary's list, each linked to its field."""

    beside: dict[str, str]
    summary: list[dict[str, str]]

    def __bool__(self) -> bool:
        return bool(self.beside)


def place(
    errors: Mapping[str, str], shaped: Shaped, *, whole: tuple[str, ...] = (), first: str = ""
) -> Placed:
    """``errors`` (keyed by the API's paths: ``actions[0].due_on``, ``strengths[2]``,
    ``changes.case_ref``) as sentences beside the form's fields. A message about the
    whole form (``""``, ``_schema`` or a path in ``whole``) is said as it is, in the
    summary only, linked to the form's ``first`` field if given."""
    beside: dict[str, list[str]] = {}
    links: dict[str, str] = {}
    for path, message in errors.items():
        path = path.removeprefix("changes.")
        if path in ("", "_schema", *whole):
            target, link, text = "", first, capital(message.strip())
        else:
            target, subject, link = _target(path, shaped)
            text = sentence(subject, message)
        beside.setdefault(target, []).append(text)
        links.setdefault(target, link)
    joined = {target: " ".join(texts) for target, texts in beside.items()}
    summary = [
        {"text": text, **({"href": f"#{links[target]}"} if links[target] else {})}
        for target, text in joined.items()
    ]
    return Placed(joined, summary)


def capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _target(path: str, shaped: Shaped) -> tuple[str, str, str]:
    """The field id a message goes beside, the words that name the field, and the id the
    error summary links to (the first input of a group)."""
    if match := re.match(r"^actions\[(\d+)\](?:\.(\w+))?", path):
        index, name = int(match[1]), match[2]
        row = shaped.rows[index] if index < len(shaped.rows) else index
        if name in ACTION_LABELS:
            target = f"actions-{row}-{name}"
            return target, f"{ACTION_LABELS[name]} of action {row + 1}", target
        return "actions", f"Action {row + 1}", f"actions-{row}-description"
    if path == "actions":
        rows = shaped.rows or list(range(shaped.form_rows))
        first = f"actions-{rows[0]}-description" if rows else "add-action"
        return "actions", LABELS["actions"], first
    if match := re.match(r"^judgements\.(\w+)", path):
        target = f"judgements-{match[1]}"
        return target, f"{label(match[1])} grade", target
    if path == "judgements":
        target = f"judgements-{JUDGEMENT_DOMAINS[0]}"
        return target, LABELS["judgements"], target
    if match := re.match(r"^(strengths|improvements)\[(\d+)\]", path):
        name, index = match[1], int(match[2])
        numbers = shaped.lines.get(name, [])
        line = numbers[index] if index < len(numbers) else index + 1
        return name, f"Line {line} of the {NOUNS[name]}", name
    name = path.split(".")[0].split("[")[0]
    target = field_id(name)
    return target, LABELS.get(name, label(name)), target


def sentence(subject: str, message: str) -> str:
    """A message that names its field: "Case reference is required", "Due date of
    action 2: there is no 31 February 2019"."""
    message = REQUIRED.get(message, message).strip().rstrip(".")
    if message[:1].isupper() and not message[1:2].isupper():
        message = message[0].lower() + message[1:]
    if message.startswith(("is ", "must ", "are ")):
        return f"{subject} {message}"
    return f"{subject}: {message}"
