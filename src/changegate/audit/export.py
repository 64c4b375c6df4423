"""Exporting the audit record for auditors: the stored bytes, verbatim, with their hashes."""

from __future__ import annotations

import json
from typing import TextIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from changegate.audit.models import AuditEvent


def export_jsonl(session: Session, out: TextIO) -> int:
    """One line per event: ``{"seq", "leaf_hash", "chain_hash", "event"}``, where ``event`` is the
    stored canonical JSON as a string, so a verifier can hash exactly those bytes."""
    n = 0
    rows = session.execute(
        select(AuditEvent.seq, AuditEvent.data, AuditEvent.leaf_hash, AuditEvent.chain_hash)
        .order_by(AuditEvent.seq)
        .execution_options(yield_per=5000)
    )
    for seq, data, leaf, chain in rows:
        out.write(
            json.dumps(
                {
                    "seq": seq,
                    "leaf_hash": bytes(leaf).hex(),
                    "chain_hash": bytes(chain).hex(),
                    "event": bytes(data).decode("utf-8"),
                },
                ensure_ascii=False,
            )
            + "\n"
        )
        n += 1
    return n
