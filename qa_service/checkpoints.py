"""Signed checkpoints of the hash chain, and inspection packs.

The signing key (Ed25519) is kept outside the database, in a file only the service's
operator can read; its public half is what an inspector needs to verify.

Three files, beside the SQLite database (or where ``QA_SIGNING_KEY`` says):

- ``…-signing-key.pem``: the private key. Only signing uses it, and only signing may
  create it (the first ``checkpoint`` or pack, on a store that has never signed).
- ``…-signing-key.pub``: its public half (hex), what inspectors are given.
- ``…-signing-key.retired.pub``: the public halves of earlier keys, one a line, kept by
  ``checkpoint --new-key`` so checkpoints signed before a rotation still verify.

Verifying only reads them. A checkpoint holds if any kept public key verifies it; with
checkpoints stored and no public key at all, verification says the key is missing
(``CheckpointCheck.missing_key``) rather than calling every signature bad.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import zipfile
from dataclasses import dataclass
from datetime import UTC, date, datetime
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    insert,
    select,
)

from qa_service.errors import NotFound
from qa_service.exports import trail_csv
from qa_service.pack_verify import canonical
from qa_service.queries import Queries
from qa_service.settings import Settings

if TYPE_CHECKING:  # the composition root wires this module in; it is only named here
    from qa_service.service import Service

metadata = MetaData()

checkpoints = Table(
    "qa_checkpoints",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("position", BigInteger, nullable=False),
    Column("head_hash", String(64), nullable=False),
    Column("issued_at", DateTime(timezone=True), nullable=False),
    Column("signed", Text, nullable=False),
    Column("signature", String(128), nullable=False),
)


def create_tables(engine: Engine) -> None:
    metadata.create_all(engine)


def key_path(settings: Settings) -> Path:
    configured = os.environ.get("QA_SIGNING_KEY")
    if configured:
        return Path(configured)
    if settings.is_sqlite:
        return settings.sqlite_path.with_name(settings.sqlite_path.name + "-signing-key.pem")
    return Path("qa-signing-key.pem").resolve()


def public_key_path(settings: Settings) -> Path:
    """The current key's public half (hex, one line): what inspectors are given."""
    return key_path(settings).with_suffix(".pub")


def retired_keys_path(settings: Settings) -> Path:
    """The public halves of keys retired by ``checkpoint --new-key``, one a line."""
    private = key_path(settings)
    return private.with_name(private.stem + ".retired.pub")


README_KEYS = "see the README's backup section"


class MissingSigningKey(ValueError):
    """The private key is gone but checkpoints were signed with it: a new key made quietly
    would make every earlier checkpoint look forged."""


@dataclass
class Signer:
    private: Ed25519PrivateKey
    path: Path

    @property
    def public_hex(self) -> str:
        return _public_hex(self.private)

    @property
    def public_path(self) -> Path:
        return self.path.with_suffix(".pub")

    def sign(self, payload: dict[str, Any]) -> str:
        return self.private.sign(canonical(payload)).hex()


def _public_hex(private: Ed25519PrivateKey) -> str:
    raw = private.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return raw.hex()


def _load_private(path: Path) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} is not an Ed25519 private key")
    return key


def _write_private(path: Path, key: Ed25519PrivateKey, *, replacing: bool) -> bool:
    """Write a private key readable by its owner only, whole or not at all. A first key
    is linked into place, so of two processes making one at once the first wins (False:
    another key is there now); a rotation replaces the old one."""
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.new")
    partial.unlink(missing_ok=True)
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
            handle.flush()
            os.fsync(handle.fileno())
        if replacing:
            os.replace(partial, path)
            return True
        try:
            os.link(partial, path)
        except FileExistsError:
            return False
        return True
    finally:
        partial.unlink(missing_ok=True)


def signer(settings: Settings, *, signed_before: int = 0) -> Signer:
    """The service's signing key, created (readable by its owner only) on first use.

    Never created where a key has been before: if its public half or a retired key is
    still here, or ``signed_before`` checkpoints are stored, the key was lost, and a new
    one is made only on purpose (``rotate``), so the old checkpoints' key is kept."""
    path = key_path(settings)
    if path.exists():
        result = Signer(_load_private(path), path)
    else:
        traces = [p for p in (public_key_path(settings), retired_keys_path(settings)) if p.exists()]
        if traces or signed_before:
            why = (
                f"{signed_before} signed checkpoint(s) are stored"
                if signed_before
                else f"{traces[0]} is here"
            )
            raise MissingSigningKey(
                f"the signing key {path} is missing, but {why}: restore it from where you "
                f"keep your keys ({README_KEYS}), or start a new key with `qa-service "
                "checkpoint --new-key` (earlier checkpoints stay verifiable while their "
                "public key is kept)"
            )
        key = Ed25519PrivateKey.generate()
        if not _write_private(path, key, replacing=False):
            key = _load_private(path)  # another process made it first
        result = Signer(key, path)
    if not result.public_path.exists():
        result.public_path.write_text(result.public_hex + "\n", encoding="ascii")
    return result


def rotate(settings: Settings) -> tuple[Signer, str | None]:
    """A new key pair for new checkpoints and packs. The old public half (from the ``.pub``
    file, or from the old private key) moves to the retired list, so checkpoints signed
    with it still verify; the old private key is deleted, since nothing may sign with it
    again. Returns the new signer and the retired public key (None if there was none)."""
    path = key_path(settings)
    public = public_key_path(settings)
    olds = []
    if public.exists():
        olds.append(public.read_text(encoding="ascii").strip())
    if path.exists():
        olds.append(_public_hex(_load_private(path)))
    kept = retired_public_keys(settings)
    retiring = [k for i, k in enumerate(olds) if k and k not in kept and k not in olds[:i]]
    if retiring:
        retired = retired_keys_path(settings)
        retired.parent.mkdir(parents=True, exist_ok=True)
        when = datetime.now(UTC).isoformat(timespec="seconds")
        with retired.open("a", encoding="ascii") as handle:
            handle.writelines(f"{k}  # retired {when}\n" for k in retiring)
            handle.flush()
            os.fsync(handle.fileno())
    key = Ed25519PrivateKey.generate()
    result = Signer(key, path)
    # The new public half first: a crash before the private key is replaced leaves the old
    # key signing, and the retired list still vouches for it.
    fresh = public.with_name(f".{public.name}.{os.getpid()}.new")
    fresh.write_text(result.public_hex + "\n", encoding="ascii")
    os.replace(fresh, public)
    _write_private(path, key, replacing=True)  # the old private key is gone
    return result, (olds[0] if olds else None)


def retired_public_keys(settings: Settings) -> list[str]:
    path = retired_keys_path(settings)
    if not path.exists():
        return []
    keys = []
    for line in path.read_text(encoding="ascii").splitlines():
        value = line.split("#", 1)[0].strip()
        if value:
            keys.append(value)
    return keys


def trusted_public_keys(settings: Settings) -> list[str]:
    """Every public key a stored checkpoint may be signed with: the current one (its
    ``.pub`` file, or else derived from the private key) and the retired ones. Read
    only: verifying never makes a key."""
    keys = []
    public, private = public_key_path(settings), key_path(settings)
    if public.exists():
        keys.append(public.read_text(encoding="ascii").strip())
    elif private.exists():
        keys.append(_public_hex(_load_private(private)))
    return keys + [k for k in retired_public_keys(settings) if k not in keys]


def issue_checkpoint(svc: Service) -> dict[str, Any]:
    """Verify the chain, then sign its head (position, hash, time) and keep the result."""
    verdict = svc.reads.verify(read_models=False)  # what is signed is the chain alone
    if not verdict.ok:
        raise ValueError(
            f"the chain does not verify at position {verdict.position} ({verdict.problem}): "
            "no checkpoint was issued"
        )
    key = signer(svc.settings, signed_before=len(stored_checkpoints(svc)))
    signed = {
        "position": verdict.head_position,
        "head_hash": verdict.head_hash,
        "count": verdict.count,
        "issued_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    signature = key.sign(signed)
    with svc.engine.begin() as conn:
        conn.execute(
            insert(checkpoints).values(
                position=signed["position"],
                head_hash=signed["head_hash"],
                issued_at=datetime.now(UTC),
                signed=json.dumps(signed, sort_keys=True),
                signature=signature,
            )
        )
    return {"signed": signed, "signature": signature, "public_key": key.public_hex}


def stored_checkpoints(svc: Service) -> list[dict[str, Any]]:
    with svc.engine.connect() as conn:
        rows = conn.execute(select(checkpoints).order_by(checkpoints.c.id)).mappings().all()
    return [{"signed": json.loads(r["signed"]), "signature": r["signature"]} for r in rows]


@dataclass(frozen=True)
class CheckpointCheck:
    """What checking the stored checkpoints found."""

    count: int  # checkpoints stored
    problems: list[str]  # a bad signature, or a chain that no longer passes through one
    missing_key: str | None = None  # checkpoints stored, but no public key to check them

    @property
    def ok(self) -> bool:
        return not self.problems and self.missing_key is None


def check_stored_checkpoints(svc: Service, hashes_at: dict[int, str]) -> CheckpointCheck:
    """Each stored checkpoint: is it signed by a kept key, and does the recomputed chain
    still pass through its head hash? Without any public key, say so, not "bad"."""
    from cryptography.exceptions import InvalidSignature

    stored = stored_checkpoints(svc)
    if not stored:
        return CheckpointCheck(0, [])
    keys = trusted_public_keys(svc.settings)
    if not keys:
        return CheckpointCheck(
            len(stored),
            [],
            f"{len(stored)} signed checkpoint(s) exist but the public key "
            f"{public_key_path(svc.settings)} (and the private key "
            f"{key_path(svc.settings)} it comes from) is missing: restore it from where "
            f"you keep your keys ({README_KEYS})",
        )
    publics = [Ed25519PublicKey.from_public_bytes(bytes.fromhex(k)) for k in keys]
    problems = []
    for checkpoint in stored:
        signed = checkpoint["signed"]
        signature = bytes.fromhex(checkpoint["signature"])
        for public in publics:
            try:
                public.verify(signature, canonical(signed))
                break
            except InvalidSignature:
                continue
        else:
            problems.append(
                f"the checkpoint at position {signed['position']} has a bad signature: none of "
                f"the {len(publics)} kept public key(s) verifies it (it was altered, or signed "
                f"with a key whose public half is no longer in {public_key_path(svc.settings)} "
                f"or {retired_keys_path(svc.settings)})"
            )
            continue
        if hashes_at.get(signed["position"]) != signed["head_hash"]:
            problems.append(
                f"the chain no longer passes through the checkpoint at position "
                f"{signed['position']} (signed {signed['issued_at']})"
            )
    return CheckpointCheck(len(stored), problems)


def check_checkpoints(svc: Service, hashes_at: dict[int, str]) -> list[str]:
    """The problems with the stored checkpoints, as sentences (a missing key among them)."""
    check = check_stored_checkpoints(svc, hashes_at)
    return check.problems + ([f"not verified: {check.missing_key}"] if check.missing_key else [])


def export_pack(
    svc: Service, as_of: date, known_at: datetime | None = None, *, pack_name: str | None = None
) -> bytes:
    """A zip for an inspector: the events and the trail up to the chain's head, the plans'
    status and the audit register as of ``as_of`` (as known at ``known_at``, or as known
    now), a signed checkpoint over all of it, and the verifier.

    The trail, the plan status and the register come from read models rebuilt from the
    verified events in a scratch store, not from the service's tables: an edit of those
    tables, which the chain cannot see, must not reach a pack that says VERIFIED."""
    verdict = svc.reads.verify(read_models=False)
    if not verdict.ok:
        raise ValueError(f"the chain does not verify at position {verdict.position}")
    head = verdict.head_position
    if known_at is not None and known_at.tzinfo is None:
        known_at = known_at.replace(tzinfo=svc.queries.zone)  # local time, as in the API
    key = signer(svc.settings, signed_before=len(stored_checkpoints(svc)))
    files: dict[str, bytes] = {}

    lines = []
    start: int | None = None
    while True:
        page = svc.commands.recorder.select_notifications(
            start, 1000, stop=head, inclusive_of_start=False
        )
        if not page:
            break
        for n in page:
            lines.append(
                json.dumps(
                    {
                        "position": n.id,
                        "originator_id": str(n.originator_id),
                        "originator_version": n.originator_version,
                        "topic": n.topic,
                        "state": base64.b64encode(bytes(n.state)).decode(),
                    }
                )
            )
        start = page[-1].id
    files["events.jsonl"] = ("\n".join(lines) + "\n").encode()
    files.update(_read_from_events(svc, head, as_of, known_at))
    files["verify_pack.py"] = verifier_source()
    known = (
        f"as known at {known_at.isoformat()}"
        if known_at
        else f"as known when the pack was made (every event up to {head})"
    )
    files["README.txt"] = README.format(
        as_of=as_of.isoformat(),
        known=known,
        head=head,
        pack=pack_name or f"qa-pack-{as_of.isoformat()}.zip",
        public_key=key.public_path.name,
    ).encode()

    signed = {
        "position": head,
        "head_hash": verdict.head_hash,
        "count": verdict.count,
        "as_of": as_of.isoformat(),
        "known_at": known_at.isoformat() if known_at else None,
        "issued_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "files": {name: hashlib.sha256(data).hexdigest() for name, data in files.items()},
    }
    checkpoint = {"signed": signed, "signature": key.sign(signed), "public_key": key.public_hex}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as pack:
        for name, data in files.items():
            pack.writestr(name, data)
        pack.writestr("checkpoint.json", json.dumps(checkpoint, indent=1))
    return buffer.getvalue()


def _read_from_events(
    svc: Service, head: int, as_of: date, known_at: datetime | None
) -> dict[str, bytes]:
    """The trail, every plan's status tree and the audit register, as read models rebuilt
    from the events up to ``head`` give them."""
    with svc.reads.rebuilt(head) as fresh:
        queries = Queries(fresh, svc.queries.zone, svc.commands.today)
        trail = "".join(trail_csv(queries.trail_rows(up_to=head)))
        plans = []
        for plan_id in queries.plan_ids(as_of):
            try:
                plans.append(queries.plan(plan_id, as_of=as_of, known_at=known_at))
            except NotFound:  # published by as_of, but recorded after known_at
                continue
        register = queries.audits(as_of=as_of, known_at=known_at, page_size=10**9)
    return {
        "trail.csv": trail.encode(),
        "plan_status.json": json.dumps(_json(plans), indent=1, default=str).encode(),
        "audit_register.json": json.dumps(_json(register), indent=1, default=str).encode(),
    }


def verifier_source() -> bytes:
    """``verify_pack.py``: in every pack, and beside it where the service writes one."""
    return resources.files("qa_service").joinpath("pack_verify.py").read_bytes()


def _json(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


README = """QA log inspection pack

The record up to event {head}.
The plan status and the audit register are as of {as_of}, {known}.
They and the trail were rebuilt from the events in this pack, not copied from the
service's tables.

  events.jsonl         every stored event, in log order, exactly as stored (base64 state)
  trail.csv            the same events for people: who, when recorded, when effective, why
  plan_status.json     each improvement plan's status tree as of {as_of}
  audit_register.json  the audit register and grade distributions as of {as_of}
  checkpoint.json      the signed checkpoint: the chain's head and every file's SHA-256
  verify_pack.py       the verifier (the service also writes it beside the pack)

To verify, put the pack, verify_pack.py and the service's public key in one folder (the
key is {public_key}, obtained from the service by a separate channel, not from this
pack), and there run:

  pip install cryptography
  python verify_pack.py {pack} {public_key}
"""
