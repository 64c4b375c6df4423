"""A real local OpenID Connect issuer for the tests: keys generated with cryptography, served
as a JWKS (and the discovery document naming it) by a threaded ``http.server``, and tokens
signed with PyJWT the way GitHub Actions and GitLab CI sign theirs.

One server stands for two issuers: ``{base}/github`` (GitHub Actions claims) and
``{base}/gitlab`` (GitLab CI claims). ``policy_with_trust`` writes a policy file whose ``oidc``
section trusts them.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import jwt
import yaml
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

import changegate.policy

DEFAULT_POLICY = Path(changegate.policy.__file__).parent / "default.yaml"
AUDIENCE = "changegate"
SHA = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"


def _jwk(public: Any, kid: str, alg: str) -> dict[str, Any]:
    algorithm = RSAAlgorithm if alg == "RS256" else ECAlgorithm
    jwk: dict[str, Any] = json.loads(algorithm.to_jwk(public))
    return jwk | {"kid": kid, "alg": alg, "use": "sig"}


@dataclass
class Issuer:
    """Signing keys, a served JWKS, and a token factory."""

    base: str = ""
    rsa_key: Any = field(default_factory=lambda: rsa.generate_private_key(65537, 2048))
    ec_key: Any = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    #: a key nobody publishes: what a forger signs with
    other_key: Any = field(default_factory=lambda: rsa.generate_private_key(65537, 2048))
    requests: list[str] = field(default_factory=list)
    #: what the GitHub runner's token endpoint (``{base}/github/idtoken``) issues: the claims
    #: of the job that asks, and the request token the runner gives the job
    job: dict[str, Any] = field(default_factory=dict)
    runner_secret: str = "runner-request-token"

    def url(self, platform: str) -> str:
        return f"{self.base}/{platform}"

    def jwks(self) -> dict[str, Any]:
        return {
            "keys": [
                _jwk(self.rsa_key.public_key(), "rsa-1", "RS256"),
                _jwk(self.ec_key.public_key(), "ec-1", "ES256"),
            ]
        }

    def claims(self, platform: str = "github", **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        if platform == "github":
            base = {
                "repository": "acme/shop",
                "ref": "refs/heads/main",
                "environment": "production",
                "actor": "carol-gh",
                "sub": "repo:acme/shop:environment:production",
            }
        else:
            base = {
                "project_path": "acme/shop",
                "ref": "main",
                "ref_type": "branch",
                "environment": "production",
                "user_login": "carol-gl",
                "sub": "project_path:acme/shop:ref_type:branch:ref:main",
            }
        return {
            "iss": self.url(platform),
            "aud": AUDIENCE,
            "iat": now,
            "nbf": now,
            "exp": now + 300,
            "sha": SHA,
            **base,
            **overrides,
        }

    def token(
        self,
        platform: str = "github",
        *,
        alg: str = "RS256",
        kid: str | None = None,
        key: Any = None,
        **claims: Any,
    ) -> str:
        """A token signed as the issuer signs (or with ``key``/``kid``/``alg`` as a forger)."""
        if key is None:
            key = self.ec_key if alg == "ES256" else self.rsa_key
        headers = {"kid": kid or ("ec-1" if alg == "ES256" else "rsa-1")}
        payload = {k: v for k, v in self.claims(platform, **claims).items() if v is not None}
        return jwt.encode(payload, key, algorithm=alg, headers=headers)


def _handler(issuer: Issuer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            issuer.requests.append(self.path)
            path, _, query = self.path.partition("?")
            platform, _, rest = path.strip("/").partition("/")
            if rest == "idtoken":  # ACTIONS_ID_TOKEN_REQUEST_URL
                if self.headers.get("Authorization") != f"bearer {issuer.runner_secret}":
                    self.send_error(401)
                    return
                audience = dict(parse_qsl(query)).get("audience", "")
                body = {"value": issuer.token(platform, **{"aud": audience, **issuer.job})}
            elif rest == ".well-known/openid-configuration":
                body = {"issuer": issuer.url(platform), "jwks_uri": f"{issuer.url(platform)}/jwks"}
            elif rest == "jwks":
                body = issuer.jwks()
            else:
                self.send_error(404)
                return
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def serving_issuer() -> Iterator[Issuer]:
    issuer = Issuer()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(issuer))
    issuer.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield issuer
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


#: the trust rules the tests run under: main of acme/shop deploys as ci-bot; any other branch
#: only attaches evidence and checks the gate; GitLab's acme/shop deploys to staging
TRUST = [
    {
        "issuer": "github",
        "repository": "acme/shop",
        "refs": ["refs/heads/main"],
        "acts_as": "ci-bot",
        "roles": ["ci", "deployer"],
    },
    {
        "issuer": "github",
        "repository": "acme/shop",
        "refs": ["refs/heads/**"],
        "acts_as": "ci-bot",
        "roles": ["ci"],
    },
    {
        "issuer": "gitlab",
        "repository": "acme/shop",
        "refs": ["refs/heads/main"],
        "environments": ["staging", "production"],
        "acts_as": "ci-bot",
        "roles": ["ci", "deployer"],
    },
]


def oidc_section(issuer: Issuer, trust: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "audience": AUDIENCE,
        "issuers": [
            {"name": "github", "kind": "github", "url": issuer.url("github")},
            {"name": "gitlab", "kind": "gitlab", "url": issuer.url("gitlab")},
        ],
        "trust": TRUST if trust is None else trust,
    }


def policy_with_trust(issuer: Issuer, directory: Path) -> Path:
    """The default policy with an ``oidc`` section trusting the local issuer."""
    document = yaml.safe_load(DEFAULT_POLICY.read_text())
    document["oidc"] = oidc_section(issuer)
    path = directory / "policy.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path
