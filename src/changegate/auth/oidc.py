"""Verifying a CI job's OpenID Connect ID token (GitHub Actions, GitLab CI).

The token is a JWT signed by its issuer. It is accepted only when its issuer is one the
policy's ``oidc.issuers`` names (matched exactly on ``iss``), its header names an allowed
algorithm (``oidc.algorithms``: RS256/ES256, never ``none`` or a shared-secret HS*) and a key
the issuer publishes in its JWKS, its signature verifies with that key, its ``aud`` is the
policy's audience, and ``exp``, ``nbf`` and ``iat`` hold within ``oidc.leeway_seconds``.

Keys are fetched with httpx (the issuer's ``/.well-known/openid-configuration`` names its
``jwks_uri``) and kept ``oidc.jwks_ttl_seconds``; a key id not in the cached set makes one
early refetch (keys rotate), at most every :data:`REFETCH_SECONDS`. Verification needs no
database: the API runs it before it opens the request's transaction.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from changegate.auth.errors import Unauthenticated

if TYPE_CHECKING:
    from changegate.policy.trust import Oidc, OidcIssuer

#: the soonest a set of keys is fetched again because a token named a key id it lacks
REFETCH_SECONDS = 10.0
#: how long one fetch may take
FETCH_TIMEOUT = 5.0
#: claims every accepted token carries
REQUIRED_CLAIMS = ["iss", "aud", "exp", "iat", "sub"]


def looks_like_jwt(raw: str) -> bool:
    """A JWS compact token (three base64url parts, a JSON header) rather than an API token."""
    return raw.startswith("eyJ") and raw.count(".") == 2


def _refuse(reason: str) -> Unauthenticated:
    return Unauthenticated(f"CI identity token refused: {reason}", field="Authorization")


@dataclass
class _KeySet:
    fetched_at: float
    keys: dict[str, Any]  # kid -> jwt.PyJWK


class JwksCache:
    """Each issuer's signing keys by key id, fetched over HTTPS and kept ``ttl`` seconds."""

    def __init__(self, *, ttl: float, clock: Any = time.monotonic) -> None:
        self.ttl = ttl
        self._clock = clock
        self._sets: dict[str, _KeySet] = {}
        self._lock = threading.Lock()
        #: how many times key sets were fetched (the tests read it to see the cache work)
        self.fetches = 0

    def key(self, issuer: OidcIssuer, kid: str) -> Any:
        """The issuer's key ``kid`` (a ``jwt.PyJWK``); refuses a key id it does not publish."""
        with self._lock:
            now = self._clock()
            cached = self._sets.get(issuer.url)
            stale = cached is None or now - cached.fetched_at > self.ttl
            missing = cached is not None and kid not in cached.keys
            if stale or (missing and now - cached.fetched_at > REFETCH_SECONDS):  # type: ignore[union-attr]
                cached = self._sets[issuer.url] = _KeySet(now, self._fetch(issuer))
            assert cached is not None
            found = cached.keys.get(kid)
        if found is None:
            raise _refuse(f"issuer {issuer.url} publishes no key {kid!r} (unknown key id)")
        return found

    def _fetch(self, issuer: OidcIssuer) -> dict[str, Any]:
        import httpx
        import jwt

        self.fetches += 1
        try:
            with httpx.Client(timeout=FETCH_TIMEOUT, follow_redirects=False) as client:
                url = issuer.jwks_url or _jwks_uri(client, issuer)
                answer = client.get(url)
                answer.raise_for_status()
                document = answer.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise _refuse(f"could not fetch the signing keys of {issuer.url}: {exc}") from exc
        keys: dict[str, Any] = {}
        for entry in document.get("keys", []) if isinstance(document, dict) else []:
            if not isinstance(entry, dict) or not entry.get("kid"):
                continue
            try:
                keys[str(entry["kid"])] = jwt.PyJWK(entry)
            except jwt.PyJWTError:
                continue  # a key of a kind we do not use (or malformed): never matched
        return keys


def _jwks_uri(client: Any, issuer: OidcIssuer) -> str:
    answer = client.get(issuer.url.rstrip("/") + "/.well-known/openid-configuration")
    answer.raise_for_status()
    uri = answer.json().get("jwks_uri")
    if not isinstance(uri, str) or not uri:
        raise ValueError(f"{issuer.url}'s OpenID configuration names no jwks_uri")
    return uri


def _unverified(raw: str) -> tuple[dict[str, Any], dict[str, Any]]:
    import jwt

    try:
        header = jwt.get_unverified_header(raw)
        claims = jwt.decode(raw, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise _refuse(f"not a well-formed JWT ({exc})") from exc
    return header, claims


def verify(raw: str, oidc: Oidc, cache: JwksCache) -> tuple[OidcIssuer, dict[str, Any]]:
    """The issuer and the verified claims of ``raw``; ``Unauthenticated`` saying why not."""
    import jwt

    header, unverified = _unverified(raw)
    alg = header.get("alg")
    if alg not in oidc.algorithms:
        raise _refuse(
            f"algorithm {alg!r} is not accepted (the policy's oidc.algorithms: "
            f"{', '.join(oidc.algorithms)})"
        )
    iss = unverified.get("iss")
    issuer = next((i for i in oidc.issuers if i.url == iss), None)
    if issuer is None:
        raise _refuse(f"issuer {iss!r} is not one of the policy's oidc.issuers")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise _refuse("the token's header names no key id (kid)")
    key = cache.key(issuer, kid)
    if key.algorithm_name != alg:
        raise _refuse(f"key {kid!r} is a {key.algorithm_name} key, the token says {alg}")
    try:
        claims: dict[str, Any] = jwt.decode(
            raw,
            key.key,
            algorithms=[alg],
            audience=oidc.audience,
            issuer=issuer.url,
            leeway=oidc.leeway_seconds,
            options={"require": REQUIRED_CLAIMS, "verify_iat": True},
        )
    except jwt.ExpiredSignatureError as exc:
        raise _refuse(f"expired (exp {unverified.get('exp')})") from exc
    except jwt.ImmatureSignatureError as exc:
        raise _refuse(f"not valid yet (nbf/iat in the future: {exc})") from exc
    except jwt.InvalidAudienceError as exc:
        raise _refuse(
            f"audience {unverified.get('aud')!r} is not {oidc.audience!r} (oidc.audience)"
        ) from exc
    except jwt.InvalidSignatureError as exc:
        raise _refuse(f"the signature does not verify with {issuer.url}'s key {kid!r}") from exc
    except jwt.PyJWTError as exc:
        raise _refuse(str(exc)) from exc
    return issuer, claims
