"""The application service: every command goes through here (reads: queries.py).

A command loads what it needs, lets the aggregates check their rules and record
events, and saves everything it touched in one atomic ``save()``.
"""

from __future__ import annotations

import fcntl
import logging
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, JSONTranscoder, Transcoding

from events import (
    Action,
    CaseAudit,
    ImprovementPlan,
    InvalidInput,
    LearningWeek,
    Problems,
    Refused,
    record_audit,
)
from events.clock import recording_clock

A = TypeVar("A", bound=Aggregate)
T = TypeVar("T")


@dataclass(frozen=True)
class Actor:
    """The authenticated user a command is done by."""

    name: str
    role: str


class NotFound(Exception):
    def __init__(self, kind: str, id: UUID):  # noqa: A002
        self.kind, self.id = kind, id
        super().__init__(f"no {kind} with id {id}")


class StaleVersion(Exception):
    def __init__(self, kind: str, expected: int, actual: int):
        super().__init__(
            f"the {kind} is at version {actual}, not {expected}: it was changed since "
            "you read it; read it again and retry"
        )


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class WriterLock:
    """One writer at a time: across threads by a lock, across processes by ``between``
    (a lock file on SQLite, an advisory lock on PostgreSQL)."""

    def __init__(self, between: Callable[[], AbstractContextManager[Any]] | None = None):
        self._thread_lock = threading.Lock()
        self._between = between

    @contextmanager
    def __call__(self) -> Iterator[None]:
        with self._thread_lock:
            if self._between is None:
                yield
            else:
                with self._between():
                    yield


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    with open(path, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


log = logging.getLogger(__name__)


class QALog(Application[UUID]):
    """Commands and reads of the QA log. Built by ``build_service`` in the composition root."""

    name = "QALog"
    KINDS: Mapping[type[Aggregate], str] = {
        CaseAudit: "audit",
        Action: "action",
        ImprovementPlan: "plan",
        LearningWeek: "learning week",
    }
    CONFLICT_RETRIES = 3

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        *,
        timezone: str = "Europe/London",
        writer_lock: Callable[[], AbstractContextManager[Any]] | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        super().__init__(env)
        self.zone = ZoneInfo(timezone)
        self._clock = clock or (lambda: datetime.now(self.zone))
        self._writer = WriterLock(writer_lock)
        self._after_write: Callable[[], Any] = lambda: None
        self._deferring = False

    def follow_with(self, after_write: Callable[[], Any]) -> None:
        """Run ``after_write`` (the projections' catch-up) after every write, still under
        the writer lock, so a response reads its own write."""
        self._after_write = after_write

    def catch_up(self) -> None:
        with self._writer():
            self._after_write()

    def _follow(self) -> None:
        """Catch the read models up after a write that is already saved: if that fails
        (the database went away), the write still stands and must not look failed, or
        a client would send it again; the next write or the worker catches up."""
        try:
            self._after_write()
        except Exception as error:  # noqa: BLE001
            log.error("catching up after a write failed: %s", type(error).__name__)

    @contextmanager
    def projections_deferred(self) -> Iterator[None]:
        """For a bulk load: skip the catch-up after each write, catch up once at the end."""
        self._deferring = True
        try:
            yield
        finally:
            self._deferring = False
        self.catch_up()

    def writer(self) -> AbstractContextManager[None]:
        """Hold the writer lock (no command runs meanwhile), e.g. to rebuild read models."""
        return self._writer()

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())

    # Helpers.

    def today(self) -> date:
        return self._clock().astimezone(self.zone).date()

    def _get(self, cls: type[A], id: UUID, expected_version: int | None = None) -> A:  # noqa: A002
        kind = self.KINDS[cls]
        try:
            aggregate = self.repository.get(id)
        except AggregateNotFoundError:
            raise NotFound(kind, id) from None
        if not isinstance(aggregate, cls):
            raise NotFound(kind, id)
        if expected_version is not None and aggregate.version != expected_version:
            raise StaleVersion(kind, expected_version, aggregate.version)
        return aggregate

    def _write(self, command: Callable[[], T], *, retry: bool = True) -> T:
        """Run a command under the writer lock; if another writer got in first
        (possible only across processes on PostgreSQL) and the client did not pin a
        version, run it again on the fresh state, where the rules are checked again."""
        attempts = self.CONFLICT_RETRIES if retry else 1
        for attempt in range(attempts):
            try:
                with self._writer(), recording_clock(self._clock):
                    result = command()
                    if not self._deferring:
                        self._follow()
                    return result
            except IntegrityError:
                if attempt == attempts - 1:
                    raise Refused(
                        "someone else changed this record at the same moment; try again"
                    ) from None
        raise AssertionError("unreachable")

    # Case audits.

    def record_audit(
        self, actor: Actor, fields: Mapping[str, Any], actions: Sequence[Mapping[str, Any]]
    ) -> UUID:
        def command() -> UUID:
            audit, raised = record_audit(
                id=uuid4(),
                fields=fields,
                actions=actions,
                new_id=uuid4,
                actor=actor.name,
                actor_role=actor.role,
                today=self.today(),
            )
            week = None
            if audit.learning_week_id is not None:
                week = self._get_referenced(
                    LearningWeek, audit.learning_week_id, "learning_week_id"
                )
                week.add_audit(
                    audit_id=audit.id,
                    audited_on=audit.audited_on,
                    actor=actor.name,
                    actor_role=actor.role,
                )
            self.save(audit, *raised, *([week] if week else []))
            return audit.id

        return self._write(command)

    def _get_referenced(self, cls: type[A], id: UUID, field: str) -> A:  # noqa: A002
        """An aggregate named in a request body: unknown is invalid input, not a 404."""
        try:
            return self._get(cls, id)
        except NotFound:
            raise InvalidInput({field: [f"no {self.KINDS[cls]} with id {id}"]}) from None

    def moderate_audit(
        self,
        actor: Actor,
        audit_id: UUID,
        *,
        grade: str,
        rationale: str,
        effective_on: date | None,
        actions: Sequence[Mapping[str, Any]] = (),
        expected_version: int | None = None,
    ) -> None:
        def command() -> None:
            audit = self._get(CaseAudit, audit_id, expected_version)
            raised = audit.moderate(
                grade=grade,
                rationale=rationale,
                effective_on=effective_on or self.today(),
                actions=actions,
                new_id=uuid4,
                actor=actor.name,
                actor_role=actor.role,
                today=self.today(),
            )
            self.save(audit, *raised)

        self._write(command, retry=expected_version is None)

    def correct_audit(
        self,
        actor: Actor,
        audit_id: UUID,
        *,
        changes: Mapping[str, Any],
        reason: str,
        expected_version: int | None = None,
    ) -> None:
        def command() -> None:
            audit = self._get(CaseAudit, audit_id, expected_version)
            self._check_own_record(actor, audit)
            audit.correct(
                changes=changes,
                reason=reason,
                actor=actor.name,
                actor_role=actor.role,
                today=self.today(),
            )
            self.save(audit)

        self._write(command, retry=expected_version is None)

    def withdraw_audit(
        self,
        actor: Actor,
        audit_id: UUID,
        *,
        reason: str,
        effective_on: date | None,
        expected_version: int | None = None,
    ) -> None:
        def command() -> None:
            audit = self._get(CaseAudit, audit_id, expected_version)
            self._check_own_record(actor, audit)
            audit.withdraw(
                reason=reason,
                effective_on=effective_on or self.today(),
                actor=actor.name,
                actor_role=actor.role,
                today=self.today(),
            )
            self.save(audit)

        self._write(command, retry=expected_version is None)

    @staticmethod
    def _check_own_record(actor: Actor, audit: CaseAudit) -> None:
        if actor.role == "auditor" and audit.auditor != actor.name:
            raise Forbidden(
                f"only the auditor who recorded this audit ({audit.auditor}) or a manager "
                "may correct or withdraw it"
            )

    # Learning weeks.

    def open_learning_week(
        self, actor: Actor, *, title: str, starts_on: date, ends_on: date
    ) -> UUID:
        def command() -> UUID:
            week = LearningWeek.open(
                id=uuid4(),
                title=title,
                starts_on=starts_on,
                ends_on=ends_on,
                actor=actor.name,
                actor_role=actor.role,
                today=self.today(),
            )
            self.save(week)
            return week.id

        return self._write(command)

    def _change_week(
        self, week_id: UUID, expected_version: int | None, change: Callable[[LearningWeek], None]
    ) -> None:
        def command() -> None:
            week = self._get(LearningWeek, week_id, expected_version)
            change(week)
            self.save(week)

        self._write(command, retry=expected_version is None)

    def record_feedback(
        self,
        actor: Actor,
        week_id: UUID,
        *,
        respondent: str,
        satisfaction: int,
        knew_why_involved: bool,
        comment: str | None,
        effective_on: date | None,
        expected_version: int | None = None,
    ) -> None:
        self._change_week(
            week_id,
            expected_version,
            lambda week: week.record_feedback(
                respondent=respondent,
                satisfaction=satisfaction,
                knew_why_involved=knew_why_involved,
                comment=comment,
                effective_on=effective_on or min(self.today(), week.ends_on),
                actor=actor.name,
                actor_role=actor.role,
                today=self.today(),
            ),
        )

    def record_finding(
        self,
        actor: Actor,
        week_id: UUID,
        *,
        kind: str,
        theme: str,
        text: str,
        effective_on: date | None,
        expected_version: int | None = None,
    ) -> None:
        self._change_week(
            week_id,
            expected_version,
            lambda week: week.record_finding(
                kind=kind,
                theme=theme,
                text=text,
                effective_on=effective_on or min(self.today(), week.ends_on),
                actor=actor.name,
                actor_role=actor.role,
                today=self.today(),
            ),
        )

    def close_learning_week(
        self,
        actor: Actor,
        week_id: UUID,
        *,
        effective_on: date | None,
        expected_version: int | None = None,
    ) -> None:
        self._change_week(
            week_id,
            expected_version,
            lambda week: week.close(
                effective_on=effective_on or min(self.today(), week.ends_on),
                actor=actor.name,
                actor_role=actor.role,
                today=self.today(),
            ),
        )

    # Improvement plans.

    def create_plan(self, actor: Actor, *, title: str, source: str, published_on: date) -> UUID:
        def command() -> UUID:
            plan = ImprovementPlan.create(
                id=uuid4(),
                title=title,
                source=source,
                published_on=published_on,
                actor=actor.name,
                actor_role=actor.role,
                today=self.today(),
            )
            self.save(plan)
            return plan.id

        return self._write(command)

    def _change_plan(
        self,
        plan_id: UUID,
        expected_version: int | None,
        change: Callable[[ImprovementPlan], None],
    ) -> None:
        def command() -> None:
            plan = self._get(ImprovementPlan, plan_id, expected_version)
            change(plan)
            self.save(plan)

        self._write(command, retry=expected_version is None)

    def add_lead(
        self,
        actor: Actor,
        plan_id: UUID,
        *,
        initials: str,
        name: str,
        job_title: str | None,
        effective_on: date | None,
        expected_version: int | None = None,
    ) -> None:
        self._change_plan(
            plan_id,
            expected_version,
            lambda plan: plan.add_lead(
                initials=initials,
                name=name,
                job_title=job_title,
                effective_on=effective_on,
                actor=actor.name,
                actor_role=actor.role,
                today=self.today(),
            ),
        )

    def add_recommendation(
        self,
        actor: Actor,
        plan_id: UUID,
        *,
        fields: Mapping[str, Any],
        actions: Sequence[Mapping[str, Any]] = (),
        effective_on: date | None = None,
        expected_version: int | None = None,
    ) -> list[UUID]:
        """Add a recommendation, and any actions given with it, in one save."""

        def command() -> list[UUID]:
            plan = self._get(ImprovementPlan, plan_id, expected_version)
            plan.add_recommendation(
                number=fields["number"],
                area=fields["area"],
                text=fields["text"],
                leads=fields.get("leads") or [],
                linked_plans=fields.get("linked_plans") or [],
                partners=fields.get("partners") or [],
                expected_outcomes=fields.get("expected_outcomes") or [],
                measures_of_success=fields.get("measures_of_success") or [],
                effective_on=effective_on,
                actor=actor.name,
                actor_role=actor.role,
                today=self.today(),
            )
            raised = self._raise_plan_actions(
                actor, plan, fields["number"], actions, effective_on, prefix="actions[{i}]."
            )
            self.save(plan, *raised)
            return [a.id for a in raised]

        return self._write(command, retry=expected_version is None)

    def _raise_plan_actions(
        self,
        actor: Actor,
        plan: ImprovementPlan,
        recommendation: int,
        actions: Sequence[Mapping[str, Any]],
        effective_on: date | None,
        *,
        prefix: str,
    ) -> list[Action]:
        """``prefix`` names each action's fields in errors, e.g. ``actions[{i}].``."""
        problems = Problems()
        raised = []
        for i, spec in enumerate(actions):
            where = prefix.format(i=i)
            plan.check_initials(problems, where + "owners", spec.get("owners") or [])
            action = _collect(
                problems,
                where,
                lambda spec=spec: Action.raise_action(
                    id=uuid4(),
                    origin="plan",
                    plan_id=plan.id,
                    recommendation=recommendation,
                    description=spec.get("description"),
                    owners=spec.get("owners") or [],
                    due_on=spec.get("due_on"),
                    effective_on=plan.effective_or_published(
                        spec.get("effective_on") or effective_on
                    ),
                    actor=actor.name,
                    actor_role=actor.role,
                    today=self.today(),
                ),
            )
            if action is not None:
                raised.append(action)
        problems.raise_if_any()
        for action in raised:
            plan.attach_action(
                recommendation=recommendation,
                action_id=action.id,
                actor=actor.name,
                actor_role=actor.role,
            )
        return raised

    def record_review(
        self,
        actor: Actor,
        plan_id: UUID,
        *,
        fields: Mapping[str, Any],
        expected_version: int | None = None,
    ) -> None:
        self._change_plan(
            plan_id,
            expected_version,
            lambda plan: plan.record_review(
                recommendation=fields["recommendation"],
                quarter=fields["quarter"],
                progress=fields["progress"],
                impact=fields["impact"],
                impact_data=fields.get("impact_data"),
                commentary=fields.get("commentary"),
                further_actions=fields.get("further_actions"),
                reason=fields.get("reason"),
                effective_on=fields.get("effective_on") or self.today(),
                actor=actor.name,
                actor_role=actor.role,
                today=self.today(),
            ),
        )

    def import_plan(self, actor: Actor, document: Mapping[str, Any]) -> UUID:
        """A whole plan in one document, all or nothing. Every error is named by its path
        (``recommendations[3].actions[1].owners``); everything takes effect on the plan's
        ``published_on``."""

        def command() -> UUID:
            problems = Problems()
            plan = _collect(
                problems,
                "",
                lambda: ImprovementPlan.create(
                    id=uuid4(),
                    title=document["title"],
                    source=document["source"],
                    published_on=document["published_on"],
                    actor=actor.name,
                    actor_role=actor.role,
                    today=self.today(),
                ),
            )
            if plan is None:
                problems.raise_if_any()
            assert plan is not None
            for k, lead in enumerate(document.get("leads") or []):
                _collect(
                    problems,
                    f"leads[{k}].",
                    lambda lead=lead: plan.add_lead(
                        initials=lead["initials"],
                        name=lead["name"],
                        job_title=lead.get("job_title"),
                        effective_on=None,
                        actor=actor.name,
                        actor_role=actor.role,
                        today=self.today(),
                    ),
                    refused_field="initials",
                )
            raised: list[Action] = []
            for i, rec in enumerate(document.get("recommendations") or []):
                added = _collect(
                    problems,
                    f"recommendations[{i}].",
                    lambda rec=rec: (
                        plan.add_recommendation(
                            number=rec["number"],
                            area=rec["area"],
                            text=rec["text"],
                            leads=rec.get("leads") or [],
                            linked_plans=rec.get("linked_plans") or [],
                            partners=rec.get("partners") or [],
                            expected_outcomes=rec.get("expected_outcomes") or [],
                            measures_of_success=rec.get("measures_of_success") or [],
                            effective_on=None,
                            actor=actor.name,
                            actor_role=actor.role,
                            today=self.today(),
                        )
                        or True
                    ),
                    refused_field="number",
                )
                if added:
                    raised += (
                        _collect(
                            problems,
                            "",
                            lambda i=i, rec=rec: self._raise_plan_actions(
                                actor,
                                plan,
                                rec["number"],
                                rec.get("actions") or [],
                                None,
                                prefix=f"recommendations[{i}].actions[{{i}}].",
                            ),
                        )
                        or []
                    )
            problems.raise_if_any()
            self.save(plan, *raised)
            return plan.id

        return self._write(command)

    # Actions.

    def raise_action(self, actor: Actor, fields: Mapping[str, Any]) -> UUID:
        """A new action on a plan recommendation (a manager) or on a case audit (the
        auditor who recorded it, or a manager): an auditor answers for their own audits."""

        if fields.get("plan_id") is not None and actor.role != "manager":
            raise Forbidden("only a manager may raise an action on an improvement plan")

        def command() -> UUID:
            if fields.get("plan_id") is not None:
                plan = self._get_referenced(ImprovementPlan, fields["plan_id"], "plan_id")
                problems = Problems()
                plan.check_recommendation(problems, "recommendation", fields.get("recommendation"))
                problems.raise_if_any()
                (action,) = self._raise_plan_actions(
                    actor,
                    plan,
                    fields["recommendation"],
                    [fields],
                    fields.get("effective_on"),
                    prefix="",
                )
                self.save(plan, action)
                return action.id
            audit = self._get_referenced(CaseAudit, fields["audit_id"], "audit_id")
            if actor.role == "auditor" and audit.auditor != actor.name:
                raise Forbidden(
                    "an auditor may raise actions only on their own audits; this audit was "
                    f"recorded by {audit.auditor}: ask them or a manager to raise it"
                )
            action = Action.raise_action(
                id=uuid4(),
                origin="audit",
                audit_id=audit.id,
                case_ref=audit.case_ref,
                description=fields.get("description"),
                owners=fields.get("owners") or [],
                due_on=fields.get("due_on"),
                effective_on=fields.get("effective_on") or self.today(),
                actor=actor.name,
                actor_role=actor.role,
                today=self.today(),
            )
            audit.attach_action(action_id=action.id, actor=actor.name, actor_role=actor.role)
            self.save(audit, action)
            return action.id

        return self._write(command)

    def _change_action(
        self, action_id: UUID, expected_version: int | None, change: Callable[[Action], None]
    ) -> None:
        def command() -> None:
            action = self._get(Action, action_id, expected_version)
            change(action)
            self.save(action)

        self._write(command, retry=expected_version is None)

    def change_action_status(
        self,
        actor: Actor,
        action_id: UUID,
        *,
        status: str,
        effective_on: date | None,
        reason: str | None,
        expected_version: int | None = None,
    ) -> None:
        self._change_action(
            action_id,
            expected_version,
            lambda action: action.change_status(
                status=status,
                effective_on=effective_on or self.today(),
                reason=reason,
                actor=actor.name,
                actor_role=actor.role,
                today=self.today(),
            ),
        )

    def reschedule_action(
        self,
        actor: Actor,
        action_id: UUID,
        *,
        due_on: date | None,
        effective_on: date | None,
        reason: str,
        expected_version: int | None = None,
    ) -> None:
        self._change_action(
            action_id,
            expected_version,
            lambda action: action.reschedule(
                due_on=due_on,
                effective_on=effective_on or self.today(),
                reason=reason,
                actor=actor.name,
                actor_role=actor.role,
                today=self.today(),
            ),
        )

    def reassign_action(
        self,
        actor: Actor,
        action_id: UUID,
        *,
        owners: Sequence[str],
        effective_on: date | None,
        reason: str,
        expected_version: int | None = None,
    ) -> None:
        def change(action: Action) -> None:
            problems = Problems()
            if action.origin == "plan":
                plan = self._get(ImprovementPlan, action.plan_id)
                plan.check_initials(problems, "owners", owners)
            action.reassign(
                owners=owners,
                effective_on=effective_on or self.today(),
                reason=reason,
                actor=actor.name,
                actor_role=actor.role,
                today=self.today(),
                check=problems,
            )

        self._change_action(action_id, expected_version, change)


class Forbidden(Exception):
    """The user's role may do this kind of thing, but not to this record."""


def _collect(
    problems: Problems,
    prefix: str,
    step: Callable[[], T],
    refused_field: str | None = None,
) -> T | None:
    """Run one step of a larger command, gathering its errors under ``prefix``."""
    try:
        return step()
    except InvalidInput as error:
        for field, messages in error.errors.items():
            for message in messages:
                problems.add(f"{prefix}{field}", message)
    except Refused as error:
        if refused_field is None:
            raise
        problems.add(f"{prefix}{refused_field}", str(error))
    return None
