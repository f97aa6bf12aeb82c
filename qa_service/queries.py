"""Every read goes through here: it opens a connection, calls the read model's own query
function, and answers with defaults for ``as_of`` and ``known_at``, one page envelope,
and a clear 404 when the thing did not exist (or was not yet known) at the time asked
about. A read from a read model that has stopped answers 503 instead of stale data.

This is where an access log of who read which case will sit.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict
from datetime import date, datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, select

from events import InvalidInput
from events.quarters import Quarter
from projections import ReadModels, actions, audits, learning_weeks, plans, trail
from projections.base import Failure, stopped_on
from projections.temporal import NEVER, from_micros, micros
from qa_service.errors import NotFound


class BadQuery(InvalidInput):
    """A query parameter that is well formed but cannot mean what was asked (422)."""


class ReadModelStopped(Exception):
    """The read model that would answer has stopped at an event it could not apply: its
    answer would be silently out of date, so there is none (503)."""

    def __init__(self, failure: Failure):
        self.failure = failure
        super().__init__(
            f"the read model '{failure.name}' stopped at event {failure.position} "
            f"({failure.reason}), so its answers would be out of date; the service's "
            "operator can see it with 'qa-service projections status'"
        )


EXPORT_LIMIT = 1_000_000  # rows in a download (an XLSX sheet holds 1,048,576)
IDS_AT_ONCE = 500  # ids in one IN (...) list


def quarter_label(key: str) -> str:
    """A stored quarter (``2016-Q2``) as councils write it (``Q1 2016/17``)."""
    return Quarter.from_key(key).financial


def page_of(
    items: list[dict[str, Any]], total: int, page: int, page_size: int, **extra: Any
) -> dict[str, Any]:
    """The one envelope of every paged answer."""
    return {**extra, "page": page, "page_size": page_size, "total": total, "items": items}


class Queries:
    def __init__(self, reads: ReadModels, zone: ZoneInfo, today: Callable[[], date]):
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
    def _working(conn: Connection, *names: str) -> None:
        stopped = stopped_on(conn)
        for name in names:
            if name in stopped:
                raise ReadModelStopped(stopped[name])

    @contextmanager
    def _reading(self, *names: str) -> Iterator[Connection]:
        """A connection to read the named read models, which must all be working (checked
        on the same connection: one checkout per read)."""
        with self.reads.engine.connect() as conn:
            self._working(conn, *names)
            yield conn

    @staticmethod
    def _missing(kind: str, id: UUID, as_of: date, known_at: datetime | None) -> NotFound:  # noqa: A002
        error = NotFound(kind, id)
        known = f", as known at {known_at.isoformat()}" if known_at else ""
        error.args = (f"no {kind} with id {id} on {as_of.isoformat()}{known}",)
        return error

    # Audits.

    def audit(
        self, audit_id: UUID, as_of: date | None = None, known_at: datetime | None = None
    ) -> dict[str, Any]:
        day, known_us = self.when(as_of, known_at)
        with self._reading("audits", "actions") as conn:
            audit = audits.get_audit(conn, audit_id, day, known_us)
            if audit is None:
                raise self._missing("audit", audit_id, day, known_at)
            audit["actions"], _ = actions.actions_where(conn, day, known_us, audit_id=audit_id)
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
        where = audits.audit_filters(day, known_us, **filters)
        with self._reading("audits") as conn:
            items, total = audits.audits_where(
                conn, where, limit=page_size, offset=(page - 1) * page_size
            )
            distribution = audits.distribution(conn, where)
        for item in items:
            item["recorded_at"] = from_micros(item.pop("first_recorded_us"))
        return page_of(items, total, page, page_size, as_of=day, distribution=distribution)

    def audit_rows(
        self, as_of: date | None = None, known_at: datetime | None = None, **filters: Any
    ) -> dict[str, Any]:
        """Every audit matching the filters (no pages), most recent first: what a download
        of the register holds."""
        day, known_us = self.when(as_of, known_at)
        where = audits.audit_filters(day, known_us, **filters)
        with self._reading("audits") as conn:
            items, total = audits.audits_where(conn, where, limit=EXPORT_LIMIT, offset=0)
        self._too_many(total)
        for item in items:
            item["recorded_at"] = from_micros(item.pop("first_recorded_us"))
        return {"as_of": day, "total": total, "items": items}

    # Actions.

    def action(
        self, action_id: UUID, as_of: date | None = None, known_at: datetime | None = None
    ) -> dict[str, Any]:
        day, known_us = self.when(as_of, known_at)
        with self._reading("actions", "audits") as conn:
            action = actions.get_action(conn, action_id, day, known_us)
            if action is None:
                raise self._missing("action", action_id, day, known_at)
            self._with_moves(conn, [action], day, known_us)
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
        with self._reading("actions", "audits") as conn:
            if filters.get("owner") is not None:
                self._check_owner(conn, filters["owner"])
            items, total = actions.actions_where(
                conn, day, known_us, limit=page_size, offset=(page - 1) * page_size, **filters
            )
        return page_of(items, total, page, page_size, as_of=day)

    def action_rows(
        self, as_of: date | None = None, known_at: datetime | None = None, **filters: Any
    ) -> dict[str, Any]:
        """Every action matching the filters (no pages), each with its due-date history:
        what a download of the tracker holds."""
        day, known_us = self.when(as_of, known_at)
        with self._reading("actions", "audits") as conn:
            if filters.get("owner") is not None:
                self._check_owner(conn, filters["owner"])
            items, total = actions.actions_where(conn, day, known_us, limit=EXPORT_LIMIT, **filters)
            self._too_many(total)
            self._with_moves(conn, items, day, known_us)
        return {"as_of": day, "total": total, "items": items}

    @staticmethod
    def _with_moves(
        conn: Connection, items: list[dict[str, Any]], day: date, known_us: int
    ) -> None:
        """Each action's due-date moves (``due_date_history``) and how many (``times_moved``)."""
        for start in range(0, len(items), IDS_AT_ONCE):
            chunk = items[start : start + IDS_AT_ONCE]
            moves = actions.due_date_history(conn, [a["id"] for a in chunk], day, known_us)
            for item in chunk:
                history = moves[item["id"]]
                for move in history:
                    move["recorded_at"] = from_micros(move.pop("recorded_us"))
                item["due_date_history"] = history
                item["times_moved"] = len(history)

    @staticmethod
    def _too_many(total: int) -> None:
        if total > EXPORT_LIMIT:
            raise BadQuery(
                {
                    "format": [
                        f"{total} rows match, more than a download holds ({EXPORT_LIMIT}): "
                        "narrow the filters"
                    ]
                }
            )

    @staticmethod
    def _check_owner(conn: Connection, owner: str) -> None:
        """An owner no action or plan has ever named is a typo, not an empty answer."""
        leads = conn.execute(select(plans.plan_leads.c.initials).distinct()).scalars()
        known = actions.owner_names(conn) | set(leads)
        if owner in known:
            return
        near = difflib.get_close_matches(owner, known, n=3, cutoff=0.5)
        near += sorted(name for name in known if name.lower() == owner.lower() and name not in near)
        hint = f"; did you mean {' or '.join(near)}?" if near else ""
        raise BadQuery(
            {"owner": [f"no action or plan has ever had an owner or lead {owner!r}{hint}"]}
        )

    # Plans.

    def plan(
        self,
        plan_id: UUID,
        as_of: date | None = None,
        known_at: datetime | None = None,
        *,
        with_moves: bool = False,
    ) -> dict[str, Any]:
        """The plan's tree; each latest review's quarter also in words (``quarter_label``);
        ``with_moves``: each action with its due-date history (as a download shows it)."""
        day, known_us = self.when(as_of, known_at)
        with self._reading("plans", "actions") as conn:
            plan = plans.plan_tree(conn, plan_id, day, known_us)
            published = None if plan else plans.published_on(conn, plan_id, known_us)
            if plan is not None and with_moves:
                every = [a for rec in plan["recommendations"] for a in rec["actions"]]
                self._with_moves(conn, every, day, known_us)
        if plan is not None:
            for rec in plan["recommendations"]:
                if rec["latest_review"] is not None:
                    review = rec["latest_review"]
                    review["quarter_label"] = quarter_label(review["quarter"])
            return plan
        if published is not None:
            error = NotFound("plan", plan_id)
            error.args = (
                f"the plan was published on {published.isoformat()}: on "
                f"{day.isoformat()} it did not exist yet",
            )
            raise error
        raise self._missing("plan", plan_id, day, known_at)

    def plans(
        self,
        as_of: date | None = None,
        known_at: datetime | None = None,
        *,
        page: int = 1,
        page_size: int = 50,
    ) -> dict[str, Any]:
        """Every plan published by ``as_of`` (as known at ``known_at``), so that a reader
        finds a plan without knowing its id."""
        day, known_us = self.when(as_of, known_at)
        with self._reading("plans", "actions") as conn:
            items, total = plans.plan_summaries(
                conn, day, known_us, limit=page_size, offset=(page - 1) * page_size
            )
        return page_of(items, total, page, page_size, as_of=day)

    def review_history(
        self, plan_id: UUID, known_at: datetime | None = None, *, recommendation: int | None = None
    ) -> list[dict[str, Any]]:
        """Every quarterly review of a plan's recommendations (or of one), as known at
        ``known_at``: each quarter's RAG and commentary, and any review that replaced it."""
        _, known_us = self.when(None, known_at)
        with self._reading("plans") as conn:
            if plans.published_on(conn, plan_id, known_us) is None:
                raise self._missing("plan", plan_id, self._today(), known_at)
            rows = plans.review_history(conn, plan_id, known_us, recommendation=recommendation)
        for row in rows:
            row["recorded_at"] = from_micros(row.pop("recorded_us"))
            row["quarter_label"] = quarter_label(row["quarter"])
        return rows

    def plan_ids(self, as_of: date) -> list[UUID]:
        with self._reading("plans") as conn:
            return plans.plan_ids(conn, as_of)

    # Learning weeks.

    def learning_week(
        self, week_id: UUID, as_of: date | None = None, known_at: datetime | None = None
    ) -> dict[str, Any]:
        day, known_us = self.when(as_of, known_at)
        with self._reading("learning_weeks", "audits") as conn:
            week = learning_weeks.week_summary(conn, week_id, day, known_us)
        if week is None:
            raise self._missing("learning week", week_id, day, known_at)
        return week

    def learning_weeks(
        self,
        as_of: date | None = None,
        known_at: datetime | None = None,
        *,
        page: int = 1,
        page_size: int = 50,
    ) -> dict[str, Any]:
        """Every learning week started by ``as_of`` (as known at ``known_at``)."""
        day, known_us = self.when(as_of, known_at)
        with self._reading("learning_weeks", "audits") as conn:
            items, total = learning_weeks.week_summaries(
                conn, day, known_us, limit=page_size, offset=(page - 1) * page_size
            )
        return page_of(items, total, page, page_size, as_of=day)

    # The inspectors' trail.

    def _trail_where(self, filters: dict[str, Any]) -> list[Any]:
        out = dict(filters)
        for name in ("recorded_from", "recorded_to"):
            moment = out.pop(name, None)
            if moment is not None:
                if moment.tzinfo is None:
                    moment = moment.replace(tzinfo=self.zone)
                out[f"{name}_us"] = micros(moment)
        return trail.trail_filters(**out)

    @staticmethod
    def _trail_row(row: dict[str, Any]) -> dict[str, Any]:
        row["recorded_at"] = from_micros(row.pop("recorded_us"))
        row["hash"] = row.pop("chain_hash")
        return row

    def trail(self, *, page: int = 1, page_size: int = 100, **filters: Any) -> dict[str, Any]:
        where = self._trail_where(filters)
        with self._reading("trail") as conn:
            rows, total = trail.trail_page(
                conn, where, limit=page_size, offset=(page - 1) * page_size
            )
        return page_of([self._trail_row(r) for r in rows], total, page, page_size)

    def trail_rows(self, **filters: Any) -> Iterator[dict[str, Any]]:
        """Every matching row, streamed (for CSV exports of any size)."""
        where = self._trail_where(filters)
        with self.reads.engine.connect() as conn:
            self._working(conn, "trail")  # now, before the first row is sent
        return self._stream_trail(where)

    def _stream_trail(self, where: list[Any]) -> Iterator[dict[str, Any]]:
        with self.reads.engine.connect() as conn:
            for row in trail.trail_stream(conn, where):
                yield self._trail_row(row)

    def history(
        self, kind: str, entity_id: UUID, *, page: int = 1, page_size: int = 100
    ) -> dict[str, Any]:
        """An entity's changes, each with the state as known just after it."""
        answer = self.trail(entity_id=entity_id, entity_type=kind, page=page, page_size=page_size)
        if answer["total"] == 0:
            raise self._missing(kind.replace("_", " "), entity_id, self._today(), None)
        for row in answer["items"]:
            known_at = row["recorded_at"]
            day = known_at.astimezone(self.zone).date()
            row["state"] = self._state_after(kind, entity_id, day, known_at)
        return answer

    def _state_after(self, kind: str, entity_id: UUID, day: date, known_at: datetime) -> Any:
        try:
            if kind == "audit":
                return self.audit(entity_id, as_of=day, known_at=known_at)
            if kind == "action":
                return self.action(entity_id, as_of=day, known_at=known_at)
            plan = self.plan(entity_id, as_of=day, known_at=known_at)
        except NotFound:
            return None  # e.g. an audit recorded before its audited_on day was reached
        return {
            "version": plan["version"],
            "leads": len(plan["leads"]),
            "recommendations": len(plan["recommendations"]),
            **plan["counts"],
        }

    def verify(self) -> dict[str, Any]:
        return asdict(self.reads.verify())

    def reading(self, *names: str) -> AbstractContextManager[Connection]:
        """One connection for a read that spans several read models (a report), so that
        all of it comes from one view of them; each named one must be working."""
        return self._reading(*names)

    def today(self) -> date:
        return self._today()
