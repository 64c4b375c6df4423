"""`changegate gate`, `deploy`, `rollback`, `history` over the local database."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from changegate.cli.local.base import LocalBackend

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from changegate.changes.models import Change


def _named(name: str | None, option: str) -> str:
    """Locally nobody is authenticated: the deployer is named, or is $GITHUB_ACTOR (set in
    GitHub Actions; a GitHub login maps to its user)."""
    value = name or os.environ.get("GITHUB_ACTOR")
    if not value:
        from changegate.errors import InvalidInput

        raise InvalidInput(
            f"--{option}: say who deploys (a user name or GitHub login)", field=f"--{option}"
        )
    return value


def _find(session: Session, change: str | None, sha: str | None) -> tuple[Change, dict[str, Any]]:
    """The change named by id, or the one a commit belongs to (and how), locked."""
    if sha is not None:
        from changegate.changes.by_commit import find_change_by_commit

        match = find_change_by_commit(session, sha, lock=True)
        return match.change, {"commit": {"sha": match.sha, "linked_as": match.via}}
    from changegate.changes.service import get_change

    return get_change(session, change or "", lock=True), {}


class LocalPipeline(LocalBackend):
    def gate(
        self,
        change: str | None,
        sha: str | None,
        env: str,
        deployer: str | None,
        version: str | None = None,
    ) -> dict[str, Any]:
        from changegate.deployments.service import gate
        from changegate.users.service import resolve_person

        named = _named(deployer, "deployer")
        with self.tx() as (s, pol):
            found, extra = _find(s, change, sha)
            who = resolve_person(s, named)
            result = gate(s, pol, found, env=env, deployer=who, version=version)
            out: dict[str, Any] = result.to_dict()
        return out | extra

    def deploy(
        self, change: str | None, sha: str | None, env: str, version: str, by: str | None
    ) -> dict[str, Any]:
        from changegate.deployments.service import deploy
        from changegate.users.service import resolve_person

        named = _named(by, "by")
        with self.tx() as (s, pol):
            found, extra = _find(s, change, sha)
            who = resolve_person(s, named)
            result = deploy(s, pol, found, env=env, version=version, actor=who)
            deployment = result.deployment
            return {
                "deployed": deployment is not None,
                "deployment": None if deployment is None else deployment.audit_state(),
                "gate": result.gate.to_dict(),
                "state": found.state,
                "already_recorded": result.already_recorded,
                **extra,
            }

    def rollback(self, change: str, env: str, to: str, reason: str, by: str) -> dict[str, Any]:
        from changegate.changes.service import get_change
        from changegate.deployments.service import rollback

        with self.tx() as (s, pol):
            found = get_change(s, change, lock=True)
            d = rollback(s, pol, found, env=env, to_version=to, reason=reason, actor=by)
            out: dict[str, Any] = d.audit_state() | {"state": found.state}
        return out

    def history(self, env: str | None) -> list[dict[str, Any]]:
        from changegate.deployments.service import history

        with self.tx(write=False) as (s, _):
            return [d.audit_state() for d in history(s, env)]
