"""GitHub webhook signatures (``X-Hub-Signature-256``).

GitHub signs each delivery's raw body with HMAC-SHA256 under the webhook's secret and sends
``sha256=<hex digest>``. Verification must use the raw bytes as received (not re-serialised
JSON) and a constant-time comparison.
"""

from __future__ import annotations

import hashlib
import hmac

from changegate.github.errors import SignatureError, WebhookSecretMissing

SIGNATURE_HEADER = "X-Hub-Signature-256"
_PREFIX = "sha256="
_HEX_DIGITS = frozenset("0123456789abcdef")


def _secret_bytes(secret: str | bytes) -> bytes:
    key = secret.encode("utf-8") if isinstance(secret, str) else secret
    if not key:
        raise WebhookSecretMissing(
            "webhook secret is empty; set CHANGEGATE_GITHUB_WEBHOOK_SECRET to the secret "
            "configured on the GitHub webhook",
            field="CHANGEGATE_GITHUB_WEBHOOK_SECRET",
        )
    return key


def compute_signature(secret: str | bytes, body: bytes) -> str:
    """The ``X-Hub-Signature-256`` value GitHub sends for ``body``: ``sha256=<hex>``."""
    digest = hmac.new(_secret_bytes(secret), body, hashlib.sha256).hexdigest()
    return _PREFIX + digest


def verify_signature(secret: str | bytes, body: bytes, header: str | None) -> None:
    """Raise ``SignatureError`` unless ``header`` is the right signature of ``body``.

    An empty secret raises ``WebhookSecretMissing``: an unconfigured server must refuse
    every delivery, never accept them all.
    """
    expected = compute_signature(secret, body)
    if header is None or not header.strip():
        raise SignatureError(
            f"{SIGNATURE_HEADER}: missing; configure a secret on the GitHub webhook so that "
            "deliveries are signed",
            field=SIGNATURE_HEADER,
        )
    value = header.strip()
    if not value.startswith(_PREFIX):
        raise SignatureError(
            f"{SIGNATURE_HEADER}: expected 'sha256=<hex digest>'; "
            "send the SHA-256 signature, not X-Hub-Signature (SHA-1)",
            field=SIGNATURE_HEADER,
        )
    digest = value[len(_PREFIX) :].lower()
    if len(digest) != 64 or not set(digest) <= _HEX_DIGITS:
        raise SignatureError(
            f"{SIGNATURE_HEADER}: the digest is not 64 hex digits; send GitHub's header as is",
            field=SIGNATURE_HEADER,
        )
    if not hmac.compare_digest(expected[len(_PREFIX) :].encode(), digest.encode()):
        raise SignatureError(
            f"{SIGNATURE_HEADER}: does not match the body; check that the webhook secret "
            "equals CHANGEGATE_GITHUB_WEBHOOK_SECRET and that the body reaches us unmodified",
            field=SIGNATURE_HEADER,
        )


def is_valid_signature(secret: str | bytes, body: bytes, header: str | None) -> bool:
    """Whether ``header`` is the right signature of ``body`` (empty secret: an error)."""
    try:
        verify_signature(secret, body, header)
    except SignatureError:
        return False
    return True
