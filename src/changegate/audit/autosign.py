"""The server's own checkpoints: with a signing key configured (CHANGEGATE_AUDIT_KEY_FILE or
CHANGEGATE_AUDIT_KEY), the running server signs the log's head once the policy's
``audit_checkpoints.every_events`` events were appended since the last checkpoint, or
``every_minutes`` passed since it with new events.

Several server processes may share one database: each checks under the audit head's lock (a
row lock on PostgreSQL, the write lock on SQLite) before it signs, so one head is signed once.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from changegate.audit.checkpoint import SignerKey
from changegate.audit.models import AuditEvent, AuditHead
from changegate.errors import ChangegateError, InvalidInput

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from changegate.config import Settings
    from changegate.policy.schema import Policy

log = logging.getLogger("changegate.checkpoints")
#: who signs the server's own checkpoints in the audit log
ACTOR = "system"


def configured_signer(settings: Settings) -> tuple[SignerKey | None, str]:
    """The server's signing key and where it came from; (None, why) when none is configured.
    Refused (InvalidInput, one line) when the file is missing, unreadable, readable by its
    group or others (like ssh's private keys), or not a key."""
    if settings.audit_key is not None:
        text, source = settings.audit_key.get_secret_value(), "CHANGEGATE_AUDIT_KEY"
    elif settings.audit_key_file is not None:
        text, source = _read_key_file(settings.audit_key_file), str(settings.audit_key_file)
    else:
        return None, "no CHANGEGATE_AUDIT_KEY_FILE or CHANGEGATE_AUDIT_KEY"
    try:
        return SignerKey.parse(text), source
    except InvalidInput:
        named = (
            source if source == "CHANGEGATE_AUDIT_KEY" else f"CHANGEGATE_AUDIT_KEY_FILE {source}"
        )
        raise InvalidInput(
            f"{named}: not a signing key written by `changegate audit keygen`",
            field=named.split()[0],
        ) from None


def _read_key_file(path: Path) -> str:
    field = "CHANGEGATE_AUDIT_KEY_FILE"
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else "not a key file"
        raise InvalidInput(
            f"{field} {path}: cannot read the signing key ({why}); create one with "
            "`changegate audit keygen --out FILE`",
            field=field,
        ) from None
    if mode & 0o077:
        raise InvalidInput(
            f"{field} {path}: the signing key is readable by others (mode {mode & 0o777:o}): "
            f"run `chmod 600 {path}`; refusing to sign checkpoints with it",
            field=field,
        )
    return text


def _last(session: Session, origin: str) -> tuple[int, dt.datetime] | None:
    """The sequence number and time of the last checkpoint event of ``origin``."""
    row = session.execute(
        select(AuditEvent.seq, AuditEvent.data)
        .where(AuditEvent.entity_key == f"checkpoint:{origin}")
        .order_by(AuditEvent.seq.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    return int(row[0]), _ts(bytes(row[1]))


def _ts(data: bytes) -> dt.datetime:
    return dt.datetime.fromisoformat(json.loads(data)["ts"].replace("Z", "+00:00"))


def due(session: Session, policy: Policy, origin: str, now: dt.datetime) -> bool:
    """Whether the policy asks for a checkpoint of ``origin`` now: enough events since the
    last one, or enough time since it with at least one new event."""
    head = session.scalar(select(AuditHead.seq).where(AuditHead.id == 1)) or 0
    rule = policy.audit_checkpoints
    last = _last(session, origin)
    if last is None:
        first = session.scalar(select(AuditEvent.data).where(AuditEvent.seq == 1))
        since, new = (now if first is None else _ts(bytes(first))), head
    else:
        since, new = last[1], head - last[0]
    if new <= 0:
        return False
    return new >= rule.every_events or now - since >= dt.timedelta(minutes=rule.every_minutes)


def sign_if_due(
    session: Session, policy: Policy, signer: SignerKey, *, now: dt.datetime
) -> str | None:
    """Sign the head when :func:`due`, deciding under the head's lock so that concurrent
    servers sign one head once; the note, or None when nothing was due."""
    from changegate.audit.checkpoint_service import sign

    session.execute(select(AuditHead.id).where(AuditHead.id == 1).with_for_update())
    if not due(session, policy, signer.name, now):
        return None
    return sign(session, signer, actor=ACTOR)


def check_once(engine: Engine, policy: Policy, signer: SignerKey) -> str | None:
    """One round: a cheap read first, the locked check and the signature only when due."""
    from changegate.db import session_scope, utcnow

    with session_scope(engine, write=False) as session:
        if not due(session, policy, signer.name, utcnow()):
            return None
    with session_scope(engine) as session:
        return sign_if_due(session, policy, signer, now=utcnow())


@contextmanager
def running(
    engine: Engine, policy: Policy, signer: SignerKey | None, *, poll_seconds: float
) -> Iterator[None]:
    """While the block runs, a background thread signs checkpoints as the policy asks."""
    if signer is None:
        yield
        return
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(poll_seconds):
            try:
                note = check_once(engine, policy, signer)
            except ChangegateError as exc:  # e.g. the log no longer extends the last checkpoint
                log.error("audit checkpoint not signed: %s", exc.message)
            except Exception:  # a database hiccup: try again next round
                log.exception("audit checkpoint not signed")
            else:
                if note is not None:
                    log.info("signed audit checkpoint %s", _summary(note))

    thread = threading.Thread(target=loop, name="changegate-checkpoints", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=30)


def _summary(note: str) -> dict[str, Any]:
    origin, size = note.split("\n")[:2]
    return {"origin": origin, "tree_size": int(size)}
