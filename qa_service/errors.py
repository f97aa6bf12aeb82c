"""The application's own errors, besides the domain's (``events.rules``): what the HTTP
and CLI adapters translate into 404, 403 and 409."""

from __future__ import annotations

from uuid import UUID


class NotFound(Exception):
    def __init__(self, kind: str, id: UUID):  # noqa: A002
        self.kind, self.id = kind, id
        super().__init__(f"no {kind} with id {id}")


class Forbidden(Exception):
    """The user's role may do this kind of thing, but not to this record."""


class StaleVersion(Exception):
    def __init__(self, kind: str, expected: int, actual: int):
        super().__init__(
            f"the {kind} is at version {actual}, not {expected}: it was changed since "
            "you read it; read it again and retry"
        )
