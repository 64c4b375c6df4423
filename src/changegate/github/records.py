"""What GitHub told changegate about a change, as the change's pages show it: the commits
that only name it (references) and the deployments that broke the policy (violations).
Reads only; light enough for `changegate status`."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from changegate.changes.keys import change_key
from changegate.db import iso
from changegate.github.models import CommitLink, GitHubDeployment


def references(session: Session, change_id: int) -> list[dict[str, Any]]:
    """Commits whose message names the change or its pull request: they are not covered
    by its review (``push``: recorded so before schema 0007)."""
    rows = session.scalars(
        select(CommitLink)
        .where(CommitLink.change_id == change_id, CommitLink.kind.in_(("reference", "push")))
        .order_by(CommitLink.id)
    )
    return [
        {
            "sha": r.sha,
            "repository": r.repository,
            "reason": r.reason,
            "created_at": iso(r.created_at),
        }
        for r in rows
    ]


def violation_rows(session: Session, change_id: int | None = None) -> list[GitHubDeployment]:
    """Deployments GitHub reported that broke the policy (of one change, or all), newest
    first. Rows from before schema 0007 count by ``gate_passed`` false."""
    stmt = select(GitHubDeployment).where(
        or_(GitHubDeployment.violation.is_not(None), GitHubDeployment.gate_passed.is_(False))
    )
    if change_id is not None:
        stmt = stmt.where(GitHubDeployment.change_id == change_id)
    return list(session.scalars(stmt.order_by(GitHubDeployment.id.desc())))


def violation(row: GitHubDeployment) -> dict[str, Any]:
    return {
        "github_deployment": row.github_id,
        "change": None if row.change_id is None else change_key(row.change_id),
        "repository": row.repository,
        "sha": row.sha,
        "environment": row.environment,
        "creator": row.creator_login,
        "reason": row.violation or "deployed without a passing gate",
        "at": iso(row.updated_at),
    }


def violations(session: Session, change_id: int | None = None) -> list[dict[str, Any]]:
    return [violation(r) for r in violation_rows(session, change_id)]
