"""Verification: is the log still the log the trail chained?

``verify`` recomputes the hash chain (``projections.chain``) from the events table
itself, in log order, and compares each position with what the trail recorded; it
reports the first position where the log and the chain disagree, and how (altered,
missing, reordered, inserted). Whatever a person with access to the database puts in
the events table (a value of another type, a NULL, truncated bytes), verification
answers with a position, never with a crash.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, select

from projections.chain import GENESIS, Unreadable, chain_hash, notification_content
from projections.trail import trail


@dataclass(frozen=True)
class Verdict:
    """What verification found; the read models' part is filled in by ``ReadModels.verify``."""

    ok: bool  # the chain holds, and every read model checked matches the events
    count: int
    head_position: int
    head_hash: str
    unchained: int = 0  # events newer than the chain (the trail has not caught up yet)
    position: int | None = None  # the chain's first failure
    problem: str | None = None  # altered, missing, reordered, inserted
    detail: str | None = None
    hashes_at: dict[int, str] = field(default_factory=dict)  # recomputed, where asked
    read_models_ok: bool | None = None  # None: not checked (or the chain already failed)
    drift: list[Any] = field(default_factory=list)  # projections.scratch.Drift, if any

    @property
    def chain_ok(self) -> bool:
        return self.problem is None


def _stored(conn: Connection, head: int) -> Iterator[Any]:
    rows = conn.execution_options(yield_per=1000).execute(
        select(trail.c.position, trail.c.content_hash, trail.c.chain_hash)
        .where(trail.c.position <= head)
        .order_by(trail.c.position)
    )
    yield from rows


def verify(
    conn: Connection,
    source: Any,
    head: int,
    *,
    at: Collection[int] = (),
    page_size: int = 1000,
) -> Verdict:
    """Recompute the chain from the events table, in log order, up to the trail's head
    (its tracking position), comparing each position with what the trail recorded."""
    stored = _stored(conn, head)
    wanted = set(at)
    hashes_at: dict[int, str] = {}
    previous = GENESIS
    count = 0
    last = 0

    def fail(position: int, problem: str, detail: str) -> Verdict:
        return Verdict(False, count, last, previous, 0, position, problem, detail, hashes_at)

    row = next(stored, None)
    start: int | None = None  # from the very start, even a position 0 or below
    size = page_size
    while True:
        try:
            notifications = source.select_notifications(
                start, size, inclusive_of_start=False, stop=head
            )
        except Exception as error:  # a stored value the log cannot even read back
            if size > 1:
                size = 1  # read one event at a time, to find which
                continue
            source.max_notification_id()  # raises again if the store itself is down
            # The unreadable event stands where the trail says the next one is.
            position = row.position if row is not None else (start or 0) + 1
            return fail(
                position,
                "altered",
                f"the stored event at position {position} was changed: it cannot be read "
                f"({type(error).__name__})",
            )
        if not notifications:
            break
        for n in notifications:
            start = n.id
            if row is not None and row.position < n.id:
                return fail(
                    row.position, "missing", f"the event at position {row.position} is gone"
                )
            if row is None or row.position > n.id:
                return fail(
                    n.id,
                    "inserted",
                    f"an event at position {n.id} was never in the chain",
                )
            try:
                content = notification_content(n)
            except Unreadable as error:
                return fail(
                    n.id, "altered", f"the stored event at position {n.id} was changed: {error}"
                )
            if content != row.content_hash:
                elsewhere = conn.execute(
                    select(trail.c.position).where(trail.c.content_hash == content).limit(1)
                ).scalar()
                if elsewhere is not None:
                    return fail(
                        n.id,
                        "reordered",
                        f"the event at position {n.id} was recorded at position {elsewhere}",
                    )
                return fail(n.id, "altered", f"the stored event at position {n.id} was changed")
            previous = chain_hash(previous, n.id, content)
            if n.id in wanted:
                hashes_at[n.id] = previous
            if previous != row.chain_hash:
                return fail(n.id, "altered", f"the trail's hash at position {n.id} was changed")
            count += 1
            last = n.id
            row = next(stored, None)
    if row is not None:
        return fail(row.position, "missing", f"the event at position {row.position} is gone")
    newest = source.max_notification_id() or 0
    return Verdict(True, count, last, previous, max(0, newest - head), hashes_at=hashes_at)
