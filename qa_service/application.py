"""The application service: every command goes through here (reads: queries.py).

A command runs as its actor (``run``): it loads what it needs, lets the aggregates check
their rules and record events, and saves everything it touched in one atomic ``save()``.
Who did it and what day it is are said once, where the command starts, and the domain
reads them from ``events.context``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, JSONTranscoder

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
from events.context import acting, today
from qa_service.errors import Forbidden, NotFound, StaleVersion
from qa_service.locks import WriterLock
from qa_service.transcodings import DateAsISO

A = TypeVar("A", bound=Aggregate)
T = TypeVar("T")


@dataclass(frozen=True)
class Actor:
    """The authenticated user a command is done by."""

    name: str
    role: str


logger = logging.getLogger(__name__)


class Commands(Application[UUID]):
    """The commands of the QA log. Built by ``build_service`` in the composition root."""

    name = "QALog"  # the store's name for this application: kept, so existing databases are found
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
            logger.error("catching up after a write failed: %s", type(error).__name__)

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

    # Running a command.

    def today(self) -> date:
        return self._clock().astimezone(self.zone).date()

    def run(self, actor: Actor, command: Callable[[], T], *, retry: bool = True) -> T:
        """Run ``command`` as ``actor``, on today's date, under the writer lock and the
        recording clock. If another writer got in first (possible only across processes
        on PostgreSQL) and the client did not pin a version, run it again on the fresh
        state, where the rules are checked again."""
        attempts = self.CONFLICT_RETRIES if retry else 1
        for attempt in range(attempts):
            try:
                with (
                    self._writer(),
                    recording_clock(self._clock),
                    acting(actor.name, actor.role, self.today()),
                ):
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

    def _get(self, cls: type[A], id: UUID, expected_version: int | None = None) -> A:  # noqa: A002
        kind = self.KINDS[cls]
        try:
            aggregate: object = self.repository.get(id)
        except AggregateNotFoundError:
            raise NotFound(kind, id) from None
        if not isinstance(aggregate, cls):
            raise NotFound(kind, id)
        if expected_version is not None and aggregate.version != expected_version:
            raise StaleVersion(kind, expected_version, aggregate.version)
        return aggregate

    def _get_referenced(self, cls: type[A], id: UUID, field: str) -> A:  # noqa: A002
        """An aggregate named in a request body: unknown is invalid input, not a 404."""
        try:
            return self._get(cls, id)
        except NotFound:
            raise InvalidInput({field: [f"no {self.KINDS[cls]} with id {id}"]}) from None

    def _change(
        self,
        actor: Actor,
        cls: type[A],
        id: UUID,  # noqa: A002
        expected_version: int | None,
        change: Callable[[A], None],
    ) -> None:
        """A command on one aggregate: get it (at ``expected_version``, if pinned),
        change it, save it."""

        def command() -> None:
            aggregate = self._get(cls, id, expected_version)
            change(aggregate)
            self.save(aggregate)

        self.run(actor, command, retry=expected_version is None)

    # Case audits.

    def record_audit(
        self, actor: Actor, fields: Mapping[str, Any], actions: Sequence[Mapping[str, Any]]
    ) -> UUID:
        def command() -> UUID:
            audit, raised = record_audit(id=uuid4(), fields=fields, actions=actions, new_id=uuid4)
            week = None
            if audit.learning_week_id is not None:
                week = self._get_referenced(
                    LearningWeek, audit.learning_week_id, "learning_week_id"
                )
                week.add_audit(audit_id=audit.id, audited_on=audit.audited_on)
            self.save(audit, *raised, *([week] if week else []))
            return audit.id

        return self.run(actor, command)

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
                effective_on=effective_on or today(),
                actions=actions,
                new_id=uuid4,
            )
            self.save(audit, *raised)

        self.run(actor, command, retry=expected_version is None)

    def correct_audit(
        self,
        actor: Actor,
        audit_id: UUID,
        *,
        changes: Mapping[str, Any],
        reason: str,
        expected_version: int | None = None,
    ) -> None:
        def change(audit: CaseAudit) -> None:
            self._check_own_record(actor, audit)
            audit.correct(changes=changes, reason=reason)

        self._change(actor, CaseAudit, audit_id, expected_version, change)

    def withdraw_audit(
        self,
        actor: Actor,
        audit_id: UUID,
        *,
        reason: str,
        effective_on: date | None,
        expected_version: int | None = None,
    ) -> None:
        def change(audit: CaseAudit) -> None:
            self._check_own_record(actor, audit)
            audit.withdraw(reason=reason, effective_on=effective_on or today())

        self._change(actor, CaseAudit, audit_id, expected_version, change)

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
            week = LearningWeek.open(id=uuid4(), title=title, starts_on=starts_on, ends_on=ends_on)
            self.save(week)
            return week.id

        return self.run(actor, command)

    def record_feedback(
        self,
        actor: Actor,
        week_id: UUID,
        *,
        respondent: str,
        satisfaction: int,
        knew_why_involved: bool | None,
        comment: str | None,
        effective_on: date | None,
        expected_version: int | None = None,
    ) -> None:
        self._change(
            actor,
            LearningWeek,
            week_id,
            expected_version,
            lambda week: week.record_feedback(
                respondent=respondent,
                satisfaction=satisfaction,
                knew_why_involved=knew_why_involved,
                comment=comment,
                effective_on=effective_on or min(today(), week.ends_on),
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
        self._change(
            actor,
            LearningWeek,
            week_id,
            expected_version,
            lambda week: week.record_finding(
                kind=kind,
                theme=theme,
                text=text,
                effective_on=effective_on or min(today(), week.ends_on),
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
        self._change(
            actor,
            LearningWeek,
            week_id,
            expected_version,
            lambda week: week.close(effective_on=effective_on or min(today(), week.ends_on)),
        )

    # Improvement plans (a whole plan from one document: qa_service.plan_import).

    def create_plan(self, actor: Actor, *, title: str, source: str, published_on: date) -> UUID:
        def command() -> UUID:
            plan = ImprovementPlan.create(
                id=uuid4(), title=title, source=source, published_on=published_on
            )
            self.save(plan)
            return plan.id

        return self.run(actor, command)

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
        self._change(
            actor,
            ImprovementPlan,
            plan_id,
            expected_version,
            lambda plan: plan.add_lead(
                initials=initials, name=name, job_title=job_title, effective_on=effective_on
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
            )
            raised = plan.raise_actions(
                recommendation=fields["number"],
                actions=actions,
                effective_on=effective_on,
                new_id=uuid4,
                prefix="actions[{i}].",
            )
            self.save(plan, *raised)
            return [a.id for a in raised]

        return self.run(actor, command, retry=expected_version is None)

    def record_review(
        self,
        actor: Actor,
        plan_id: UUID,
        *,
        fields: Mapping[str, Any],
        expected_version: int | None = None,
    ) -> None:
        self._change(
            actor,
            ImprovementPlan,
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
                effective_on=fields.get("effective_on") or today(),
            ),
        )

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
                (action,) = plan.raise_actions(
                    recommendation=fields["recommendation"],
                    actions=[fields],
                    effective_on=fields.get("effective_on"),
                    new_id=uuid4,
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
                effective_on=fields.get("effective_on") or today(),
            )
            audit.attach_action(action_id=action.id)
            self.save(audit, action)
            return action.id

        return self.run(actor, command)

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
        self._change(
            actor,
            Action,
            action_id,
            expected_version,
            lambda action: action.change_status(
                status=status, effective_on=effective_on or today(), reason=reason
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
        self._change(
            actor,
            Action,
            action_id,
            expected_version,
            lambda action: action.reschedule(
                due_on=due_on, effective_on=effective_on or today(), reason=reason
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
                assert action.plan_id is not None  # a plan action names its plan
                plan = self._get(ImprovementPlan, action.plan_id)
                plan.check_initials(problems, "owners", owners)
            action.reassign(
                owners=owners,
                effective_on=effective_on or today(),
                reason=reason,
                check=problems,
            )

        self._change(actor, Action, action_id, expected_version, change)
