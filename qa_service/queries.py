"""Every read goes through here: defaults for ``as_of`` and ``known_at``, and a clear
404 when the thing did not exist (or was not yet known) at the time asked about.

This is where an access log of who read which case will sit.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from projections import ReadModels
from projections.temporal import NEVER, from_micros, micros
from qa_service.application import NotFound


class Queries:
    def __init__(self, reads: ReadModels, zone: ZoneInfo, today: Any):
        self.reads = reads
        self.zone = zone
        self._today = today

    def when(self, as_of: date | None, known_at: datetime | None) -> tuple[date, int]:
        """``as_of`` defaults to today; ``known_at`` to now (everything recorded so far).
        A ``known_at`` without a zone is local time (the service's zone)."""
        if known_at is None:
            known_us = NEVER - 1
        else:
            if known_at.tzinfo is None:
                known_at = known_at.replace(tzinfo=self.zone)
            known_us = micros(known_at)
        return as_of or self._today(), known_us

    @staticmethod
    def _missing(kind: str, id: UUID, as_of: date, known_at: datetime | None) -> NotFound:  # noqa: A002
        error = NotFound(kind, id)
        known = f", as known at {known_at.isoformat()}" if known_at else ""
        error.args = (f"no {kind} with id {id} on {as_of.isoformat()}{known}",)
        return error

    def audit(self, audit_id: UUID, as_of: date | None = None, known_at: datetime | None = None):  # type: ignore[no-untyped-def]
        day, known_us = self.when(as_of, known_at)
        audit = self.reads.audit(audit_id, day, known_us)
        if audit is None:
            raise self._missing("audit", audit_id, day, known_at)
        audit["recorded_at"] = from_micros(audit.pop("first_recorded_us"))
        return {**audit, "as_of": day}

    def audits(
        self,
        as_of: date | None = None,
        known_at: datetime | None = None,
        *,
        page: int = 1,
        page_size: int = 50,
        **filters: Any,
    ) -> dict[str, Any]:
        day, known_us = self.when(as_of, known_at)
        items, total, distribution = self.reads.audits(
            day, known_us, limit=page_size, offset=(page - 1) * page_size, **filters
        )
        for item in items:
            item["recorded_at"] = from_micros(item.pop("first_recorded_us"))
        return {
            "as_of": day,
            "page": page,
            "page_size": page_size,
            "total": total,
            "items": items,
            "distribution": distribution,
        }

    def action(self, action_id: UUID, as_of: date | None = None, known_at: datetime | None = None):  # type: ignore[no-untyped-def]
        day, known_us = self.when(as_of, known_at)
        action = self.reads.action(action_id, day, known_us)
        if action is None:
            raise self._missing("action", action_id, day, known_at)
        return {**action, "as_of": day}

    def actions(
        self,
        as_of: date | None = None,
        known_at: datetime | None = None,
        *,
        page: int = 1,
        page_size: int = 50,
        **filters: Any,
    ) -> dict[str, Any]:
        day, known_us = self.when(as_of, known_at)
        items, total = self.reads.actions(
            day, known_us, limit=page_size, offset=(page - 1) * page_size, **filters
        )
        return {"as_of": day, "page": page, "page_size": page_size, "total": total, "items": items}

    def plan(self, plan_id: UUID, as_of: date | None = None, known_at: datetime | None = None):  # type: ignore[no-untyped-def]
        day, known_us = self.when(as_of, known_at)
        plan = self.reads.plan(plan_id, day, known_us)
        if plan is None:
            published = self.reads.plan_published_on(plan_id, known_us)
            if published is not None:
                error = NotFound("plan", plan_id)
                error.args = (
                    f"the plan was published on {published.isoformat()}: on "
                    f"{day.isoformat()} it did not exist yet",
                )
                raise error
            raise self._missing("plan", plan_id, day, known_at)
        return plan

    def learning_week(
        self, week_id: UUID, as_of: date | None = None, known_at: datetime | None = None
    ) -> dict[str, Any]:
        day, known_us = self.when(as_of, known_at)
        week = self.reads.learning_week(week_id, day, known_us)
        if week is None:
            raise self._missing("learning week", week_id, day, known_at)
        return week
