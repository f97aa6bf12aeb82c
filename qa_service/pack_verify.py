#!/usr/bin/env python3
"""Verify an inspection pack offline, with nothing but the pack and the public key.

    python verify_pack.py qa-pack-2019-12-31.zip qa.sqlite3-signing-key.pub

Needs Python 3.9+ and the ``cryptography`` package (``pip install cryptography``).
It checks that:
  1. the checkpoint is signed by the holder of the private key (Ed25519);
  2. every file in the pack is exactly the file that was signed (SHA-256);
  3. the events in the pack, hashed in log order, end at the signed head hash, so no
     event was altered, removed, reordered or inserted before the pack was made.
It prints what it checked and exits 0 if all holds, 1 if anything does not.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
import zipfile
from typing import Any

GENESIS = "0" * 64


def content_hash(originator_id: str, version: int, topic: str, state: bytes) -> str:
    head = f"{originator_id}\n{version}\n{topic}\n".encode()
    return hashlib.sha256(head + state).hexdigest()


def chain_hash(previous: str, position: int, content: str) -> str:
    return hashlib.sha256(f"{previous}\n{position}\n{content}".encode()).hexdigest()


def canonical(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()


def verify(pack_path: str, public_key_path: str) -> list[str]:
    """The problems found (empty when the pack verifies)."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    problems: list[str] = []
    with open(public_key_path, encoding="ascii") as handle:
        public_key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(handle.read().strip()))
    with zipfile.ZipFile(pack_path) as pack:
        checkpoint = json.loads(pack.read("checkpoint.json"))
        signature = bytes.fromhex(checkpoint.pop("signature"))
        try:
            public_key.verify(signature, canonical(checkpoint["signed"]))
        except InvalidSignature:
            return ["the checkpoint's signature does not match this public key"]
        signed = checkpoint["signed"]
        for name, digest in sorted(signed["files"].items()):
            actual = hashlib.sha256(pack.read(name)).hexdigest()
            if actual != digest:
                problems.append(f"{name} was changed after the pack was signed")
        head = GENESIS
        count = 0
        last = None
        for line in pack.read("events.jsonl").decode().splitlines():
            event = json.loads(line)
            if last is not None and event["position"] <= last:
                problems.append(f"events.jsonl is out of order at position {event['position']}")
            last = event["position"]
            content = content_hash(
                event["originator_id"],
                event["originator_version"],
                event["topic"],
                base64.b64decode(event["state"]),
            )
            head = chain_hash(head, event["position"], content)
            count += 1
        if count != signed["count"] or last != signed["position"]:
            problems.append(
                f"the pack holds {count} events up to position {last}; the checkpoint signed "
                f"{signed['count']} up to position {signed['position']}"
            )
        if head != signed["head_hash"]:
            problems.append("the events do not hash to the signed head hash")
    return problems


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__)
        return 2
    problems = verify(argv[1], argv[2])
    if problems:
        print("NOT VERIFIED:")
        for problem in problems:
            print(f"  - {problem}")
        return 1
    with zipfile.ZipFile(argv[1]) as pack:
        signed = json.loads(pack.read("checkpoint.json"))["signed"]
    known = f", as known at {signed['known_at']}" if signed.get("known_at") else ""
    print(
        f"VERIFIED: {signed['count']} events up to position {signed['position']}, head hash "
        f"{signed['head_hash']}, signed at {signed['issued_at']}; the plan status and audit "
        f"register are as of {signed['as_of']}{known}."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
