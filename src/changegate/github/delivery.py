"""One webhook delivery: signature checked first, then headers, then the payload.

The webhook endpoint calls ``read_delivery`` with the request's headers and raw body. The
order matters: nothing about an unsigned or wrongly signed request is looked at (401), a
signed but malformed one is refused (400), and an event changegate does not handle comes
back with ``payload=None`` (acknowledge with 2xx and ignore).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from changegate.github.errors import PayloadError
from changegate.github.payloads import WebhookEvent, parse_event
from changegate.github.signature import SIGNATURE_HEADER, verify_signature

EVENT_HEADER = "X-GitHub-Event"
DELIVERY_HEADER = "X-GitHub-Delivery"
HOOK_ID_HEADER = "X-GitHub-Hook-ID"


@dataclass(frozen=True, slots=True)
class Delivery:
    """A verified delivery. ``delivery_id`` (a GUID) is the idempotency key: GitHub sends
    the same one again when a delivery is redelivered."""

    event: str
    delivery_id: str
    payload: WebhookEvent | None
    hook_id: str | None = None

    @property
    def handled(self) -> bool:
        return self.payload is not None


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is not None:
        return value
    wanted = name.lower()
    for key, candidate in headers.items():
        if key.lower() == wanted:
            return candidate
    return None


def read_delivery(headers: Mapping[str, str], body: bytes, *, secret: str | bytes) -> Delivery:
    """Verify and parse one delivery.

    Raises ``SignatureError`` (401) when unsigned or wrongly signed, ``PayloadError`` (400)
    when a header is missing or the payload is malformed, ``WebhookSecretMissing`` (503)
    when ``secret`` is empty. Header names are matched case-insensitively.
    """
    verify_signature(secret, body, _header(headers, SIGNATURE_HEADER))
    event = (_header(headers, EVENT_HEADER) or "").strip()
    if not event:
        raise PayloadError(
            f"{EVENT_HEADER}: missing; GitHub names the event in this header",
            field=EVENT_HEADER,
        )
    delivery_id = (_header(headers, DELIVERY_HEADER) or "").strip()
    if not delivery_id:
        raise PayloadError(
            f"{DELIVERY_HEADER}: missing; GitHub sends a unique id per delivery in this header",
            field=DELIVERY_HEADER,
        )
    payload = parse_event(event, body)
    return Delivery(
        event=event,
        delivery_id=delivery_id,
        payload=payload,
        hook_id=_header(headers, HOOK_ID_HEADER),
    )
