"""Signing as the Standard Webhooks specification describes (https://www.standardwebhooks.com).

The signed content is ``{webhook-id}.{webhook-timestamp}.{body}``; the key is the secret's
base64 part after ``whsec_``, decoded; the signature header is ``v1,`` and the base64 of the
HMAC-SHA256. The ``webhook-id`` stays the same on every retry of one message, so a receiver
de-duplicates by it; the timestamp is the attempt's, so a receiver can refuse old replays.
"""

from __future__ import annotations

import base64
import hashlib
import hmac


def signature(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def headers(key: bytes | None, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three headers (no signature without a key: an unsigned target)."""
    out = {"webhook-id": msg_id, "webhook-timestamp": str(timestamp)}
    if key is not None:
        out["webhook-signature"] = signature(key, msg_id, timestamp, body)
    return out
