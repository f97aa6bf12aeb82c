"""Signed checkpoints of the hash chain, and inspection packs.

The signing key (Ed25519) is kept outside the database, in a file only the service's
operator can read; its public half is what an inspector needs to verify.
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


@dataclass
class Signer:
    private: Ed25519PrivateKey
    path: Path

    @property
    def public_hex(self) -> str:
        raw = self.private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        return raw.hex()

    @property
    def public_path(self) -> Path:
        return self.path.with_suffix(".pub")

    def sign(self, payload: dict[str, Any]) -> str:
        return self.private.sign(canonical(payload)).hex()


def signer(settings: Settings) -> Signer:
    """The service's signing key, created (readable by its owner only) on first use."""
    path = key_path(settings)
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        assert isinstance(key, Ed25519PrivateKey)
        result = Signer(key, path)
    else:
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
        result = Signer(key, path)
    if not result.public_path.exists():
        result.public_path.write_text(result.public_hex + "\n", encoding="ascii")
    return result


def issue_checkpoint(svc: Service) -> dict[str, Any]:
    """Verify the chain, then sign its head (position, hash, time) and keep the result."""
    verdict = svc.reads.verify(read_models=False)  # what is signed is the chain alone
    if not verdict.ok:
        raise ValueError(
            f"the chain does not verify at position {verdict.position} ({verdict.problem}): "
            "no checkpoint was issued"
        )
    key = signer(svc.settings)
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


def check_checkpoints(svc: Service, hashes_at: dict[int, str]) -> list[str]:
    """Each stored checkpoint: is its signature good, and does the recomputed chain still
    pass through its head hash?"""
    from cryptography.exceptions import InvalidSignature

    problems = []
    public = Ed25519PublicKey.from_public_bytes(bytes.fromhex(signer(svc.settings).public_hex))
    for checkpoint in stored_checkpoints(svc):
        signed = checkpoint["signed"]
        try:
            public.verify(bytes.fromhex(checkpoint["signature"]), canonical(signed))
        except InvalidSignature:
            problems.append(f"the checkpoint at position {signed['position']} has a bad signature")
            continue
        if hashes_at.get(signed["position"]) != signed["head_hash"]:
            problems.append(
                f"the chain no longer passes through the checkpoint at position "
                f"{signed['position']} (signed {signed['issued_at']})"
            )
    return problems


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
    key = signer(svc.settings)
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
