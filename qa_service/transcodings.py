"""How values the library's JSON transcoder does not know are stored in events."""

from __future__ import annotations

from datetime import date

from eventsourcing.persistence import Transcoding


class DateAsISO(Transcoding):
    """A date as ``2016-03-31``. Stored events hold dates this way under ``date_iso``:
    the name and the format must never change, or they no longer decode."""

    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)
