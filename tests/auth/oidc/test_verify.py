"""Verifying CI identity tokens against a real local issuer (JWKS over HTTP) with real
signatures: what is accepted, and every way a token is refused."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from changegate.auth.errors import Unauthenticated
from changegate.auth.oidc import JwksCache, looks_like_jwt, verify
from changegate.policy.trust import Oidc
from tests.auth.oidc.issuer import SHA, Issuer, oidc_section, serving_issuer


@pytest.fixture(scope="module")
def issuer() -> Iterator[Issuer]:
    with serving_issuer() as served:
        yield served


@pytest.fixture
def oidc(issuer: Issuer) -> Oidc:
    return Oidc.model_validate(oidc_section(issuer))


def _refused(raw: str, oidc: Oidc, match: str) -> None:
    with pytest.raises(Unauthenticated, match=match):
        verify(raw, oidc, JwksCache(ttl=300))


def test_a_valid_github_token_is_verified(issuer: Issuer, oidc: Oidc) -> None:
    raw = issuer.token()
    assert looks_like_jwt(raw)
    found, claims = verify(raw, oidc, JwksCache(ttl=300))
    assert found.name == "github"
    assert claims["repository"] == "acme/shop" and claims["sha"] == SHA


def test_an_es256_gitlab_token_is_verified(issuer: Issuer, oidc: Oidc) -> None:
    found, claims = verify(issuer.token("gitlab", alg="ES256"), oidc, JwksCache(ttl=300))
    assert found.kind == "gitlab" and claims["user_login"] == "carol-gl"


def test_expired(issuer: Issuer, oidc: Oidc) -> None:
    now = int(time.time())
    _refused(issuer.token(iat=now - 900, nbf=now - 900, exp=now - 600), oidc, "expired")


def test_expired_within_the_leeway_still_counts(issuer: Issuer, oidc: Oidc) -> None:
    now = int(time.time())
    verify(issuer.token(iat=now - 600, nbf=now - 600, exp=now - 30), oidc, JwksCache(ttl=300))


def test_not_yet_valid(issuer: Issuer, oidc: Oidc) -> None:
    now = int(time.time())
    _refused(issuer.token(nbf=now + 600, exp=now + 900), oidc, "not valid yet")
    _refused(issuer.token(iat=now + 600, nbf=None, exp=now + 900), oidc, "not valid yet")


def test_wrong_audience(issuer: Issuer, oidc: Oidc) -> None:
    _refused(issuer.token(aud="https://github.com/acme"), oidc, "audience")


def test_wrong_issuer(issuer: Issuer, oidc: Oidc) -> None:
    _refused(issuer.token(iss="https://token.actions.example.com"), oidc, "not one of the policy's")


def test_an_issuer_the_policy_does_not_name(issuer: Issuer) -> None:
    only_gitlab = Oidc.model_validate(oidc_section(issuer) | {"issuers": []})
    _refused(issuer.token(), only_gitlab, "not one of the policy's oidc.issuers")


def test_unknown_key_id(issuer: Issuer, oidc: Oidc) -> None:
    _refused(issuer.token(kid="rotated-away"), oidc, "unknown key id")


def test_forged_claims_signed_by_another_key(issuer: Issuer, oidc: Oidc) -> None:
    """Claims for a trusted repository, signed with a key the issuer never published, under
    the issuer's real key id."""
    forged = issuer.token(key=issuer.other_key, actor="mallory", kid="rsa-1")
    _refused(forged, oidc, "signature does not verify")


def test_claims_edited_after_signing(issuer: Issuer, oidc: Oidc) -> None:
    header, payload, signature = issuer.token().split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["repository"] = "acme/payments"
    edited = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    _refused(f"{header}.{edited}.{signature}", oidc, "signature does not verify")


def _unsigned(issuer: Issuer, alg: str, key: Any = None) -> str:
    header = {"alg": alg, "kid": "rsa-1", "typ": "JWT"}
    parts = [
        base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()
        for part in (header, issuer.claims())
    ]
    return ".".join([*parts, ""])


def test_alg_none_is_refused(issuer: Issuer, oidc: Oidc) -> None:
    _refused(_unsigned(issuer, "none"), oidc, "algorithm 'none' is not accepted")


def test_hs256_keyed_with_the_public_key_is_refused(issuer: Issuer, oidc: Oidc) -> None:
    """The classic confusion: HMAC keyed with the issuer's (public) RSA key."""
    public = issuer.rsa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = {"alg": "HS256", "kid": "rsa-1", "typ": "JWT"}
    signing = ".".join(
        base64.urlsafe_b64encode(json.dumps(p).encode()).rstrip(b"=").decode()
        for p in (header, issuer.claims())
    )
    import hashlib
    import hmac

    mac = hmac.new(public, signing.encode(), hashlib.sha256).digest()
    raw = f"{signing}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"
    _refused(raw, oidc, "algorithm 'HS256' is not accepted")


def test_a_key_of_another_kind_than_the_header_says(issuer: Issuer, oidc: Oidc) -> None:
    raw = issuer.token(alg="ES256", kid="rsa-1")
    _refused(raw, oidc, "is a RS256 key, the token says ES256")


def test_missing_claims_and_garbage(issuer: Issuer, oidc: Oidc) -> None:
    _refused(issuer.token(exp=None), oidc, "exp")
    _refused("eyJhbGciOiJSUzI1NiJ9.bm9wZQ.c2ln", oidc, "not a well-formed JWT")


def test_keys_are_cached_for_the_ttl_and_refetched_after(issuer: Issuer, oidc: Oidc) -> None:
    clock = [1000.0]
    cache = JwksCache(ttl=300, clock=lambda: clock[0])
    for _ in range(3):
        verify(issuer.token(), oidc, cache)
    assert cache.fetches == 1
    clock[0] += 301
    verify(issuer.token(), oidc, cache)
    assert cache.fetches == 2
    # an unknown key id refetches once the set is older than the refetch floor, no sooner
    for _ in range(2):
        with pytest.raises(Unauthenticated):
            verify(issuer.token(kid="new-key"), oidc, cache)
    assert cache.fetches == 2
    clock[0] += 11
    with pytest.raises(Unauthenticated):
        verify(issuer.token(kid="new-key"), oidc, cache)
    assert cache.fetches == 3


def test_the_policy_refuses_weak_settings(issuer: Issuer) -> None:
    from pydantic import ValidationError

    for bad in (
        {"algorithms": ["HS256"]},
        {"algorithms": ["none"]},
        {"issuers": [{"name": "x", "kind": "github", "url": "http://tokens.example.com"}]},
    ):
        with pytest.raises(ValidationError):
            Oidc.model_validate(oidc_section(issuer) | bad)


def test_pyjwt_itself_refuses_none_when_asked_for_rs256(issuer: Issuer) -> None:
    """The library check the policy's allow-list sits on."""
    with pytest.raises(jwt.PyJWTError):
        jwt.decode(_unsigned(issuer, "none"), "k", algorithms=["RS256"], audience="changegate")
