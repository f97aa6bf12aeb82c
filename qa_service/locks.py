"""One writer at a time, so a command's rules are checked against the state it saves
over (the store's version check then only has to catch writers in other processes)."""

from __future__ import annotations

import fcntl
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any


class WriterLock:
    """One writer at a time: across threads by a lock, across processes by ``between``
    (a lock file on SQLite, an advisory lock on PostgreSQL)."""

    def __init__(self, between: Callable[[], AbstractContextManager[Any]] | None = None):
        self._thread_lock = threading.Lock()
        self._between = between

    @contextmanager
    def __call__(self) -> Iterator[None]:
        with self._thread_lock:
            if self._between is None:
                yield
            else:
                with self._between():
                    yield


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Between processes on SQLite: an exclusive lock on a file beside the database."""
    with open(path, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
