"""The action register: every plan and audit action, as of any date, as known at any time."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from functools import singledispatchmethod
from typing import Any
from uuid import UUID

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Connection,
    Date,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    case,
    func,
    not_,
    select,
)
from sqlalchemy.types import Uuid

from events import Action
from events.rules import CLOSED_STATUSES
from projections.audits import audit_versions
from projections.base import TimelineProjection
from projections.temporal import (
    Fact,
    as_of_clause,
    facts_table,
    known_version,
    temporal_columns,
    temporal_indexes,
)

metadata = MetaData()
action_facts = facts_table("action_facts", metadata)
action_versions = Table(
    "action_versions",
    metadata,
    *temporal_columns(),
    Column("origin", String(10), nullable=False),
    Column("plan_id", Uuid),
    Column("recommendation", Integer),
    Column("audit_id", Uuid),
    Column("case_ref", String(40)),
    Column("description", String, nullable=False),
    Column("owners", JSON, nullable=False),
    Column("owners_key", String, nullable=False),  # '"PK""SK"', for the owner filter
    Column("due_on", Date),
    Column("status", String(20), nullable=False),
    Column("status_since", Date, nullable=False),
    Column("status_reason", String),
    Column("status_late", Boolean, nullable=False),
    Column("raised_on", Date, nullable=False),
    Column("raised_by", String(100), nullable=False),
    Column("raised_position", BigInteger, nullable=False),  # orders actions as raised
    *temporal_indexes("action_versions"),
    Index("ix_action_versions_plan", "plan_id", "recorded_to", "valid_from"),
    Index("ix_action_versions_audit", "audit_id", "recorded_to", "valid_from"),
)

STATE = (
    "origin", "plan_id", "recommendation", "audit_id", "case_ref", "description", "owners",
    "owners_key", "due_on", "status", "status_since", "status_reason", "status_late",
    "raised_on", "raised_by", "raised_position",
)  # fmt: skip


def owners_key(owners: Sequence[str]) -> str:
    """Each owner as a JSON string, side by side: a whole owner is found by exact search."""
    return "".join(json.dumps(owner) for owner in owners)


def _contains(conn: Connection, column: Any, needle: str) -> Any:
    """An exact, case-sensitive substring test (LIKE is neither on SQLite)."""
    if conn.dialect.name == "sqlite":
        return func.instr(column, needle) > 0
    return func.strpos(column, needle) > 0


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _uuid(value: str | None) -> UUID | None:
    return UUID(value) if value else None


def fold(facts: Sequence[Fact]) -> list[tuple[date, dict[str, Any]]]:
    """An action's state from each effective date on, from its facts."""
    changes: list[tuple[date, dict[str, Any]]] = []
    state: dict[str, Any] | None = None
    for fact in sorted(facts, key=lambda f: (f.effective_on or date.min, f.position)):
        p = fact.payload
        if fact.kind == "Raised":
            state = {
                "origin": p["origin"],
                "plan_id": _uuid(p["plan_id"]),
                "recommendation": p["recommendation"],
                "audit_id": _uuid(p["audit_id"]),
                "case_ref": p["case_ref"],
                "description": p["description"],
                "owners": list(p["owners"]),
                "owners_key": owners_key(p["owners"]),
                "due_on": _day(p["due_on"]),
                "status": "not_started",
                "status_since": fact.effective_on,
                "status_reason": None,
                "status_late": False,
                "raised_on": fact.effective_on,
                "raised_by": p["actor"],
                "raised_position": fact.position,
            }
        elif state is None:
            continue
        elif fact.kind == "StatusChanged":
            state = {
                **state,
                "status": p["status"],
                "status_since": fact.effective_on,
                "status_reason": p["reason"],
                "status_late": p["late"],
            }
        elif fact.kind == "Rescheduled":
            state = {**state, "due_on": _day(p["due_on"])}
        elif fact.kind == "Reassigned":
            state = {
                **state,
                "owners": list(p["owners"]),
                "owners_key": owners_key(p["owners"]),
            }
        else:
            continue
        assert fact.effective_on is not None
        changes.append((fact.effective_on, state))
    return changes


class ActionsProjection(TimelineProjection):
    name = "actions"
    metadata = metadata
    versions = action_versions
    facts = action_facts
    state = STATE
    fold = staticmethod(fold)

    @singledispatchmethod
    def handle(self, event: Any, conn: Connection, position: int) -> None:
        """Events this read model does not need are skipped (and still tracked)."""

    @handle.register
    def _(self, event: Action.Raised, conn: Connection, position: int) -> None:
        self.add_fact(
            event, conn, position, event.effective_on, origin=event.origin, plan_id=event.plan_id,
            recommendation=event.recommendation, audit_id=event.audit_id,
            case_ref=event.case_ref, description=event.description, owners=event.owners,
            due_on=event.due_on,
        )  # fmt: skip

    @handle.register
    def _(self, event: Action.StatusChanged, conn: Connection, position: int) -> None:
        self.add_fact(
            event, conn, position, event.effective_on, status=event.status, reason=event.reason
        )

    @handle.register
    def _(self, event: Action.Rescheduled, conn: Connection, position: int) -> None:
        self.add_fact(
            event, conn, position, event.effective_on, due_on=event.due_on, reason=event.reason
        )

    @handle.register
    def _(self, event: Action.Reassigned, conn: Connection, position: int) -> None:
        self.add_fact(
            event, conn, position, event.effective_on, owners=event.owners, reason=event.reason
        )


# Queries.


def overdue_clause(as_of: date) -> Any:
    v = action_versions.c
    return and_(v.due_on.is_not(None), v.due_on < as_of, v.status.not_in(CLOSED_STATUSES))


def case_ref_as_known(known_at_us: int) -> Any:
    """An audit action's case reference is its audit's, as known at ``known_at``.

    A correction of the audit's ``case_ref`` fixes the record from its start, so every
    row the audit register knew at one time carries the same one; an action shows that,
    and an answer as known before the correction still shows the old one. (The action's
    own row keeps the reference it was raised with, as its ``Raised`` event says.)"""
    a = audit_versions.c
    audits_then = (
        select(func.max(a.case_ref))
        .where(
            a.entity_id == action_versions.c.audit_id,
            a.recorded_from <= known_at_us,
            a.recorded_to > known_at_us,
        )
        .scalar_subquery()
    )
    return func.coalesce(audits_then, action_versions.c.case_ref).label("case_ref")


def original_due_on() -> Any:
    """The due date the action was raised with (its ``Raised`` fact's), whatever it has
    been moved to since: the tracker shows both when they differ."""
    f = action_facts.c
    return (
        select(f.payload["due_on"].as_string())
        .where(f.entity_id == action_versions.c.entity_id, f.kind == "Raised")
        .scalar_subquery()
        .label("original_due_on")
    )


def _columns(as_of: date, known_at_us: int) -> list[Any]:
    v = action_versions.c
    return [
        v.entity_id.label("id"),
        *(
            case_ref_as_known(known_at_us) if name == "case_ref" else getattr(v, name)
            for name in STATE
            if name not in ("owners_key", "raised_position")
        ),
        original_due_on(),
        overdue_clause(as_of).label("overdue"),
    ]


def _row(row: Any) -> dict[str, Any]:
    out = dict(row._mapping)
    out["overdue"] = bool(out["overdue"])
    out["original_due_on"] = _day(out["original_due_on"])
    return out


def get_action(
    conn: Connection, action_id: UUID, as_of: date, known_at_us: int
) -> dict[str, Any] | None:
    row = conn.execute(
        select(*_columns(as_of, known_at_us)).where(
            action_versions.c.entity_id == action_id,
            as_of_clause(action_versions, as_of, known_at_us),
        )
    ).first()
    if row is None:
        return None
    return {**_row(row), "version": known_version(conn, action_facts, action_id, known_at_us)}


def actions_where(
    conn: Connection,
    as_of: date,
    known_at_us: int,
    *,
    owner: str | None = None,
    status: str | None = None,
    overdue: bool | None = None,
    origin: str | None = None,
    plan_id: UUID | None = None,
    recommendation: int | None = None,
    audit_id: UUID | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """The register: actions matching every filter given, and how many match in all."""
    v = action_versions.c
    where = [as_of_clause(action_versions, as_of, known_at_us)]
    if owner is not None:
        where.append(_contains(conn, v.owners_key, json.dumps(owner)))
    if status is not None:
        where.append(v.status == status)
    if overdue is not None:
        where.append(overdue_clause(as_of) if overdue else not_(overdue_clause(as_of)))
    if origin is not None:
        where.append(v.origin == origin)
    if plan_id is not None:
        where.append(v.plan_id == plan_id)
    if recommendation is not None:
        where.append(v.recommendation == recommendation)
    if audit_id is not None:
        where.append(v.audit_id == audit_id)
    total = conn.execute(select(func.count()).select_from(action_versions).where(*where)).scalar()
    query = (
        select(*_columns(as_of, known_at_us))
        .where(*where)
        .order_by(v.raised_position)
        .offset(offset)
    )
    if limit is not None:
        query = query.limit(limit)
    return [_row(r) for r in conn.execute(query)], int(total or 0)


def owner_names(conn: Connection) -> set[str]:
    """Every owner any action has had, as known now (for telling a misspelt owner filter
    from one that matches nothing on the day asked about)."""
    decoder = json.JSONDecoder()
    names: set[str] = set()
    for (key,) in conn.execute(select(action_versions.c.owners_key).distinct()):
        at = 0
        while at < len(key):
            name, at = decoder.raw_decode(key, at)
            names.add(name)
    return names


def due_date_history(
    conn: Connection, action_ids: Sequence[UUID], as_of: date, known_at_us: int
) -> dict[UUID, list[dict[str, Any]]]:
    """Every move of each action's due date that took effect by ``as_of``, as recorded by
    ``known_at``, oldest first: from which date to which, on what day, why and by whom.
    An action never moved has an empty list."""
    f = action_facts.c
    rows = conn.execute(
        select(f.entity_id, f.kind, f.effective_on, f.recorded_us, f.payload)
        .where(
            f.entity_id.in_(list(action_ids)),
            f.kind.in_(("Raised", "Rescheduled")),
            f.recorded_us <= known_at_us,
        )
        .order_by(f.entity_id, f.effective_on, f.position)
    ).all()
    history: dict[UUID, list[dict[str, Any]]] = {action_id: [] for action_id in action_ids}
    due: dict[UUID, date | None] = {}
    for entity_id, kind, effective_on, recorded_us, payload in rows:
        if kind == "Raised":
            due[entity_id] = _day(payload["due_on"])
            continue
        if effective_on > as_of:
            continue
        to = _day(payload["due_on"])
        history[entity_id].append(
            {
                "effective_on": effective_on,
                "from": due.get(entity_id),
                "to": to,
                "reason": payload.get("reason"),
                "recorded_by": payload["actor"],
                "recorded_us": recorded_us,
            }
        )
        due[entity_id] = to
    return history


def audit_action_figures(
    conn: Connection, raised_from: date, raised_to: date, as_of: date, known_at_us: int
) -> dict[str, int]:
    """Audit actions raised between two days (inclusive), as they stood on ``as_of``: how
    many were raised, completed (by their due date, or after it), cancelled, still open,
    and overdue. The database counts them; one row comes back."""
    v = action_versions.c
    completed = v.status == "completed"
    on_time = and_(completed, v.due_on.is_not(None), v.status_since <= v.due_on)

    def count(condition: Any) -> Any:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    row = conn.execute(
        select(
            func.count(),
            count(completed),
            count(on_time),
            count(v.status == "cancelled"),
            count(v.status.not_in(CLOSED_STATUSES)),
            count(overdue_clause(as_of)),
        ).where(
            as_of_clause(action_versions, as_of, known_at_us),
            v.origin == "audit",
            v.raised_on >= raised_from,
            v.raised_on <= raised_to,
        )
    ).one()
    raised, done, in_time, cancelled, still_open, overdue = (int(n) for n in row)
    return {
        "raised": raised,
        "completed": done,
        "completed_on_time": in_time,
        "completed_late": done - in_time,
        "cancelled": cancelled,
        "open": still_open,
        "overdue": overdue,
    }
