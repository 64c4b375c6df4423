"""Who a verified CI identity token stands for: the policy's ``oidc.trust`` rules.

A GitHub Actions token names the repository (``repository``), the ref, the job's environment,
the commit (``sha``) and the person who triggered the run (``actor``); a GitLab CI token the
same as ``project_path``, ``ref`` (a branch or tag name, qualified here as ``refs/heads/...``
or ``refs/tags/...``), ``environment``, ``sha`` and ``user_login``. The first rule whose issuer,
repository, ref and environment all match decides: the request acts as the rule's service
identity (``acts_as``) holding only those of its roles the rule lists. The person is mapped to
a changegate user (``user add --github/--gitlab LOGIN``) and is the deployer the gate checks
for segregation of duties; the commit is the one the pipeline may gate and deploy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from changegate.errors import PolicyDenied

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from changegate.policy.schema import Policy
    from changegate.policy.trust import OidcIssuer, TrustRule
    from changegate.users.models import User

#: per kind of issuer: the claims naming the repository and the person
CLAIMS = {
    "github": {"repository": "repository", "person": "actor"},
    "gitlab": {"repository": "project_path", "person": "user_login"},
}


@dataclass(frozen=True)
class Pipeline:
    """A request made by a CI job with its ID token, as the trust policy reads it."""

    issuer: str
    platform: str
    repository: str
    ref: str
    environment: str | None
    sha: str | None
    login: str | None  # the person's login on the platform
    person: str | None  # the changegate user mapped to it (None: unmapped)
    identity: str  # the service identity acted as (the rule's acts_as)
    roles: tuple[str, ...]  # the roles the request holds: the rule's, which the identity holds
    rule: int
    environments: tuple[str, ...]  # the rule's environments (none: any)

    @property
    def name(self) -> str:
        return self.identity

    def describe(self) -> str:
        return f"{self.platform} job of {self.repository} at {self.ref}"

    def audit(self) -> dict[str, Any]:
        """What the audit log keeps of the job with the gate decisions and deployments it
        makes: which repository, ref and commit, whose login, under which trust rule."""
        return {
            "issuer": self.issuer,
            "platform": self.platform,
            "repository": self.repository,
            "ref": self.ref,
            "environment": self.environment,
            "sha": self.sha,
            "login": self.login,
            "identity": self.identity,
            "rule": self.rule,
        }


def _ref(platform: str, claims: dict[str, Any]) -> str:
    ref = str(claims.get("ref") or "")
    if platform == "gitlab" and ref and not ref.startswith("refs/"):
        kind = "tags" if claims.get("ref_type") == "tag" else "heads"
        return f"refs/{kind}/{ref}"
    return ref


def _claim(claims: dict[str, Any], name: str) -> str | None:
    value = claims.get(name)
    return str(value) if value not in (None, "") else None


def match_rule(
    policy: Policy, issuer: OidcIssuer, claims: dict[str, Any]
) -> tuple[int, TrustRule, str, str]:
    """The first trust rule the token satisfies, with its repository and ref; ``PolicyDenied``
    naming what did not match (the repository, else the ref, else the environment)."""
    from changegate.policy.glob import glob_match

    repository = _claim(claims, CLAIMS[issuer.kind]["repository"]) or ""
    ref = _ref(issuer.kind, claims)
    environment = _claim(claims, "environment")
    rules = [
        (i, r)
        for i, r in enumerate(policy.oidc.trust)
        if r.issuer == issuer.name and r.repository == repository
    ]
    if not rules:
        raise PolicyDenied(
            f"repository {repository!r} ({issuer.name}) is not trusted: no oidc.trust rule of "
            "the policy names it",
            field="repository",
        )
    on_ref = [(i, r) for i, r in rules if not r.refs or any(glob_match(p, ref) for p in r.refs)]
    if not on_ref:
        allowed = sorted({p for _, r in rules for p in r.refs})
        raise PolicyDenied(
            f"ref {ref!r} of {repository} is not trusted: the oidc.trust rules allow "
            f"{', '.join(allowed)}",
            field="ref",
        )
    for i, rule in on_ref:
        if not rule.environments or environment in rule.environments:
            return i, rule, repository, ref
    allowed = sorted({e for _, r in on_ref for e in r.environments})
    raise PolicyDenied(
        f"environment {environment!r} of {repository} at {ref} is not trusted: the oidc.trust "
        f"rules allow {', '.join(allowed)}",
        field="environment",
    )


def pipeline_identity(
    session: Session, policy: Policy, issuer: OidcIssuer, claims: dict[str, Any]
) -> tuple[User, Pipeline]:
    """The service identity a verified token acts as, and what the token says about the job."""
    from sqlalchemy import select
    from sqlalchemy.orm.attributes import set_committed_value

    from changegate.users.models import User
    from changegate.users.service import user_for_login

    index, rule, repository, ref = match_rule(policy, issuer, claims)
    user = session.scalar(select(User).where(User.name == rule.acts_as))
    if user is None or not user.active:
        raise PolicyDenied(
            f"oidc.trust.{index} acts as {rule.acts_as!r}, who is not an active user: add the "
            f"service identity with `changegate user add {rule.acts_as} --role ...`",
            field="acts_as",
        )
    login = _claim(claims, CLAIMS[issuer.kind]["person"])
    person = user_for_login(session, login, platform=issuer.kind)
    pipeline = Pipeline(
        issuer=issuer.name,
        platform=issuer.kind,
        repository=repository,
        ref=ref,
        environment=_claim(claims, "environment"),
        sha=(_claim(claims, "sha") or "").lower() or None,
        login=login,
        person=person.name if person is not None else None,
        identity=user.name,
        roles=tuple(r for r in rule.roles if r in user.roles),
        rule=index,
        environments=tuple(rule.environments),
    )
    # for this request the identity holds the rule's roles only, wherever a service checks
    # them (they re-read the user through this session); loaded, never marked dirty: the
    # user's stored roles are untouched
    set_committed_value(user, "roles", list(pipeline.roles))
    return user, pipeline


def pipeline_deployer(pipeline: Pipeline, named: str | None, *, field: str) -> str:
    """The person who triggered the job, as the deployer; a name given must be theirs (their
    changegate user name or their login on the platform)."""
    if pipeline.person is None:
        raise PolicyDenied(
            f"the token's {pipeline.platform} user {pipeline.login!r} is not mapped to a "
            f"changegate user: map them with `changegate user add NAME --{pipeline.platform} "
            f"{pipeline.login}`",
            field=field,
        )
    if named is not None and named not in (pipeline.person, pipeline.login):
        raise PolicyDenied(
            f"the token says {pipeline.person} ({pipeline.platform} {pipeline.login}) triggered "
            f"this job; {field} {named!r} disagrees: leave --{field} out or name them",
            field=field,
        )
    return pipeline.person


def pipeline_commit(pipeline: Pipeline, given: str | None) -> str:
    """The commit the token names; a commit given (a full SHA or a prefix) must be it."""
    if pipeline.sha is None:
        raise PolicyDenied(
            f"the {pipeline.describe()} token names no commit (sha claim)", field="git-sha"
        )
    if given is not None and not (len(given) >= 7 and pipeline.sha.startswith(given.lower())):
        raise PolicyDenied(
            f"--git-sha {given} disagrees with the token's commit {pipeline.sha}: a pipeline "
            "gates and deploys the commit it runs for",
            field="git-sha",
        )
    return pipeline.sha


def pipeline_environment(pipeline: Pipeline, env: str) -> None:
    """A rule that lists environments lets the pipeline gate and deploy to those only."""
    if pipeline.environments and env not in pipeline.environments:
        raise PolicyDenied(
            f"--env {env}: oidc.trust.{pipeline.rule} lets {pipeline.repository} deploy to "
            f"{', '.join(pipeline.environments)} only",
            field="env",
        )


def pipeline_change(pipeline: Pipeline, found: str, named: str) -> None:
    """A pipeline naming a change by id may act on it only when it is its commit's change."""
    if found != named:
        raise PolicyDenied(
            f"{named} is not the change of the token's commit {pipeline.sha} ({found} is): a "
            "pipeline gates and deploys the change of the commit it runs for",
            field="change",
        )
