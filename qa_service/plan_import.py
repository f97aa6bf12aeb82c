"""Importing a whole improvement plan from one document: a use case of its own.

All or nothing: the plan, its key leads, its recommendations and their actions are
checked together and saved in one ``save()``, or nothing is. Every error is named by its
path in the document (``recommendations[3].actions[1].owners``), so a whole document's
mistakes are reported at once. Everything takes effect on the plan's ``published_on``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID, uuid4

from events import Action, ImprovementPlan, Problems
from qa_service.application import Actor, Commands


def import_plan(commands: Commands, actor: Actor, document: Mapping[str, Any]) -> UUID:
    def command() -> UUID:
        plan, raised = build_plan(document)
        commands.save(plan, *raised)
        return plan.id

    return commands.run(actor, command)


def build_plan(document: Mapping[str, Any]) -> tuple[ImprovementPlan, list[Action]]:
    """The plan and its actions, checked, to save together; raises InvalidInput with
    every error found."""
    problems = Problems()
    plan = problems.collect(
        "",
        lambda: ImprovementPlan.create(
            id=uuid4(),
            title=document["title"],
            source=document["source"],
            published_on=document["published_on"],
        ),
    )
    if plan is None:
        problems.raise_if_any()
    assert plan is not None
    for k, lead in enumerate(document.get("leads") or []):

        def add_lead(lead: Mapping[str, Any] = lead) -> None:
            plan.add_lead(
                initials=lead["initials"],
                name=lead["name"],
                job_title=lead.get("job_title"),
                effective_on=None,
            )

        problems.collect(f"leads[{k}].", add_lead, refused_field="initials")
    raised: list[Action] = []
    for i, rec in enumerate(document.get("recommendations") or []):

        def add_recommendation(rec: Mapping[str, Any] = rec) -> bool:
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
            )
            return True

        def raise_actions(i: int = i, rec: Mapping[str, Any] = rec) -> list[Action]:
            return plan.raise_actions(
                recommendation=rec["number"],
                actions=rec.get("actions") or [],
                effective_on=None,
                new_id=uuid4,
                prefix=f"recommendations[{i}].actions[{{i}}].",
            )

        if problems.collect(f"recommendations[{i}].", add_recommendation, refused_field="number"):
            raised += problems.collect("", raise_actions) or []
    problems.raise_if_any()
    return plan, raised
