"""Signed checkpoints of this database's audit log: the signing key on disk, signing the
current head (recorded as an audit event, never inconsistent with the last one signed), and
checking a checkpoint kept earlier against today's log. Formats: :mod:`.checkpoint`."""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from changegate.audit import tree
from changegate.audit.checkpoint import (
    Checkpoint,
    SignerKey,
    VerifierKey,
    assess,
    inconsistency,
    open_note,
    parse_body,
)
from changegate.audit.events import CheckpointSigned
from changegate.audit.models import AuditEvent
from changegate.audit.service import record
from changegate.errors import Conflict, InvalidInput


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


def sign(session: Session, signer: SignerKey, *, actor: str, extension: str = "") -> str:
    """Sign the current head and record the checkpoint as an event (it covers the events
    before it). Refused when the log does not extend the last checkpoint signed: a log never
    signs two checkpoints that are inconsistent with each other. ``extension``: one more line
    of the body (c2sp.org/tlog-checkpoint extension lines; the auditor package binds its
    manifest with one)."""
    size = tree.head_size(session)
    if size == 0:
        raise Conflict("the audit log is empty: there is nothing to sign yet")
    if "\n" in extension:
        raise ValueError("a checkpoint extension is one line")
    checkpoint = Checkpoint(signer.name, size, tree.root(session, size))
    _refuse_inconsistent(session, checkpoint)
    note = signer.sign(checkpoint.body() + (f"{extension}\n" if extension else ""))
    _record(session, checkpoint, note, signer.verifier(), actor)
    return note


def accept(session: Session, note: str, vkey: VerifierKey, *, actor: str) -> str:
    """Record a checkpoint of this log signed elsewhere (`audit checkpoint` against a server:
    the key stays with its holder): its signature, origin (the key's name) and root must be
    this log's tree at its size, consistent with the last checkpoint of that origin."""
    checkpoint = parse_body(open_note(note, vkey))
    size = tree.head_size(session)
    if checkpoint.origin != vkey.name or not 1 <= checkpoint.size <= size:
        raise InvalidInput(
            f"the checkpoint names {checkpoint.origin} at {checkpoint.size} events; this log holds "
            f"{size} and the key is {vkey.name}: sign the head `GET /api/audit/proof/consistency"
            "?old=1` reports with that key's name as the origin",
            field="note",
        )
    if tree.root(session, checkpoint.size) != checkpoint.root:
        raise Conflict(f"the checkpoint's root is not this log's root at {checkpoint.size} events")
    _refuse_inconsistent(session, checkpoint)
    _record(session, checkpoint, note, vkey, actor)
    return note


def _refuse_inconsistent(session: Session, checkpoint: Checkpoint) -> None:
    previous = last_signed(session, checkpoint.origin)
    if previous is None:
        return
    size = checkpoint.size
    problem = inconsistency(
        previous, size, checkpoint.root, lambda old: tree.consistency(session, old, size).proof
    )
    if problem is not None:
        raise Conflict(
            f"refusing to sign: {problem} (last checkpoint: {previous.size} events); "
            "run `changegate audit verify`"
        )


def _record(
    session: Session, checkpoint: Checkpoint, note: str, vkey: VerifierKey, actor: str
) -> None:
    record(
        session,
        CheckpointSigned,
        actor=actor,
        entity=f"checkpoint:{checkpoint.origin}",
        extra={
            "key": str(vkey),
            "note": note,
            "origin": checkpoint.origin,
            "root": checkpoint.root.hex(),
            "tree_size": checkpoint.size,
        },
    )


def check(session: Session, note: str, vkey: VerifierKey) -> dict[str, object]:
    """A checkpoint kept earlier, checked against today's log (signature and consistency)."""
    size = tree.head_size(session)
    root = tree.root(session, size) if size else b""
    return assess(note, vkey, size, root, lambda old: tree.consistency(session, old, size).proof)
