"""Signed checkpoints of this database's audit log: the signing key on disk, signing the
current head (recorded as an audit event, never inconsistent with the last one signed), and
checking a checkpoint kept earlier against today's log. Formats: :mod:`.checkpoint`."""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from changegate.audit import tree
from changegate.audit.checkpoint import Checkpoint, SignerKey, VerifierKey, assess, inconsistency
from changegate.audit.events import CheckpointSigned
from changegate.audit.models import AuditEvent
from changegate.audit.service import record
from changegate.errors import Conflict, IntegrityFailure


def last_signed(session: Session, origin: str) -> Checkpoint | None:
    """The last checkpoint this log signed under ``origin``, from its audit event."""
    data = session.scalar(
        select(AuditEvent.data)
        .where(AuditEvent.entity_key == f"checkpoint:{origin}")
        .order_by(AuditEvent.seq.desc())
        .limit(1)
    )
    if data is None:
        return None
    extra = json.loads(bytes(data))["extra"]
    return Checkpoint(origin, int(extra["tree_size"]), bytes.fromhex(extra["root"]))


def latest_note(session: Session) -> str | None:
    """The note of the last checkpoint signed (any origin), for `GET /api/audit/checkpoint`."""
    data = session.scalar(
        select(AuditEvent.data)
        .where(AuditEvent.entity_key.like("checkpoint:%"))
        .order_by(AuditEvent.seq.desc())
        .limit(1)
    )
    return None if data is None else str(json.loads(bytes(data))["extra"]["note"])


def sign(session: Session, signer: SignerKey, *, actor: str) -> str:
    """Sign the current head and record the checkpoint as an event (it covers the events
    before it). Refused when the log does not extend the last checkpoint signed: a log never
    signs two checkpoints that are inconsistent with each other."""
    size = tree.head_size(session)
    if size == 0:
        raise Conflict("the audit log is empty: there is nothing to sign yet")
    root = tree.root(session, size)
    previous = last_signed(session, signer.name)
    if previous is not None:
        problem = inconsistency(
            previous, size, root, lambda old: tree.consistency(session, old, size).proof
        )
        if problem is not None:
            raise IntegrityFailure(
                f"refusing to sign: {problem} (last checkpoint: {previous.size} events); "
                "run `changegate audit verify`"
            )
    note = signer.sign(Checkpoint(signer.name, size, root).body())
    record(
        session,
        CheckpointSigned,
        actor=actor,
        entity=f"checkpoint:{signer.name}",
        extra={
            "key": str(signer.verifier()),
            "note": note,
            "origin": signer.name,
            "root": root.hex(),
            "tree_size": size,
        },
    )
    return note


def check(session: Session, note: str, vkey: VerifierKey) -> dict[str, object]:
    """A checkpoint kept earlier, checked against today's log (signature and consistency)."""
    size = tree.head_size(session)
    root = tree.root(session, size) if size else b""
    return assess(note, vkey, size, root, lambda old: tree.consistency(session, old, size).proof)
