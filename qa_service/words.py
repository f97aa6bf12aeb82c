"""The words the pages and reports use for the domain's values: grades, service areas, audit types,
practice domains, statuses, and days and times written for people."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

GRADE_LABELS = {
    "outstanding": "Outstanding",
    "good": "Good",
    "requires_improvement": "Requires improvement",
    "inadequate": "Inadequate",
}
RAG_LABELS = {"green": "Green", "amber": "Amber", "red": "Red"}  # best first
# How a RAG rating moved against the previous quarter: an arrow (for the eye only) and
# the words that say it.
DIRECTIONS = {
    "improved": ("↑", "Improved"),
    "worse": ("↓", "Worse"),
    "no change": ("→", "No change"),
    "first review": ("", "First review"),
    "not reviewed": ("", "Not reviewed"),
}
# A value whose words are not its name with the underscores taken out.
WORDS = {
    "lado": "LADO",
    "voice_of_child": "Voice of the child",
    "dip_sample": "Dip sample",
}
MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip


def label(key: str | None) -> str:
    """A value of the domain in words: ``children_looked_after`` is "Children looked
    after", ``requires_improvement`` "Requires improvement", ``lado`` "LADO"."""
    if key is None:
        return ""
    if key in GRADE_LABELS:
        return GRADE_LABELS[key]
    if key in WORDS:
        return WORDS[key]
    return key.replace("_", " ").capitalize()


def day(value: date | str | None) -> str:
    """A date as people write it: "15 January 2019"."""
    if value is None:
        return ""
    if isinstance(value, str):
        value = date.fromisoformat(value)
    return f"{value.day} {MONTHS[value.month - 1]} {value.year}"


def moment(value: datetime | None, zone: ZoneInfo | None = None) -> str:
    """A time something was recorded: "25 November 2026 at 09:41" (local time)."""
    if value is None:
        return ""
    if zone is not None:
        value = value.astimezone(zone)
    return f"{day(value.date())} at {value:%H:%M}"


def months(first: date, last: date) -> str:
    """The months a period spans, in full: "April to June 2016", "October 2018 to
    March 2019", "May 2016" for a single month."""
    if (first.year, first.month) == (last.year, last.month):
        return f"{MONTHS[first.month - 1]} {first.year}"
    start = MONTHS[first.month - 1] + ("" if first.year == last.year else f" {first.year}")
    return f"{start} to {MONTHS[last.month - 1]} {last.year}"
