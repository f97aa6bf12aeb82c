"""Unit tests act as a manager on ``people.TODAY`` unless they say otherwise."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.unit.people import as_manager


@pytest.fixture(autouse=True)
def _acting_as_manager() -> Iterator[None]:
    with as_manager():
        yield
