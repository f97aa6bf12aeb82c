"""Quarters, both ways: councils report by financial year (April to March), so "Q1
2016/17" is April to June 2016; the calendar form "2016-Q2" names the same quarter.

A quarter is stored in its calendar form (the key events have always carried); the
financial form is how reports and pages write it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

CALENDAR = re.compile(r"^(\d{4})-Q([1-4])$")
# "Q2 2016": a calendar quarter as a report by calendar year writes it.
CALENDAR_WORDS = re.compile(r"^Q([1-4])\s+(\d{4})$", re.IGNORECASE)
# "Q1 2016/17", "Q1 2016-17", "Q1 2016/2017"; and "2016/17 Q1".
FINANCIAL = re.compile(r"^Q([1-4])\s+(\d{4})\s*[/-]\s*(\d{2}|\d{4})$", re.IGNORECASE)
FINANCIAL_YEAR_FIRST = re.compile(r"^(\d{4})\s*[/-]\s*(\d{2}|\d{4})\s+Q([1-4])$", re.IGNORECASE)
FINANCIAL_YEAR_STARTS = 4  # April
YEAR_STYLES = ("financial", "calendar")
HOW_TO_WRITE = (
    "a quarter written like Q1 2016/17 (April to June 2016) or, by calendar year, "
    "2016-Q2 or Q2 2016"
)


@dataclass(frozen=True, order=True)
class Quarter:
    """A calendar quarter: ``number`` 1 is January to March of ``year``."""

    year: int
    number: int

    @classmethod
    def from_key(cls, key: str) -> Quarter:
        """The quarter a stored key (``2016-Q2``) names."""
        match = CALENDAR.match(key)
        if not match:
            raise ValueError(f"not a stored quarter key: {key!r}")
        return cls(int(match[1]), int(match[2]))

    @property
    def key(self) -> str:
        """The calendar form, as stored: ``2016-Q2``."""
        return f"{self.year}-Q{self.number}"

    @property
    def first(self) -> date:
        return date(self.year, 3 * self.number - 2, 1)

    @property
    def last(self) -> date:
        return self.next().first - timedelta(days=1)

    def next(self) -> Quarter:
        if self.number == 4:
            return Quarter(self.year + 1, 1)
        return Quarter(self.year, self.number + 1)

    def previous(self) -> Quarter:
        if self.number == 1:
            return Quarter(self.year - 1, 4)
        return Quarter(self.year, self.number - 1)

    @property
    def financial_year(self) -> int:
        """The year the financial year began: April to March."""
        return self.year if self.number >= 2 else self.year - 1

    @property
    def financial(self) -> str:
        """The financial form: ``Q1 2016/17``."""
        start = self.financial_year
        return f"Q{(self.number - 2) % 4 + 1} {start}/{(start + 1) % 100:02d}"

    def label(self, style: str = "financial") -> str:
        """How a report writes it: ``Q1 2016/17`` or, by calendar year, ``Q2 2016``."""
        return self.financial if style == "financial" else f"Q{self.number} {self.year}"

    @property
    def months(self) -> str:
        """``Apr–Jun 2016``."""
        return f"{self.first:%b}–{self.last:%b %Y}"


def quarter_of(day: date) -> Quarter:
    return Quarter(day.year, (day.month - 1) // 3 + 1)


def parse_quarter(text: object) -> Quarter:
    """A quarter in either form; ValueError, saying how to write one, otherwise."""
    if not isinstance(text, str):
        raise ValueError(f"must be {HOW_TO_WRITE}")
    text = " ".join(text.split())
    if match := CALENDAR.match(text):
        return Quarter(int(match[1]), int(match[2]))
    if match := CALENDAR_WORDS.match(text):
        return Quarter(int(match[2]), int(match[1]))
    if match := FINANCIAL.match(text):
        number, start, end = int(match[1]), int(match[2]), match[3]
    elif match := FINANCIAL_YEAR_FIRST.match(text):
        start, end, number = int(match[1]), match[2], int(match[3])
    else:
        raise ValueError(f"must be {HOW_TO_WRITE}")
    following = start + 1
    if (len(end) == 2 and int(end) != following % 100) or (len(end) == 4 and int(end) != following):
        raise ValueError(
            f"a financial year runs from April to March: {start}/{following % 100:02d}, "
            f"not {start}/{end}"
        )
    month = 3 * number + 1  # Q1 starts in April, Q4 in January of the following year
    return quarter_of(date(start + (month > 12), (month - 1) % 12 + 1, 1))


def quarters_between(first: Quarter, last: Quarter) -> list[Quarter]:
    out = []
    quarter = first
    while quarter <= last:
        out.append(quarter)
        quarter = quarter.next()
    return out
