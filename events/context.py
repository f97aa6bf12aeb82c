"""Who is acting, and what day it is for them: said once, where a command starts.

Every event records who did it (``actor``, ``actor_role``), and many rules compare a
date with today (nothing may take effect in the future). Rather than pass both to every
method, the application runs each command inside ``acting(...)`` and the domain reads
them here, as the eventsourcing library's content-management example does for its user
and as ``events.clock`` does for the recording time.

Outside ``acting(...)`` there is no one to record an event for: reading the actor or
today raises ``NoOneActing`` instead of recording an anonymous event.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date


class NoOneActing(RuntimeError):
    """A command ran outside ``acting(...)``: a programming error, never the user's."""


@dataclass(frozen=True)
class Acting:
    actor: str
    role: str
    today: date


_acting: ContextVar[Acting | None] = ContextVar("acting", default=None)


@contextmanager
def acting(actor: str, role: str, today: date) -> Iterator[None]:
    """Run what follows as ``actor`` (in ``role``) on the local date ``today``."""
    token = _acting.set(Acting(actor, role, today))
    try:
        yield
    finally:
        _acting.reset(token)


def _current() -> Acting:
    current = _acting.get()
    if current is None:
        raise NoOneActing("no one is acting: run the command inside events.context.acting()")
    return current


def current_actor() -> str:
    return _current().actor


def current_role() -> str:
    return _current().role


def today() -> date:
    """The acting user's today (the service's local date when the command started)."""
    return _current().today
