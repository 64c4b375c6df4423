from __future__ import annotations

import hashlib
import hmac

import pytest

from changegate.github.errors import SignatureError, WebhookSecretMissing
from changegate.github.signature import compute_signature, is_valid_signature, verify_signature

# The worked example from GitHub's "Validating webhook deliveries" documentation.
DOC_SECRET = "It's a Secret to Everybody"
DOC_BODY = b"Hello, World!"
DOC_SIGNATURE = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"


def test_matches_githubs_documented_example() -> None:
    assert compute_signature(DOC_SECRET, DOC_BODY) == DOC_SIGNATURE
    assert compute_signature(DOC_SECRET.encode(), DOC_BODY) == DOC_SIGNATURE
    verify_signature(DOC_SECRET, DOC_BODY, DOC_SIGNATURE)
    assert is_valid_signature(DOC_SECRET, DOC_BODY, DOC_SIGNATURE)


def test_matches_hmac_sha256_of_the_raw_body() -> None:
    body = '{"zen": "Keep it logically awesome.", "ünï": 1}'.encode()
    expected = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert compute_signature("s3cret", body) == expected
    verify_signature("s3cret", body, expected.upper().replace("SHA256=", "sha256="))


@pytest.mark.parametrize(
    ("header", "fragment"),
    [
        (None, "missing; configure a secret on the GitHub webhook"),
        ("", "missing"),
        ("sha1=0123456789abcdef0123456789abcdef01234567", "expected 'sha256=<hex digest>'"),
        ("757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17", "expected 'sha256="),
        ("sha256=abc", "not 64 hex digits"),
        ("sha256=" + "g" * 64, "not 64 hex digits"),
        ("sha256=" + "0" * 64, "does not match the body"),
        ("sha256=ü" + "0" * 63, "not 64 hex digits"),
    ],
)
def test_refuses_unsigned_and_wrongly_signed(header: str | None, fragment: str) -> None:
    with pytest.raises(SignatureError) as excinfo:
        verify_signature(DOC_SECRET, DOC_BODY, header)
    assert fragment in str(excinfo.value)
    assert excinfo.value.http_status == 401
    assert excinfo.value.field == "X-Hub-Signature-256"
    assert isinstance(excinfo.value, ValueError)
    assert not is_valid_signature(DOC_SECRET, DOC_BODY, header)


def test_a_changed_body_or_secret_fails() -> None:
    assert not is_valid_signature(DOC_SECRET, DOC_BODY + b" ", DOC_SIGNATURE)
    assert not is_valid_signature("another secret", DOC_BODY, DOC_SIGNATURE)


def test_an_empty_secret_is_a_configuration_error_never_a_pass() -> None:
    for secret in ("", b""):
        with pytest.raises(WebhookSecretMissing, match="CHANGEGATE_GITHUB_WEBHOOK_SECRET"):
            verify_signature(secret, DOC_BODY, DOC_SIGNATURE)
        with pytest.raises(WebhookSecretMissing):
            is_valid_signature(secret, DOC_BODY, DOC_SIGNATURE)
