"""A change from git: classify a commit range under the policy, record what its files say,
and create a change for it (``changegate change from-git``; the GitHub integration does the
same for a pull request).

Class, category, components, the security flag and the commits come from the changed files;
the class may be raised above the rules' floor (``changegate.changes.floor``), never lowered.
Everything here flushes and never commits; the CLI or the API request owns the transaction.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from changegate.audit import events
from changegate.audit.service import record
from changegate.changes.floor import PolicyClassification, classify_for_policy
from changegate.changes.models import Change
from changegate.db import utcnow
from changegate.errors import PolicyDenied
from changegate.policy.catalogue import refusal
from changegate.policy.names import CLASS_NAMES
from changegate.scm.authors import identities_of, record_identities
from changegate.scm.classify import RangeClassification, classify_read
from changegate.scm.gitrepo import GitRepo
from changegate.scm.models import REPORTED_RANGE, ChangeClassification
from changegate.scm.range_read import RangeRead, read_range

if TYPE_CHECKING:
    from changegate.policy.schema import Policy

REPORTED_REFUSAL = (
    "its files were read by the client, not by changegate, so they cannot be checked "
    "against its commits; a standard change's files are read from its pull request (the "
    "GitHub integration) or by `changegate change from-git` where the record is kept"
)


@dataclass(frozen=True)
class RangeResult:
    """A classified commit range: what git says and what the policy makes of it."""

    range: RangeClassification
    policy: PolicyClassification
    commits: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = self.range.to_dict()
        out.update(self.policy.to_dict())
        out["commits"] = list(self.commits)
        return out


def classify_range(
    policy: Policy,
    repo: GitRepo | str | os.PathLike[str],
    git_range: str,
    *,
    requested_class: str | None = None,
) -> RangeResult:
    """Classify ``BASE..HEAD`` (or ``BASE...HEAD``) of a real repository under the policy."""
    read = read_range(repo, git_range, people=False)
    return classify_read_range(policy, read, requested_class=requested_class)


def classify_read_range(
    policy: Policy, read: RangeRead, *, requested_class: str | None = None
) -> RangeResult:
    """Classify a range already read (``scm.range_read``) under the policy."""
    ranged = classify_read(read, policy.path_rules, CLASS_NAMES)
    classified = classify_for_policy(policy, ranged.classification, requested_class=requested_class)
    return RangeResult(range=ranged, policy=classified, commits=read.commits)


def set_classification(
    session: Session,
    change: Change,
    *,
    source: str,
    result: RangeResult,
    actor: str,
) -> ChangeClassification:
    """Record (or update) what the path rules say about ``change``; audited."""
    row = session.scalar(
        select(ChangeClassification).where(ChangeClassification.change_id == change.id)
    )
    now = utcnow()
    values = {
        "source": source,
        "git_range": result.range.git_range[:300],
        "base_sha": result.range.base,
        "head_sha": result.range.head,
        "minimum_class": result.policy.minimum_class,
        "categories": list(result.policy.categories),
        "components": list(result.policy.components),
        "flags": list(result.policy.flags),
        "files": len(result.range.files),
    }
    if row is None:
        row = ChangeClassification(change_id=change.id, created_at=now, updated_at=now, **values)
        session.add(row)
        record(session, events.ChangeClassified, actor=actor, after=row)
        return row
    if all(getattr(row, key) == value for key, value in values.items()):
        return row
    before = row.audit_state()
    for key, value in values.items():
        setattr(row, key, value)
    row.updated_at = now
    record(session, events.ChangeClassified, actor=actor, before=before, after=row)
    return row


def create_change_from_range(
    session: Session,
    policy: Policy,
    *,
    repo: GitRepo | str | os.PathLike[str],
    git_range: str,
    author: str,
    requested_class: str | None,
    fields: Mapping[str, Any],
) -> tuple[Change, RangeResult]:
    """Create a change for ``git_range`` of the repository at ``repo`` (read here)."""
    return create_change_from_read(
        session,
        policy,
        read_range(repo, git_range),
        author=author,
        requested_class=requested_class,
        fields=fields,
        reported=False,
    )


def create_change_from_read(
    session: Session,
    policy: Policy,
    read: RangeRead,
    *,
    author: str,
    requested_class: str | None,
    fields: Mapping[str, Any],
    reported: bool,
) -> tuple[Change, RangeResult]:
    """Create a change for a range read from a repository: class, category, components,
    flags and commits come from the changed files; the class may be raised above the rules'
    floor, never lowered. Who authored and committed its commits counts as its authors.

    ``reported``: a client read the range and sent it (``change from-git`` against a
    server). The server cannot check the files against the commits, so a reported range
    never places a pre-approved change (§3a): it is refused, and its classification is kept
    as ``REPORTED_RANGE``, which a later edit to a standard class does not count as placed.
    """
    from changegate.changes.schemas import ChangeCreate  # Pydantic: only when creating
    from changegate.changes.service import create_change
    from changegate.policy.catalogue import is_pre_approved

    result = classify_read_range(policy, read, requested_class=requested_class)
    classified = result.policy
    if reported and is_pre_approved(policy, classified.change_class):
        raise PolicyDenied(refusal([REPORTED_REFUSAL]), field="class")
    values: dict[str, Any] = {
        **fields,
        "author": author,
        "change_class": classified.change_class,
        "components": list(dict.fromkeys([*fields.get("components", []), *classified.components])),
        "commits": list(result.commits),
    }
    if classified.category is not None and not fields.get("category"):
        values["category"] = classified.category
    if classified.security_impacting:
        values["security_flag"] = True
    change = create_change(session, policy, ChangeCreate(**values), placed=not reported)
    source = REPORTED_RANGE if reported else "git_range"
    set_classification(session, change, source=source, result=result, actor=author)
    if change.commits:
        people = identities_of(
            (i.sha, i.author_name, i.author_email, i.committer_name, i.committer_email)
            for i in read.identities
            if i.sha in change.commits
        )
        record_identities(session, change, people, source="git", actor=author)
    return change, result
