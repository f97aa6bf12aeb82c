"""The reports as spreadsheets: the same models as the page and the PDF, one worksheet
per section, for the clerk who pastes figures into a committee paper."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

from qa_service.exports import Sheet, xlsx
from qa_service.reports.quarterly import ActionLine, QuarterlyReport, Recommendation
from qa_service.reports.six_monthly import SixMonthlyReport
from qa_service.words import GRADE_LABELS, day, label

RAG_WORDS = {"green": "Green", "amber": "Amber", "red": "Red", None: "Not reviewed"}
GRADES = tuple(GRADE_LABELS)


def _rag(value: str | None) -> str:
    return RAG_WORDS[value]


def _day(value: date | None) -> str:
    return day(value) or "to be confirmed"


def _percent(share: float | None) -> float | None:
    """A share as a percentage with one decimal (37.9), for a column headed "(%)"."""
    return None if share is None else round(share * 100, 1)


def _known(report: QuarterlyReport | SixMonthlyReport) -> list[str]:
    moment = report.known_at.strftime("%d %B %Y %H:%M")
    known = f"As known at {moment}" + ("" if report.known_at_given else " (when it was made)")
    chain = report.chain
    head = f"Hash chain head: event {chain['position']}, {chain['hash']}" if chain else ""
    return [f"As of {_day(report.as_of)}", known, *([head] if head else [])]


def quarterly_xlsx(report: QuarterlyReport) -> bytes:
    about = [
        f"{report.title}: quarterly monitoring report, {report.label} ({report.quarter.months})",
        *_known(report),
    ]
    recs = report.recommendations
    return xlsx(
        [
            Sheet(
                "Summary",
                [
                    ("number", "Recommendation"),
                    ("area", "Area"),
                    ("text", "Text"),
                    ("leads", "Leads"),
                    ("progress", "Progress RAG"),
                    ("progress_direction", "Progress against last quarter"),
                    ("impact", "Impact RAG"),
                    ("impact_direction", "Impact against last quarter"),
                    ("actions", "Actions"),
                    ("completed", "Completed"),
                    ("completed_late", "Completed late"),
                    ("overdue", "Overdue at quarter end"),
                    ("moved", "Due date moved"),
                ],  # fmt: skip
                [_summary_row(rec) for rec in recs],
                about,
            ),
            Sheet(
                "Monitoring and impact",
                [
                    ("number", "Recommendation"),
                    ("progress", "Progress RAG"),
                    ("commentary", "d) Action plan progress"),
                    ("impact", "Impact RAG"),
                    ("impact_data", "e) Impact: data and commentary"),
                    ("further_actions", "f) Recommendations for further action"),
                    ("recorded_by", "Reviewed by"),
                    ("recorded_at", "Recorded at"),
                ],
                [_review_row(rec) for rec in recs],
                about,
            ),
            Sheet(
                "RAG history",
                [
                    ("number", "Recommendation"),
                    *(
                        (f"{q.key}-{what}", f"{q.label(report.year_style)} {what}")
                        for q in report.quarters
                        for what in ("progress", "impact")
                    ),
                ],
                [
                    {
                        "number": rec.number,
                        **{
                            f"{cell.quarter.key}-{what}": _rag(getattr(cell, what))
                            for cell in rec.history
                            for what in ("progress", "impact")
                        },
                    }
                    for rec in recs
                ],
                about,
            ),
            Sheet(
                "Actions",
                [
                    ("action", "Action"),
                    ("description", "Description"),
                    ("owners", "Owners"),
                    ("status", "Status"),
                    ("status_since", "Status since"),
                    ("original_due_on", "Due date (original)"),
                    ("due_on", "Due date (now)"),
                    ("times_moved", "Times moved"),
                    ("moves", "Moves and reasons"),
                    ("completion", "Completed"),
                    ("overdue", "Overdue at quarter end"),
                ],  # fmt: skip
                _action_rows(report),
                about,
            ),
            Sheet(
                "By lead",
                [
                    ("initials", "Initials"),
                    ("name", "Name"),
                    ("job_title", "Job title"),
                    ("actions", "Actions"),
                    ("completed", "Completed"),
                    ("completed_on_time", "On time"),
                    ("completed_late", "Late"),
                    ("open", "Open"),
                    ("overdue", "Overdue"),
                    ("moved", "Due date moved"),
                ],  # fmt: skip
                [
                    {
                        "initials": lead.initials,
                        "name": lead.name,
                        "job_title": lead.job_title,
                        **lead.counts.__dict__,
                    }
                    for lead in report.leads
                ],
                about,
            ),
            Sheet(
                "Changes",
                [("recommendation", "Recommendation"), ("kind", "Kind"), ("text", "What changed")],
                [c.__dict__ for c in report.changes],
                [*about, f"Since the end of {report.quarter.previous().label(report.year_style)}"],
            ),
        ]
    )


def _summary_row(rec: Recommendation) -> dict[str, Any]:
    counts = rec.counts
    return {
        "number": rec.number,
        "area": rec.area,
        "text": rec.text,
        "leads": rec.leads,
        "progress": _rag(rec.progress.now),
        "progress_direction": rec.progress.word,
        "impact": _rag(rec.impact.now),
        "impact_direction": rec.impact.word,
        "actions": counts.actions,
        "completed": counts.completed,
        "completed_late": counts.completed_late,
        "overdue": counts.overdue,
        "moved": counts.moved,
    }


def _review_row(rec: Recommendation) -> dict[str, Any]:
    review = rec.review
    if review is None:
        return {"number": rec.number, "progress": _rag(None), "impact": _rag(None)}
    return {
        "number": rec.number,
        "progress": _rag(review.progress),
        "commentary": review.commentary,
        "impact": _rag(review.impact),
        "impact_data": review.impact_data,
        "further_actions": review.further_actions,
        "recorded_by": review.recorded_by,
        "recorded_at": review.recorded_at,
    }


def _action_rows(report: QuarterlyReport) -> Iterator[dict[str, Any]]:
    for rec in report.recommendations:
        for line in rec.actions:
            yield _action_row(rec.number, line)


def _action_row(number: int, line: ActionLine) -> dict[str, Any]:
    completion = line.completion
    if completion == "late":
        completion = f"late, by {line.days_late} days"
    return {
        "action": f"{number}.{line.number}",
        "description": line.description,
        "owners": line.owners,
        "status": label(line.status),
        "status_since": line.status_since,
        "original_due_on": line.original_due_on,
        "due_on": line.due_on,
        "times_moved": len(line.moves),
        "moves": "\n".join(
            f"{_day(m.from_)} to {_day(m.to)}, on {_day(m.effective_on)}: {m.reason or ''}"
            for m in line.moves
        ),
        "completion": completion,
        "overdue": line.overdue,
    }


def six_monthly_xlsx(report: SixMonthlyReport) -> bytes:
    about = [f"Quality assurance report, {report.label}", *_known(report)]
    grade_columns = [
        ("key", "Group"),
        ("total", "Audits"),
        *((grade, GRADE_LABELS[grade]) for grade in GRADES),
        ("good_or_better", "Good or better (%)"),
    ]
    distribution = report.distribution
    moderation = report.moderation
    actions = report.actions
    summary = [
        ("Audits in the period", distribution["overall"]["total"]),
        ("Good or better (%)", _percent(distribution["overall"]["good_or_better"])),
        ("Inadequate (%)", _percent(distribution["overall"]["shares"]["inadequate"])),
        ("Audits moderated", moderation["moderated"]),
        ("Moderators agreed with the auditor", moderation["agreed"]),
        ("Moderation agreement (%)", _percent(moderation["agreement_rate"])),
        ("Audit actions raised", actions["raised"]),
        ("Audit actions completed on time", actions["completed_on_time"]),
        ("Audit actions completed late", actions["completed_late"]),
        ("Audit actions open at the period's end", actions["open"]),
        ("Audit actions overdue at the period's end", actions["overdue"]),
        ("Listening and Learning weeks", len(report.weeks)),
    ]

    def groups(by: str) -> list[dict[str, Any]]:
        return [
            {
                "key": label(group["key"]) if by != "month" else group["key"],
                "total": group["total"],
                **group["counts"],
                "good_or_better": _percent(group["good_or_better"]),
            }
            for group in distribution[by]
        ]

    return xlsx(
        [
            Sheet(
                "Summary",
                [("what", "Measure"), ("value", "Value")],
                [{"what": what, "value": value} for what, value in summary],
                about,
            ),
            Sheet(
                "Trend",
                [
                    ("period", "Period"),
                    ("audits", "Audits"),
                    ("good_or_better", "Good or better (%)"),
                    ("inadequate", "Inadequate (%)"),
                ],  # fmt: skip
                [
                    {
                        "period": p.period.label,
                        "audits": p.audits,
                        "good_or_better": _percent(p.good_or_better),
                        "inadequate": _percent(p.inadequate),
                    }
                    for p in report.trend
                ],
                about,
            ),
            Sheet("By service area", grade_columns, groups("service_area"), about),
            Sheet("By audit type", grade_columns, groups("audit_type"), about),
            Sheet("By month", grade_columns, groups("month"), about),
            Sheet(
                "Learning weeks",
                [
                    ("title", "Week"),
                    ("starts_on", "Starts"),
                    ("ends_on", "Ends"),
                    ("audits", "Audits"),
                    ("share_good_or_better", "Good or better (%)"),
                    ("feedback_count", "Family responses"),
                    ("mean_satisfaction", "Mean satisfaction (0-10)"),
                    ("share_knew_why_involved", "Knew why the service was involved (%)"),
                ],  # fmt: skip
                [
                    {
                        **week.__dict__,
                        "share_good_or_better": _percent(week.share_good_or_better),
                        "share_knew_why_involved": _percent(week.share_knew_why_involved),
                    }
                    for week in report.weeks
                ],
                about,
            ),
            Sheet(
                "Findings",
                [("week", "Week"), ("kind", "Kind"), ("theme", "Theme"), ("text", "Finding")],
                [
                    {"week": week.title, "kind": kind, "theme": f.theme, "text": f.text}
                    for week in report.weeks
                    for kind, found in (
                        ("What is going well", week.strengths),
                        ("Area for improvement", week.improvements),
                    )
                    for f in found
                ],
                about,
            ),
        ]
    )
