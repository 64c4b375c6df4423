"""The ``oidc:`` section of the policy file: which CI identity tokens changegate accepts and
which pipelines it trusts (docs/pipelines.md).

A pipeline authenticates with the OpenID Connect ID token its CI platform issues to the job
(GitHub Actions, GitLab CI), the way PyPI's trusted publishing does: no long-lived secret in the
CI settings. The token says which repository, ref, environment, commit and person the job runs
for; a trust rule says which of those may act, as which changegate service identity, with
which of its roles. Checking a token against the rules is :mod:`changegate.auth.trust`.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, model_validator

#: hosts an issuer may be reached at over plain http (a test's or a developer's own issuer)
LOOPBACK = ("127.0.0.1", "localhost", "::1")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class OidcIssuer(_Strict):
    """An issuer of CI ID tokens: ``url`` is its ``iss`` claim; ``kind`` names its claims."""

    name: str = Field(min_length=1, max_length=100)
    url: str = Field(min_length=1, max_length=500)
    kind: Literal["github", "gitlab"]
    #: where its signing keys are; default: ``jwks_uri`` of ``{url}/.well-known/openid-configuration``
    jwks_url: str | None = None

    @model_validator(mode="after")
    def _https(self) -> OidcIssuer:
        for where, url in (("url", self.url), ("jwks_url", self.jwks_url)):
            if url is None:
                continue
            parts = urlsplit(url)
            if parts.scheme != "https" and not (
                parts.scheme == "http" and parts.hostname in LOOPBACK
            ):
                raise ValueError(f"oidc.issuers.{self.name}.{where}: {url!r} must be an https URL")
        return self


class TrustRule(_Strict):
    """Jobs of ``repository`` (GitHub ``repository``, GitLab ``project_path``) on a ref matching
    one of ``refs`` (globs as in path rules, e.g. ``refs/heads/main``; none: any ref), in one of
    ``environments`` (the token's ``environment``; none: any), act as the changegate user
    ``acts_as`` with those of its roles listed in ``roles``."""

    issuer: str = Field(min_length=1, max_length=100)
    repository: str = Field(min_length=1, max_length=300)
    refs: list[str] = []
    environments: list[str] = []
    acts_as: str = Field(min_length=1, max_length=100)
    roles: list[str] = Field(min_length=1)


GITHUB = OidcIssuer(name="github", url="https://token.actions.githubusercontent.com", kind="github")
GITLAB = OidcIssuer(name="gitlab", url="https://gitlab.com", kind="gitlab")


class Oidc(_Strict):
    """§4d, §7: deployments via CI/CD, as identities the policy names."""

    section: str = "4d, 7"
    #: the ``aud`` claim a token must carry (the Action and the GitLab template request it)
    audience: str = Field(default="changegate", min_length=1, max_length=200)
    #: signature algorithms accepted; never ``none`` or a shared-secret (HS*) one
    algorithms: list[Literal["RS256", "ES256"]] = Field(default=["RS256", "ES256"], min_length=1)
    #: clock skew tolerated on ``exp``, ``nbf`` and ``iat``
    leeway_seconds: int = Field(default=60, ge=0, le=600)
    #: how long fetched signing keys are used before they are fetched again
    jwks_ttl_seconds: int = Field(default=300, gt=0, le=86_400)
    issuers: list[OidcIssuer] = [GITHUB, GITLAB]
    trust: list[TrustRule] = []

    def problems(self, roles: Collection[str], environments: Collection[str]) -> list[str]:
        """What in this section refers to nothing (run by the policy's cross-reference check)."""
        from changegate.policy.errors import PathRuleError
        from changegate.policy.glob import compile_glob

        out: list[str] = []
        names = [issuer.name for issuer in self.issuers]
        urls = [issuer.url for issuer in self.issuers]
        for what, seen in (("name", names), ("url", urls)):
            if len(set(seen)) != len(seen):
                out.append(f"oidc.issuers: duplicate issuer {what}")
        for i, rule in enumerate(self.trust):
            where = f"oidc.trust.{i} ({rule.repository})"
            if rule.issuer not in names:
                out.append(f"{where}.issuer: unknown issuer '{rule.issuer}' (issuers: {names})")
            out += [f"{where}.roles: unknown role '{r}'" for r in rule.roles if r not in roles]
            out += [
                f"{where}.environments: unknown environment '{e}'"
                for e in rule.environments
                if e not in environments
            ]
            for pattern in rule.refs:
                try:
                    compile_glob(pattern)
                except PathRuleError as exc:
                    out.append(f"{where}.refs: {exc.message}")
        return out
