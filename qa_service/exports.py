"""The trail as CSV, written once for both places it goes: ``GET /api/trail?format=csv``
and ``trail.csv`` in an inspection pack.

People open these files in a spreadsheet, and a spreadsheet runs a cell that starts with
``=``, ``+``, ``-`` or ``@`` as a formula (``=HYPERLINK(...)`` in an action's description
would become a live link). Such a cell, and one starting with a tab or carriage return,
is written with a single quote in front, as OWASP advises ("CSV injection"): the
spreadsheet shows the text and runs nothing.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from typing import Any

from qa_service.schemas.trail import TrailRowOut

TRAIL_COLUMNS = list(TrailRowOut().fields)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> object:
    """As the JSON form writes it (ISO dates and times, true/false, empty for none), with
    anything a spreadsheet would run as a formula made inert."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def trail_csv(rows: Iterable[dict[str, Any]]) -> Iterator[str]:
    """The header, then every row, yielded 500 rows at a time (constant memory)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(TRAIL_COLUMNS)
    for i, row in enumerate(rows, 1):
        writer.writerow([csv_cell(row[name]) for name in TRAIL_COLUMNS])
        if i % 500 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
