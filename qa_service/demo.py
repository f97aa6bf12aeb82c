"""The demo: the real 2016 improvement plan and a plausible history around it.

Everything goes through the application service, so the demo obeys every rule a user
does. The history is generated from a fixed seed on a simulated clock: each event is
recorded at the (simulated) moment it would have been, so "as known at" questions have
realistic answers, and some entries are recorded days after they took effect (late).
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Hashable
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from importlib import resources
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from events import Action, CaseAudit, ImprovementPlan
from events.rules import GRADES, SERVICE_AREAS
from qa_service.application import Actor, Commands
from qa_service.plan_document import bundled_2016_plan
from qa_service.plan_import import import_plan

MANAGER = Actor("demo manager (Head of Quality Assurance)", "manager")
AUDITORS = [
    Actor(f"demo auditor {name}", "auditor") for name in ("Adebayo", "Brennan", "Chen", "Dlamini")
]

# The share of audits at each grade (outstanding, good, requires improvement, inadequate),
# improving year by year, as the 2022 progress report describes.
GRADE_MIX = {
    2016: (0.01, 0.17, 0.52, 0.30),
    2017: (0.02, 0.24, 0.52, 0.22),
    2018: (0.02, 0.33, 0.50, 0.15),
    2019: (0.03, 0.42, 0.46, 0.09),
    2020: (0.04, 0.50, 0.40, 0.06),
    2021: (0.06, 0.56, 0.34, 0.04),
}
AREA_WEIGHTS = {
    "front_door": 3, "early_help": 3, "assessment": 3, "children_in_need": 4,
    "child_protection": 4, "children_looked_after": 4, "care_leavers": 2,
    "complex_needs": 1, "lado": 1, "proceedings": 1, "private_fostering": 1,
    "young_carers": 1, "other": 1,
}  # fmt: skip
DOMAINS = (
    "assessment",
    "planning",
    "voice_of_child",
    "management_oversight",
    "recording",
    "visits",
)
THEMES = (
    "neglect", "domestic abuse", "child sexual exploitation", "children missing from home",
    "pre-birth assessments", "pathway plans", "step-down to early help", "supervision",
)  # fmt: skip
STRENGTHS = (
    "The child was seen alone and their wishes and feelings are recorded",
    "Chronology is up to date and informs the assessment",
    "Strategy discussion held promptly with police and health",
    "Clear analysis of risk and protective factors",
    "Good multi-agency attendance at core groups",
    "Visits are on time and purposeful",
    "Management oversight is evident at key decision points",
    "The plan is specific and understood by the family",
)
IMPROVEMENTS = (
    "Plan actions are not timebound",
    "Supervision notes do not show reflective discussion",
    "The child's voice is not evident in the assessment",
    "Chronology has not been updated since transfer",
    "Father not engaged in the assessment",
    "Case summary is out of date",
    "Visits have not been at the required frequency",
    "No evidence of management oversight of the decision to step down",
)
REMEDIAL = (
    "Update the child's plan with timescales and review at the next core group",
    "Complete an up to date chronology",
    "Hold a case discussion in supervision and record the rationale for decisions",
    "Visit the child and record their wishes and feelings",
    "Convene a strategy discussion to review risk",
)
TEAMS = ("Team manager, R&A 1", "Team manager, CP 2", "Team manager, CIN 3", "Team manager, CLA 1")


@dataclass
class SimClock:
    """The demo's clock: set to each moment in the history as it is replayed."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now


@dataclass(order=True)
class Step:
    at: datetime
    seq: int
    run: Callable[[], Any] = field(compare=False)


@dataclass
class Summary:
    plan_id: UUID | None = None
    audits: int = 0
    moderations: int = 0
    actions_changed: int = 0
    reviews: int = 0
    learning_weeks: int = 0
    late_entries: int = 0
    learning_week_ids: list[UUID] = field(default_factory=list)


class History:
    """Builds the steps of the demo history, then replays them in recorded order."""

    def __init__(self, commands: Commands, clock: SimClock, zone: ZoneInfo, seed: int, until: date):
        self.commands = commands
        self.clock = clock
        self.zone = zone
        self.rng = random.Random(seed)
        self.until = until
        self.steps: list[Step] = []
        self.cursor: dict[Hashable, datetime] = {}
        self.summary = Summary()

    def moment(self, day: date, hour: int = 10) -> datetime:
        minute = self.rng.randrange(60)
        return datetime.combine(day, time(hour, minute), tzinfo=self.zone)

    def at(
        self,
        day: date,
        run: Callable[[], Any],
        *,
        late_by: int = 0,
        hour: int = 10,
        entity: Hashable = None,
    ) -> bool:
        """Record ``run`` on ``day`` (or ``late_by`` days after it: a late entry). Steps
        about one ``entity`` are recorded in the order they are planned. False if it falls
        after ``until`` and is left out, so the summary counts only what is stored."""
        recorded = self.moment(day + timedelta(days=late_by), hour)
        if entity is not None:
            previous = self.cursor.get(entity)
            if previous is not None and recorded <= previous:
                recorded = previous + timedelta(minutes=1)
            self.cursor[entity] = recorded
        if recorded.date() > self.until:
            return False
        if recorded.date() > day:
            self.summary.late_entries += 1
        self.steps.append(Step(recorded, len(self.steps), run))
        return True

    def maybe_late(self, chance: float, low: int = 2, high: int = 25) -> int:
        return self.rng.randint(low, high) if self.rng.random() < chance else 0

    def replay(self, progress: Callable[[int], None] | None = None) -> None:
        for step in sorted(self.steps):
            self.clock.now = step.at
            step.run()
            if progress:
                progress(1)

    # The plan.

    def plan(self, plan_id: UUID, document: dict[str, Any]) -> None:
        published = document["published_on"]
        tree = self.log_plan_actions(plan_id)
        for action_id, spec in tree:
            self.action_history(action_id, spec, published)
        for rec in document["recommendations"]:
            self.reviews(plan_id, rec["number"], published)

    def log_plan_actions(self, plan_id: UUID) -> list[tuple[UUID, dict[str, Any]]]:
        plan: ImprovementPlan = self.commands.repository.get(plan_id)
        pairs = []
        for number in sorted(plan.recommendations):
            for action_id in plan.recommendations[number]["action_ids"]:
                action: Action = self.commands.repository.get(action_id)
                pairs.append(
                    (action_id, {"due_on": action.due_on, "owners": action.owners, "rec": number})
                )
        self.leads = sorted(plan.leads)
        return pairs

    def action_history(self, action_id: UUID, spec: dict[str, Any], published: date) -> None:
        rng = self.rng
        self.summary.actions_changed += 1
        start = published + timedelta(days=rng.randint(3, 45))
        due: date | None = spec["due_on"]
        self.at(
            start,
            self.status(action_id, "in_progress", start),
            late_by=self.maybe_late(0.1),
            entity=action_id,
        )
        if due is None:
            agreed = start + timedelta(days=rng.randint(20, 60))
            due = agreed + timedelta(days=rng.randint(90, 200))
            self.at(
                agreed,
                self.reschedule(action_id, due, agreed, "Date agreed with the provider"),
                entity=action_id,
            )
        if rng.random() < 0.05:
            when = start + timedelta(days=rng.randint(30, 90))
            self.at(when, self.cancel(action_id, when), entity=action_id)
            return
        if rng.random() < 0.06:
            when = start + timedelta(days=rng.randint(10, 40))
            other = rng.choice([i for i in self.leads if i not in spec["owners"]])
            self.at(when, self.reassign(action_id, [other], when), entity=action_id)
        roll = rng.random()
        if roll < 0.55:
            done = max(start + timedelta(days=1), due - timedelta(days=rng.randint(0, 25)))
        elif roll < 0.85:
            done = due + timedelta(days=rng.randint(5, 120))
            if rng.random() < 0.4:  # the slip was agreed before the due date
                moved = max(start, due - timedelta(days=rng.randint(1, 20)))
                new_due = done + timedelta(days=rng.randint(0, 10))
                self.at(
                    moved,
                    self.reschedule(action_id, new_due, moved, "Dependency on MASH go-live"),
                    entity=action_id,
                )
        else:
            return  # still open at the end of the plan's life: overdue in the tracker
        self.at(
            done,
            self.status(action_id, "completed", done),
            late_by=self.maybe_late(0.2),
            entity=action_id,
        )

    def reviews(self, plan_id: UUID, number: int, published: date) -> None:
        quarters = [(2016, q) for q in (1, 2, 3, 4)] + [(2017, q) for q in (1, 2, 3, 4)]
        for i, (year, q) in enumerate(quarters):
            end = date(year + (q == 4), 1 if q == 4 else 3 * q + 1, 1) - timedelta(days=1)
            when = end + timedelta(days=self.rng.randint(5, 20))
            progress = ("red", "amber", "amber", "green", "green", "green", "green", "green")[
                min(i + self.rng.randint(-1, 1), 7) if i else 0
            ]
            impact = ("red", "red", "amber", "amber", "amber", "green", "green", "green")[
                max(0, min(i + self.rng.randint(-1, 0), 7))
            ]
            commentary = {
                "red": "Significant delay: key actions are behind timescale.",
                "amber": "Some delay; risks to timescales are being managed.",
                "green": "On track: actions complete or with no risk to timescales.",
            }[progress]
            fields = {
                "recommendation": number,
                "quarter": f"{year}-Q{q}",
                "progress": progress,
                "impact": impact,
                "commentary": commentary,
                "impact_data": "Audit findings and performance scorecard for the quarter.",
                "effective_on": when,
            }

            def review(fields: dict[str, Any] = fields) -> None:
                self.commands.record_review(MANAGER, plan_id, fields=fields)

            if self.at(when, review):
                self.summary.reviews += 1

    def status(
        self, action_id: UUID, value: str, effective: date, reason: str | None = None
    ) -> Callable[[], None]:
        return lambda: self.commands.change_action_status(
            MANAGER, action_id, status=value, effective_on=effective, reason=reason
        )

    def cancel(self, action_id: UUID, effective: date) -> Callable[[], None]:
        return self.status(action_id, "cancelled", effective, "Superseded by the MASH plan")

    def reschedule(
        self, action_id: UUID, due: date, effective: date, reason: str
    ) -> Callable[[], None]:
        return lambda: self.commands.reschedule_action(
            MANAGER, action_id, due_on=due, effective_on=effective, reason=reason
        )

    def reassign(self, action_id: UUID, owners: list[str], effective: date) -> Callable[[], None]:
        return lambda: self.commands.reassign_action(
            MANAGER,
            action_id,
            owners=owners,
            effective_on=effective,
            reason="Change of post-holder",
        )

    # Audits.

    def grade(self, year: int) -> str:
        mix = GRADE_MIX[min(max(year, 2016), 2021)]
        return self.rng.choices(GRADES, weights=mix)[0]

    def audit_fields(self, day: date, audit_type: str, grade: str, **extra: Any) -> dict[str, Any]:
        rng = self.rng
        areas = list(AREA_WEIGHTS)
        judgements = {}
        for domain in rng.sample(DOMAINS, 4):
            shift = rng.choice((-1, 0, 0, 0, 1))
            judgements[domain] = GRADES[min(3, max(0, GRADES.index(grade) + shift))]
        return {
            "case_ref": f"CS-{rng.randint(100000, 199999)}",
            "service_area": rng.choices(areas, weights=list(AREA_WEIGHTS.values()))[0],
            "audit_type": audit_type,
            "audited_on": day,
            "judgements": judgements,
            "overall_grade": grade,
            "strengths": rng.sample(STRENGTHS, rng.randint(1, 3)),
            "improvements": rng.sample(
                IMPROVEMENTS, rng.randint(0 if grade in ("good", "outstanding") else 1, 3)
            ),
            **extra,
        }

    def remedial(self, day: date) -> list[dict[str, Any]]:
        return [
            {
                "description": self.rng.choice(REMEDIAL),
                "owners": [self.rng.choice(TEAMS)],
                "due_on": day + timedelta(days=self.rng.randint(10, 30)),
            }
            for _ in range(self.rng.randint(1, 2))
        ]

    def one_audit(self, day: date, audit_type: str, grade: str | None = None, **extra: Any) -> None:
        grade = grade or self.grade(day.year)
        auditor = self.rng.choice(AUDITORS)
        fields = self.audit_fields(day, audit_type, grade, **extra)
        actions = self.remedial(day) if grade == "inadequate" else []
        late = self.maybe_late(0.15, 1, 12)
        holder: dict[str, Any] = {"key": ("audit", len(self.steps))}

        def record() -> None:
            holder["id"] = self.commands.record_audit(auditor, fields, actions)

        if self.at(day, record, late_by=late, entity=holder["key"]):
            self.summary.audits += 1
        recorded = day + timedelta(days=late)
        if self.rng.random() < 0.3:
            self.moderation(holder, recorded, grade)
        if actions and self.rng.random() < 0.85:
            self.complete_remedial(holder, recorded, actions)
        roll = self.rng.random()
        if roll < 0.02:
            when = recorded + timedelta(days=self.rng.randint(1, 10))
            area = self.rng.choice([a for a in SERVICE_AREAS if a != fields["service_area"]])
            self.at(when, lambda: self.commands.correct_audit(
                auditor, holder["id"], changes={"service_area": area},
                reason="Service area entered wrongly",
            ), entity=holder["key"])  # fmt: skip
        elif roll < 0.025:
            when = recorded + timedelta(days=self.rng.randint(1, 10))
            self.at(when, lambda: self.commands.withdraw_audit(
                auditor, holder["id"], reason="Duplicate of another audit of the same file",
                effective_on=when,
            ), entity=holder["key"])  # fmt: skip

    def moderation(self, holder: dict[str, UUID], recorded: date, grade: str) -> None:
        when = recorded + timedelta(days=self.rng.randint(5, 25))
        index = GRADES.index(grade)
        if self.rng.random() < 0.85:
            moderated, rationale = grade, "Agree with the auditor's judgement"
        else:
            index = min(3, max(0, index + self.rng.choice((-1, 1))))
            moderated, rationale = GRADES[index], "Evidence on file supports a different grade"
        actions = self.remedial(when) if moderated == "inadequate" and grade != "inadequate" else []

        def moderate() -> None:
            self.commands.moderate_audit(
                MANAGER, holder["id"], grade=moderated, rationale=rationale,
                effective_on=when, actions=actions,
            )  # fmt: skip

        if self.at(when, moderate, entity=holder["key"]):
            self.summary.moderations += 1

    def complete_remedial(
        self, holder: dict[str, UUID], recorded: date, actions: list[dict[str, Any]]
    ) -> None:
        for i, spec in enumerate(actions):
            due = spec["due_on"]
            done = due + timedelta(days=self.rng.randint(-8, 20))
            done = max(done, recorded + timedelta(days=1))

            def complete(i: int = i, done: date = done) -> None:
                audit: CaseAudit = self.commands.repository.get(holder["id"])
                self.commands.change_action_status(
                    MANAGER, audit.action_ids[i], status="completed", effective_on=done, reason=None
                )

            self.at(done, complete, late_by=self.maybe_late(0.1, 1, 10), entity=holder["key"])

    def audit_programme(self, start: date) -> None:
        month = date(start.year, start.month, 1)
        while month <= self.until:
            days = (_next_month(month) - month).days
            for _ in range(8):
                self.one_audit(month + timedelta(days=self.rng.randrange(days)), "core")
            self.one_audit(month + timedelta(days=self.rng.randrange(days)), "dip_sample")
            if month.month in (3, 6, 9, 12):
                theme = self.rng.choice(THEMES)
                for _ in range(4):
                    day = month + timedelta(days=self.rng.randrange(days))
                    self.one_audit(day, "thematic", theme=theme)
            month = _next_month(month)

    # Listening and Learning weeks.

    def learning_weeks(self, weeks: list[dict[str, Any]]) -> None:
        for spec in weeks:
            starts_on = date.fromisoformat(spec["starts_on"])
            if starts_on > self.until:
                continue
            self.learning_week(spec, starts_on, date.fromisoformat(spec["ends_on"]))

    def feedback(
        self, holder: dict[str, UUID], score: int, knew: bool | None, day: date
    ) -> Callable[[], None]:
        who = self.rng.choice(AUDITORS)
        respondent = self.rng.choice(("parent", "parent", "carer", "young_person", "child"))
        return lambda: self.commands.record_feedback(
            who, holder["id"], respondent=respondent, satisfaction=score,
            knew_why_involved=knew, comment=None, effective_on=day,
        )  # fmt: skip

    def learning_week(self, spec: dict[str, Any], starts_on: date, ends_on: date) -> None:
        rng = self.rng
        holder: dict[str, UUID] = {}

        def open_week() -> None:
            holder["id"] = self.commands.open_learning_week(
                MANAGER, title=spec["title"], starts_on=starts_on, ends_on=ends_on
            )
            self.summary.learning_week_ids.append(holder["id"])

        if self.at(starts_on, open_week, hour=8):
            self.summary.learning_weeks += 1
        days = [starts_on + timedelta(days=i) for i in range((ends_on - starts_on).days + 1)]
        for grade in _grades_for(spec, rng):
            day = rng.choice(days)
            auditor = rng.choice(AUDITORS)
            fields = self.audit_fields(day, "learning_week", grade)
            actions = self.remedial(day) if grade == "inadequate" else []

            def record(
                f: dict[str, Any] = fields, a: list[dict[str, Any]] = actions, who: Actor = auditor
            ) -> UUID:
                return self.commands.record_audit(who, {**f, "learning_week_id": holder["id"]}, a)

            if self.at(day, record, hour=11):
                self.summary.audits += 1
        for score, knew in _feedback_for(spec, rng):
            day = rng.choice(days)
            self.at(day, self.feedback(holder, score, knew, day), hour=14)
        findings = spec.get("findings") or [
            {"kind": "strength", "theme": "practice", "text": text}
            for text in rng.sample(STRENGTHS, 3)
        ] + [
            {"kind": "improvement", "theme": "practice", "text": text}
            for text in rng.sample(IMPROVEMENTS, 3)
        ]
        for finding in findings:

            def record_finding(f: dict[str, str] = finding) -> None:
                self.commands.record_finding(
                    rng.choice(AUDITORS), holder["id"], kind=f["kind"], theme=f["theme"],
                    text=f["text"], effective_on=ends_on,
                )  # fmt: skip

            self.at(ends_on, record_finding, hour=15)
        closing = ends_on + timedelta(days=3)
        self.at(closing, lambda: self.commands.close_learning_week(
            MANAGER, holder["id"], effective_on=closing
        ), hour=16)  # fmt: skip


def _next_month(day: date) -> date:
    return date(day.year + (day.month == 12), day.month % 12 + 1, 1)


def _grades_for(spec: dict[str, Any], rng: random.Random) -> list[str]:
    """The week's audit grades: exactly the source's figures where it gives them."""
    audits = spec.get("audits") or {}
    grades = audits.get("grades")
    if grades:
        out = [g for g in GRADES for _ in range(grades.get(g) or 0)]
    else:
        total = audits.get("total") or 25
        share_good = audits.get("share_good") or 0.5
        good = round(total * share_good)
        out = ["good"] * good + ["requires_improvement"] * (total - good)
        if share_good > 0.45:  # later weeks: a little outstanding practice, less to improve
            out[0] = "outstanding"
    rng.shuffle(out)
    return out


def _feedback_for(spec: dict[str, Any], rng: random.Random) -> list[tuple[int, bool | None]]:
    """Satisfaction scores (0-10) with the source's mean, and who knew why, at its share
    of those who answered that question (``knew_why_answered``; default: everyone)."""
    feedback = spec.get("feedback") or {}
    n = feedback.get("responses") or 30
    mean = feedback.get("mean_satisfaction") or 7.2
    knew_share = feedback.get("share_knew_why_involved") or 0.85
    target = round(mean * n)
    scores = [min(10, max(0, round(rng.gauss(mean, 1.8)))) for _ in range(n)]
    while sum(scores) != target:  # nudge scores until the mean is exactly the source's
        i = rng.randrange(n)
        step = 1 if sum(scores) < target else -1
        if 0 <= scores[i] + step <= 10:
            scores[i] += step
    answered = feedback.get("knew_why_answered") or n
    knew = round(knew_share * answered)
    flags: list[bool | None] = [True] * knew
    flags += [False] * (answered - knew) + [None] * (n - answered)
    rng.shuffle(flags)
    return list(zip(scores, flags, strict=True))


# Bi-annual weeks from December 2018. Where the sources report a week, its figures are
# used as they are (qa_service/data/learning_weeks.json says where each comes from);
# otherwise the figures continue the improving trend the 2022 report describes.
WEEK_MONTHS = ((2018, 12), (2019, 6), (2019, 12), (2020, 6), (2020, 12), (2021, 6), (2021, 12))


def learning_week_specs() -> list[dict[str, Any]]:
    text = resources.files("qa_service.data").joinpath("learning_weeks.json").read_text("utf-8")
    reported = {w["starts_on"][:7]: w for w in json.loads(text)["weeks"]}
    specs = []
    for i, (year, month) in enumerate(WEEK_MONTHS):
        first = date(year, month, 1)
        monday = first + timedelta(days=(7 - first.weekday()) % 7)
        generated: dict[str, Any] = {
            "title": f"Listening and Learning week, {first:%B %Y}",
            "starts_on": monday.isoformat(),
            "ends_on": (monday + timedelta(days=4)).isoformat(),
            "audits": {"total": 25 + i, "share_good": round(0.40 + 0.04 * i, 2)},
            "feedback": {
                "responses": 30 + 2 * i,
                "mean_satisfaction": round(6.8 + 0.15 * i, 1),
                "share_knew_why_involved": round(0.80 + 0.015 * i, 3),
            },
            "findings": [],
        }
        source = reported.get(f"{year}-{month:02d}", {})
        spec = {
            **generated,
            **{
                k: v
                for k, v in source.items()
                if k in ("title", "starts_on", "ends_on", "findings")
            },
        }
        for part in ("audits", "feedback"):
            given = {k: v for k, v in (source.get(part) or {}).items() if v is not None}
            spec[part] = {**generated[part], **given}
        specs.append(spec)
    return specs


def load_demo(
    commands: Commands,
    clock: SimClock,
    zone: ZoneInfo,
    *,
    seed: int = 2016,
    until: date = date(2021, 12, 31),
    progress_total: Callable[[int], None] | None = None,
    progress: Callable[[int], None] | None = None,
    defer_projections: bool = True,
) -> Summary:
    """Import the 2016 plan and replay a plausible history up to ``until``. The read
    models catch up once at the end, unless ``defer_projections`` is false (then after
    every write, as in normal use)."""
    document = bundled_2016_plan()
    published = document["published_on"]
    clock.now = datetime.combine(published, time(9, 30), tzinfo=zone)
    with commands.projections_deferred() if defer_projections else nullcontext():
        plan_id = import_plan(commands, MANAGER, document)
        history = History(commands, clock, zone, seed, until)
        history.summary.plan_id = plan_id
        history.plan(plan_id, document)
        history.audit_programme(published)
        history.learning_weeks(learning_week_specs())
        if progress_total:
            progress_total(len(history.steps))
        history.replay(progress)
    return history.summary
