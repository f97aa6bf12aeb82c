"""The hash chain over the stored events, as the trail records it and verification and
an inspector's pack recompute it.

For each stored event, ``content`` = SHA-256 of its stored bytes (originator id,
version, topic and state), and ``chain`` = SHA-256 of the previous chain hash, the
event's position in the log and its content hash; the chain starts from ``GENESIS``.
``qa_service/pack_verify.py`` repeats these few lines on purpose: it runs without the
project, so a pack can be checked by anyone.
"""

from __future__ import annotations

import hashlib
from typing import Any

GENESIS = "0" * 64


class Unreadable(ValueError):
    """A stored event is not of the kind the log stores (its state is not bytes)."""


def content_hash(originator_id: Any, version: int, topic: str, state: bytes) -> str:
    """SHA-256 of an event's stored bytes, wherever it stands in the log."""
    if not isinstance(state, bytes | bytearray | memoryview):
        # bytes() would turn a number into that many zero bytes, and fail on text.
        kind = {type(None): "missing (NULL)", str: "text", int: "a number"}
        raise Unreadable(f"its state is {kind.get(type(state), type(state).__name__)}, not bytes")
    head = f"{originator_id}\n{version}\n{topic}\n".encode()
    return hashlib.sha256(head + bytes(state)).hexdigest()


def chain_hash(previous: str, position: int, content: str) -> str:
    return hashlib.sha256(f"{previous}\n{position}\n{content}".encode()).hexdigest()


def notification_content(notification: Any) -> str:
    """The content hash of an event as the log hands it out (a notification)."""
    return content_hash(
        notification.originator_id,
        notification.originator_version,
        notification.topic,
        notification.state,
    )
