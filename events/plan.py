"""An improvement plan: key leads, recommendations, their actions and quarterly reviews."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from events.action import Action
from events.clock import FROM_EVENT, QAAggregate
from events.context import today
from events.quarters import Quarter, parse_quarter
from events.rules import INITIALS, RAGS, Problems, Refused


def _texts(problems: Problems, values: Any, field: str) -> None:
    if not isinstance(values, list | tuple):
        problems.add(field, "must be a list of texts")
        return
    for i, value in enumerate(values):
        problems.text(value, f"{field}[{i}]", max_length=5000)


class ImprovementPlan(QAAggregate):
    """The plan's structure. Its actions are separate aggregates with their own lifecycle."""

    @classmethod
    def create(
        cls,
        *,
        id: UUID,  # noqa: A002
        title: str,
        source: str,
        published_on: date,
    ) -> ImprovementPlan:
        problems = Problems()
        problems.text(title, "title", max_length=300)
        problems.text(source, "source", max_length=1000)
        problems.not_future(published_on, today(), "published_on")
        problems.raise_if_any()
        return cls(
            id=id,
            title=title.strip(),
            source=source.strip(),
            published_on=published_on,
        )

    class Created(QAAggregate.Created):
        title: str
        source: str
        published_on: date

    @event(Created)
    def __init__(self, id: UUID, title: str, source: str, published_on: date) -> None:
        self.title = title
        self.source = source
        self.published_on = published_on
        self.leads: dict[str, dict[str, Any]] = {}
        self.recommendations: dict[int, dict[str, Any]] = {}

    # Checks shared with the application (owners of a plan action).

    def check_initials(self, problems: Problems, field: str, initials: Sequence[str]) -> None:
        for each in initials:
            if each not in self.leads:
                known = ", ".join(sorted(self.leads)) or "none yet"
                problems.add(field, f"{each!r} is not a key lead of this plan (known: {known})")

    def check_recommendation(self, problems: Problems, field: str, number: Any) -> bool:
        return problems.check(
            number in self.recommendations,
            field,
            f"the plan has no recommendation {number}",
        )

    def effective_or_published(self, effective_on: date | None) -> date:
        """Things added to a plan take effect on its publication unless told otherwise."""
        return effective_on or self.published_on

    def _check_effective_on(self, problems: Problems, effective_on: date) -> None:
        if problems.not_future(effective_on, today(), "effective_on"):
            problems.check(
                effective_on >= self.published_on,
                "effective_on",
                f"must not be before the plan was published ({self.published_on.isoformat()})",
            )

    # Commands.

    def add_lead(
        self,
        *,
        initials: str,
        name: str,
        job_title: str | None,
        effective_on: date | None,
    ) -> None:
        effective_on = self.effective_or_published(effective_on)
        problems = Problems()
        problems.check(
            isinstance(initials, str) and bool(INITIALS.match(initials)),
            "initials",
            "must be a capital letter and up to 4 more letters, optionally followed by a digit",
        )
        problems.text(name, "name", max_length=200)
        if job_title is not None:
            problems.text(job_title, "job_title", max_length=200)
        self._check_effective_on(problems, effective_on)
        problems.raise_if_any()
        if initials in self.leads:
            raise Refused(f"the plan already has a key lead with initials {initials}")
        self._lead_added(
            initials=initials,
            name=name.strip(),
            job_title=job_title.strip() if job_title else None,
            effective_on=effective_on,
        )

    def add_recommendation(
        self,
        *,
        number: int,
        area: str,
        text: str,
        leads: Sequence[str],
        linked_plans: Sequence[str],
        partners: Sequence[str],
        expected_outcomes: Sequence[str],
        measures_of_success: Sequence[str],
        effective_on: date | None,
    ) -> None:
        effective_on = self.effective_or_published(effective_on)
        problems = Problems()
        problems.check(isinstance(number, int) and 1 <= number <= 999, "number", "must be 1 to 999")
        problems.text(area, "area", max_length=300)
        problems.text(text, "text", max_length=5000)
        problems.check(bool(leads), "leads", "at least one lead is required")
        self.check_initials(problems, "leads", leads)
        for name, values in (
            ("linked_plans", linked_plans),
            ("partners", partners),
            ("expected_outcomes", expected_outcomes),
            ("measures_of_success", measures_of_success),
        ):
            _texts(problems, values, name)
        self._check_effective_on(problems, effective_on)
        problems.raise_if_any()
        if number in self.recommendations:
            raise Refused(f"the plan already has a recommendation {number}")
        self._recommendation_added(
            number=number,
            area=area.strip(),
            text=text.strip(),
            leads=list(leads),
            linked_plans=list(linked_plans),
            partners=list(partners),
            expected_outcomes=list(expected_outcomes),
            measures_of_success=list(measures_of_success),
            effective_on=effective_on,
        )

    def raise_actions(
        self,
        *,
        recommendation: int,
        actions: Sequence[Mapping[str, Any]],
        effective_on: date | None,
        new_id: Callable[[], UUID],
        prefix: str,
    ) -> list[Action]:
        """Raise actions on a recommendation, owned by the plan's key leads, and attach
        them; returns them to save with the plan. ``prefix`` names each action's fields
        in errors, e.g. ``actions[{i}].``; each takes effect on its own ``effective_on``,
        else on ``effective_on``, else on the plan's publication."""
        problems = Problems()
        raised = []
        for i, spec in enumerate(actions):
            where = prefix.format(i=i)
            self.check_initials(problems, where + "owners", spec.get("owners") or [])

            def raise_one(spec: Mapping[str, Any] = spec) -> Action:
                return Action.raise_action(
                    id=new_id(),
                    origin="plan",
                    plan_id=self.id,
                    recommendation=recommendation,
                    description=spec.get("description"),
                    owners=spec.get("owners") or [],
                    due_on=spec.get("due_on"),
                    effective_on=self.effective_or_published(
                        spec.get("effective_on") or effective_on
                    ),
                )

            action = problems.collect(where, raise_one)
            if action is not None:
                raised.append(action)
        problems.raise_if_any()
        for action in raised:
            self.attach_action(recommendation=recommendation, action_id=action.id)
        return raised

    def attach_action(self, *, recommendation: int, action_id: UUID) -> None:
        problems = Problems()
        self.check_recommendation(problems, "recommendation", recommendation)
        problems.raise_if_any()
        self._action_attached(recommendation=recommendation, action_id=action_id)

    def record_review(
        self,
        *,
        recommendation: int,
        quarter: str,
        progress: str,
        impact: str,
        impact_data: str | None,
        commentary: str | None,
        further_actions: str | None,
        reason: str | None,
        effective_on: date,
    ) -> None:
        problems = Problems()
        known = self.check_recommendation(problems, "recommendation", recommendation)
        problems.one_of(progress, RAGS, "progress")
        problems.one_of(impact, RAGS, "impact")
        for name, value in (
            ("impact_data", impact_data),
            ("commentary", commentary),
            ("further_actions", further_actions),
        ):
            if value is not None:
                problems.text(value, name, max_length=10_000)
        try:
            parsed: Quarter | None = parse_quarter(quarter)
        except ValueError as error:
            parsed = None
            problems.add("quarter", str(error))
        if parsed is not None:
            quarter = parsed.key  # stored in its calendar form, whichever form was given
            if problems.not_future(effective_on, today(), "effective_on"):
                if effective_on < parsed.first:
                    problems.add(
                        "effective_on",
                        f"a review of {parsed.financial} cannot take effect before the "
                        f"quarter began ({parsed.first.isoformat()})",
                    )
                elif effective_on < self.published_on:
                    problems.add(
                        "effective_on",
                        "a review cannot take effect before the plan was published "
                        f"({self.published_on.isoformat()})",
                    )
            if known and quarter in self.recommendations[recommendation]["reviews"]:
                problems.check(
                    bool(reason and reason.strip()),
                    "reason",
                    f"recommendation {recommendation} already has a review for "
                    f"{parsed.financial} ({quarter}): give a reason to replace it",
                )
        problems.raise_if_any()
        self._review_recorded(
            recommendation=recommendation,
            quarter=quarter,
            progress=progress,
            impact=impact,
            impact_data=impact_data,
            commentary=commentary,
            further_actions=further_actions,
            reason=reason.strip() if reason and reason.strip() else None,
            effective_on=effective_on,
        )

    # Events.

    class LeadAdded(QAAggregate.Event):
        initials: str
        name: str
        job_title: str | None
        effective_on: date

    @event(LeadAdded)
    def _lead_added(
        self,
        initials: str,
        name: str,
        job_title: str | None,
        effective_on: date,
    ) -> None:
        self.leads[initials] = {"initials": initials, "name": name, "job_title": job_title}

    class RecommendationAdded(QAAggregate.Event):
        number: int
        area: str
        text: str
        leads: list[str]
        linked_plans: list[str]
        partners: list[str]
        expected_outcomes: list[str]
        measures_of_success: list[str]
        effective_on: date

    @event(RecommendationAdded)
    def _recommendation_added(
        self,
        number: int,
        area: str,
        text: str,
        leads: list[str],
        linked_plans: list[str],
        partners: list[str],
        expected_outcomes: list[str],
        measures_of_success: list[str],
        effective_on: date,
    ) -> None:
        self.recommendations[number] = {
            "number": number,
            "area": area,
            "text": text,
            "leads": list(leads),
            "linked_plans": list(linked_plans),
            "partners": list(partners),
            "expected_outcomes": list(expected_outcomes),
            "measures_of_success": list(measures_of_success),
            "action_ids": [],
            "reviews": {},
        }

    class ActionAttached(QAAggregate.Event):
        recommendation: int
        action_id: UUID

    @event(ActionAttached)
    def _action_attached(self, recommendation: int, action_id: UUID) -> None:
        self.recommendations[recommendation]["action_ids"].append(action_id)

    class ReviewRecorded(QAAggregate.Event):
        recommendation: int
        quarter: str
        progress: str
        impact: str
        impact_data: str | None
        commentary: str | None
        further_actions: str | None
        reason: str | None
        effective_on: date

    @event(ReviewRecorded)
    def _review_recorded(
        self,
        recommendation: int,
        quarter: str,
        progress: str,
        impact: str,
        impact_data: str | None,
        commentary: str | None,
        further_actions: str | None,
        reason: str | None,
        effective_on: date,
        actor: str = FROM_EVENT,
    ) -> None:
        self.recommendations[recommendation]["reviews"][quarter] = {
            "quarter": quarter,
            "progress": progress,
            "impact": impact,
            "impact_data": impact_data,
            "commentary": commentary,
            "further_actions": further_actions,
            "effective_on": effective_on,
            "recorded_by": actor,
        }
