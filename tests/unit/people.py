"""Who the aggregate unit tests act as, and on what day.

Domain methods read both from ``events.context``, as they do under the application; the
autouse fixture in ``conftest.py`` runs every unit test as ``as_manager()``, and a test
says ``with as_auditor():`` to act as someone else."""

from __future__ import annotations

from datetime import date
from functools import partial

from events.context import acting

TODAY = date(2026, 11, 23)
as_manager = partial(acting, "mgr-1", "manager", TODAY)
as_auditor = partial(acting, "aud-1", "auditor", TODAY)
