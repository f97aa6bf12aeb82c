"""When events are recorded: the service's clock, which the application sets.

Every event carries ``timestamp``, the moment the service recorded it (``recorded_at``).
By default that is now (UTC). The application runs each command under its own clock,
so tests and the demo's simulated history can say when things were recorded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

from eventsourcing.domain import Aggregate

_clock: ContextVar[Callable[[], datetime] | None] = ContextVar("recording_clock", default=None)


def recorded_now() -> datetime:
    clock = _clock.get()
    moment = clock() if clock else datetime.now(UTC)
    return moment.astimezone(UTC)


@contextmanager
def recording_clock(clock: Callable[[], datetime]) -> Iterator[None]:
    token = _clock.set(clock)
    try:
        yield
    finally:
        _clock.reset(token)


class QAAggregate(Aggregate):
    """The base of this domain's aggregates: their events take the recording clock."""

    class Event(Aggregate.Event):
        @staticmethod
        def create_timestamp() -> datetime:
            return recorded_now()

    class Created(Event, Aggregate.Created):
        pass
