"""The audit register: every case audit as of any date, and its grade distributions."""

from __future__ import annotations

from collections import Counter, defaultdict
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
    func,
    select,
)
from sqlalchemy.types import Uuid

from events import CaseAudit
from events.rules import GOOD_OR_BETTER, GRADES
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
audit_facts = facts_table("audit_facts", metadata)
audit_versions = Table(
    "audit_versions",
    metadata,
    *temporal_columns(),
    Column("case_ref", String(40), nullable=False),
    Column("service_area", String(40), nullable=False),
    Column("audit_type", String(20), nullable=False),
    Column("theme", String(200)),
    Column("learning_week_id", Uuid),
    Column("audited_on", Date, nullable=False),
    Column("judgements", JSON, nullable=False),
    Column("auditor_grade", String(30), nullable=False),
    Column("grade", String(30), nullable=False),
    Column("moderation", JSON(none_as_null=True)),
    Column("strengths", JSON, nullable=False),
    Column("improvements", JSON, nullable=False),
    Column("auditor", String(100), nullable=False),
    Column("first_recorded_us", BigInteger, nullable=False),
    Column("late", Boolean, nullable=False),
    Column("corrections", Integer, nullable=False),
    Column("withdrawn", JSON(none_as_null=True)),
    *temporal_indexes("audit_versions"),
    Index("ix_audit_versions_week", "learning_week_id", "recorded_to", "valid_from"),
)

STATE = (
    "case_ref", "service_area", "audit_type", "theme", "learning_week_id", "audited_on",
    "judgements", "auditor_grade", "grade", "moderation", "strengths", "improvements",
    "auditor", "first_recorded_us", "late", "corrections", "withdrawn",
)  # fmt: skip

BASE_FIELDS = (
    "case_ref", "service_area", "audit_type", "theme", "audited_on", "judgements",
    "overall_grade", "strengths", "improvements",
)  # fmt: skip


def fold(facts: Sequence[Fact]) -> list[tuple[date, dict[str, Any]]]:
    """Corrections apply from the start (they fix the record); moderation and withdrawal
    take effect on their own dates."""
    by_position = sorted(facts, key=lambda f: f.position)
    recorded = next((f for f in by_position if f.kind == "Recorded"), None)
    if recorded is None:
        return []
    base: dict[str, Any] = {name: recorded.payload.get(name) for name in BASE_FIELDS}
    corrections = 0
    for fact in by_position:
        if fact.kind == "Corrected":
            base.update(fact.payload["changes"])
            corrections += 1
    start = date.fromisoformat(base["audited_on"])
    state: dict[str, Any] = {
        "case_ref": base["case_ref"],
        "service_area": base["service_area"],
        "audit_type": base["audit_type"],
        "theme": base["theme"],
        "learning_week_id": (
            UUID(recorded.payload["learning_week_id"])
            if recorded.payload.get("learning_week_id")
            else None
        ),
        "audited_on": start,
        "judgements": base["judgements"] or {},
        "auditor_grade": base["overall_grade"],
        "grade": base["overall_grade"],
        "moderation": None,
        "strengths": base["strengths"] or [],
        "improvements": base["improvements"] or [],
        "auditor": recorded.payload["actor"],
        "first_recorded_us": recorded.recorded_us,
        "late": recorded.payload["late"],
        "corrections": corrections,
        "withdrawn": None,
    }
    changes = [(start, state)]
    dated = [f for f in facts if f.kind in ("Moderated", "Withdrawn")]
    for fact in sorted(dated, key=lambda f: (f.effective_on, f.position)):
        p = fact.payload
        if fact.kind == "Moderated":
            moderation = {
                "grade": p["grade"],
                "rationale": p["rationale"],
                "effective_on": p["effective_on"],
                "moderator": p["actor"],
                "late": p["late"],
            }
            state = {**state, "grade": p["grade"], "moderation": moderation}
        else:
            withdrawal = {
                "reason": p["reason"],
                "effective_on": p["effective_on"],
                "by": p["actor"],
            }
            state = {**state, "withdrawn": withdrawal}
        changes.append((max(fact.effective_on or start, start), state))
    return changes


class AuditsProjection(TimelineProjection):
    name = "audits"
    metadata = metadata
    versions = audit_versions
    facts = audit_facts
    state = STATE
    fold = staticmethod(fold)

    @singledispatchmethod
    def handle(self, event: Any, conn: Connection, position: int) -> None:
        """Events this read model does not need are skipped (and still tracked)."""

    @handle.register
    def _(self, event: CaseAudit.Recorded, conn: Connection, position: int) -> None:
        fields = {name: getattr(event, name) for name in BASE_FIELDS}
        self.add_fact(
            event, conn, position, event.audited_on,
            learning_week_id=event.learning_week_id, **fields,
        )  # fmt: skip

    @handle.register
    def _(self, event: CaseAudit.Corrected, conn: Connection, position: int) -> None:
        self.add_fact(event, conn, position, None, changes=event.changes, reason=event.reason)

    @handle.register
    def _(self, event: CaseAudit.Moderated, conn: Connection, position: int) -> None:
        self.add_fact(
            event, conn, position, event.effective_on, grade=event.grade,
            rationale=event.rationale, effective_on=event.effective_on,
        )  # fmt: skip

    @handle.register
    def _(self, event: CaseAudit.Withdrawn, conn: Connection, position: int) -> None:
        self.add_fact(
            event, conn, position, event.effective_on, reason=event.reason,
            effective_on=event.effective_on,
        )  # fmt: skip

    @handle.register
    def _(self, event: CaseAudit.ActionAttached, conn: Connection, position: int) -> None:
        self.add_fact(event, conn, position, None, action_id=event.action_id)


# Queries.

COLUMNS = [audit_versions.c.entity_id.label("id"), *(audit_versions.c[n] for n in STATE)]


def get_audit(
    conn: Connection, audit_id: UUID, as_of: date, known_at_us: int
) -> dict[str, Any] | None:
    row = conn.execute(
        select(*COLUMNS).where(
            audit_versions.c.entity_id == audit_id,
            as_of_clause(audit_versions, as_of, known_at_us),
        )
    ).first()
    if row is None:
        return None
    return {
        **row._mapping,
        "version": known_version(conn, audit_facts, audit_id, known_at_us),
    }


def audit_filters(
    as_of: date,
    known_at_us: int,
    *,
    service_area: str | None = None,
    grade: str | None = None,
    audit_type: str | None = None,
    theme: str | None = None,
    learning_week_id: UUID | None = None,
    audited_from: date | None = None,
    audited_to: date | None = None,
    include_withdrawn: bool = False,
) -> list[Any]:
    v = audit_versions.c
    where = [as_of_clause(audit_versions, as_of, known_at_us)]
    for column, value in (
        (v.service_area, service_area),
        (v.grade, grade),
        (v.audit_type, audit_type),
        (v.theme, theme),
        (v.learning_week_id, learning_week_id),
    ):
        if value is not None:
            where.append(column == value)
    if audited_from is not None:
        where.append(v.audited_on >= audited_from)
    if audited_to is not None:
        where.append(v.audited_on <= audited_to)
    if not include_withdrawn:
        where.append(v.withdrawn.is_(None))
    return where


def audits_where(
    conn: Connection, where: list[Any], *, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    total = conn.execute(select(func.count()).select_from(audit_versions).where(*where)).scalar()
    rows = conn.execute(
        select(*COLUMNS)
        .where(*where)
        .order_by(audit_versions.c.audited_on.desc(), audit_versions.c.entity_id)
        .limit(limit)
        .offset(offset)
    )
    return [dict(r._mapping) for r in rows], int(total or 0)


def _month(conn: Connection, column: Any) -> Any:
    if conn.dialect.name == "sqlite":
        return func.strftime("%Y-%m", column)
    return func.to_char(column, "YYYY-MM")


def distribution(conn: Connection, where: list[Any]) -> dict[str, Any]:
    """Grade counts and shares overall and by month, quarter, service area and audit
    type, using the moderated grade; and how often moderators agreed with auditors.

    The database groups the audits; only the groups come back (a moderated audit's
    ``grade`` is the moderator's, so agreement is ``grade = auditor_grade``)."""
    v = audit_versions.c
    month = _month(conn, v.audited_on).label("month")
    moderated_ = v.moderation.is_not(None).label("moderated")
    agreed_ = (v.grade == v.auditor_grade).label("agreed")
    rows = conn.execute(
        select(month, v.service_area, v.audit_type, v.grade, moderated_, agreed_, func.count())
        .where(*where)
        .group_by(month, v.service_area, v.audit_type, v.grade, moderated_, agreed_)
    ).all()
    groups: dict[str, dict[str, Counter[str]]] = defaultdict(lambda: defaultdict(Counter))
    overall: Counter[str] = Counter()
    moderated = agreed = 0
    for month_key, service_area, audit_type, grade, was_moderated, same, n in rows:
        year, month_number = int(month_key[:4]), int(month_key[5:7])
        overall[grade] += n
        groups["month"][month_key][grade] += n
        groups["quarter"][f"{year}-Q{(month_number - 1) // 3 + 1}"][grade] += n
        groups["service_area"][service_area][grade] += n
        groups["audit_type"][audit_type][grade] += n
        if was_moderated:
            moderated += n
            agreed += n if same else 0
    return {
        "overall": grade_counts(overall),
        **{
            by: [{"key": key, **grade_counts(counts)} for key, counts in sorted(groups[by].items())]
            for by in ("month", "quarter", "service_area", "audit_type")
        },
        "moderation": {
            "moderated": moderated,
            "agreed": agreed,
            "agreement_rate": round(agreed / moderated, 3) if moderated else None,
        },
    }


def grade_counts(counts: Counter[str]) -> dict[str, Any]:
    total = sum(counts.values())
    good = sum(counts[g] for g in GOOD_OR_BETTER)
    return {
        "total": total,
        "counts": {g: counts[g] for g in GRADES},
        "shares": {g: round(counts[g] / total, 3) if total else None for g in GRADES},
        "good_or_better": round(good / total, 3) if total else None,
    }
