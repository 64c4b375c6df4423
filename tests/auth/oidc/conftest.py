"""A server (SQLite and PostgreSQL) whose policy trusts the local issuer's pipelines."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from changegate.users import service as users
from tests.api.support import Org, database, running_org
from tests.auth.oidc.issuer import Issuer, policy_with_trust, serving_issuer
from tests.factories import DEFAULT, tx


@pytest.fixture(scope="session")
def issuer() -> Iterator[Issuer]:
    with serving_issuer() as served:
        yield served


def add(org: Org, name: str, *roles: str, **logins: Any) -> str:
    tx(
        org.engine,
        lambda s: users.add_user(s, DEFAULT.policy, name=name, roles=list(roles), **logins),
    )
    return name


@dataclass
class Trusted:
    org: Org
    issuer: Issuer
    policy: Path


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def trusted(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, issuer: Issuer
) -> Iterator[Trusted]:
    """The pipelines' service identity ci-bot (ci, deployer), carol (deployer) mapped to GitHub
    carol-gh and GitLab carol-gl, and dana (engineer, deployer) mapped to GitHub dana-gh."""
    tmp: Path = tmp_path_factory.mktemp("oidc")
    path = policy_with_trust(issuer, tmp)
    with database(str(request.param), request, tmp) as url, running_org(url, policy=path) as org:
        org._ci = add(org, "ci-bot", "ci", "deployer")
        add(org, "alice", "engineer")
        add(org, "carol", "deployer", github_login="carol-gh", gitlab_login="carol-gl")
        add(org, "dana", "engineer", "deployer", github_login="dana-gh")
        yield Trusted(org, issuer, path)
