from __future__ import annotations

from collections.abc import Callable

import pytest

from changegate.github.delivery import read_delivery
from changegate.github.errors import PayloadError, SignatureError, WebhookSecretMissing
from changegate.github.payloads import PullRequestEvent
from changegate.github.signature import compute_signature

SECRET = "delivery-secret"
GUID = "72d3162e-cc78-11e3-81ab-4c9367dc0958"


def headers(body: bytes, event: str = "pull_request", **extra: str) -> dict[str, str]:
    return {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": GUID,
        "X-GitHub-Hook-ID": "500123456",
        "X-Hub-Signature-256": compute_signature(SECRET, body),
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/044aadd",
        **extra,
    }


def test_a_signed_delivery(load_payload: Callable[[str], bytes]) -> None:
    body = load_payload("pull_request.opened.json")
    delivery = read_delivery(headers(body), body, secret=SECRET)
    assert delivery.event == "pull_request" and delivery.delivery_id == GUID
    assert delivery.hook_id == "500123456" and delivery.handled
    assert isinstance(delivery.payload, PullRequestEvent)


def test_header_names_are_case_insensitive(load_payload: Callable[[str], bytes]) -> None:
    body = load_payload("push.default_branch.json")
    lowered = {k.lower(): v for k, v in headers(body, "push").items()}
    assert read_delivery(lowered, body, secret=SECRET).event == "push"


def test_unknown_events_are_acknowledged_without_payload() -> None:
    body = b'{"action": "created", "anything": true}'
    delivery = read_delivery(headers(body, "star"), body, secret=SECRET)
    assert delivery.payload is None and not delivery.handled


def test_the_signature_is_checked_before_anything_else() -> None:
    body = b"not json at all"
    bad = headers(body, **{"X-Hub-Signature-256": "sha256=" + "0" * 64})
    with pytest.raises(SignatureError):
        read_delivery(bad, body, secret=SECRET)
    unsigned = headers(body)
    del unsigned["X-Hub-Signature-256"]
    del unsigned["X-GitHub-Event"]
    with pytest.raises(SignatureError, match="missing"):
        read_delivery(unsigned, body, secret=SECRET)
    with pytest.raises(WebhookSecretMissing):
        read_delivery(headers(body), body, secret="")


def test_a_signed_but_malformed_delivery_is_a_payload_error(
    load_payload: Callable[[str], bytes],
) -> None:
    body = b'{"action": "opened"}'
    with pytest.raises(PayloadError) as excinfo:
        read_delivery(headers(body), body, secret=SECRET)
    assert excinfo.value.http_status == 400
    body = load_payload("pull_request.opened.json")
    for missing in ("X-GitHub-Event", "X-GitHub-Delivery"):
        partial = headers(body)
        del partial[missing]
        with pytest.raises(PayloadError, match=f"{missing}: missing"):
            read_delivery(partial, body, secret=SECRET)
