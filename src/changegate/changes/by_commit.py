"""The change behind a commit: what ``gate --git-sha``, deploying by commit and the GitHub
deployment events find a change by.

A commit is covered by a change only when it is one of the change's own commits (its pull
request's head among them) or the merge commit of its pull request as GitHub reported it. A
commit message that names a change is a reference: shown on the change, never a cover.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from changegate.changes.keys import change_key
from changegate.changes.models import Change
from changegate.errors import ChangegateError, InvalidInput
from changegate.scm.models import ChangeCommit
from changegate.scm.sha import check_sha


class NoLinkedChange(ChangegateError):
    """No change record is linked to a commit: for the gate, a closed gate (exit code 1)."""

    exit_code = 1
    http_status = 404


#: the kinds of ``commit_links`` that cover a commit: only the merge commit GitHub reported.
#: ``reference`` (a commit message naming a change) and ``push`` (how references were linked
#: before schema 0007) are shown on the change and never open a gate.
GATE_LINKS = ("merge",)


@dataclass(frozen=True)
class CommitMatch:
    change: Change
    sha: str
    via: str  # merge | commit

    def describe(self) -> str:
        what = {"merge": "merge commit", "commit": "commit"}.get(self.via, self.via)
        return f"{self.sha[:12]} is a {what} of {self.change.key}"


def changes_for_commit(session: Session, sha: str) -> list[tuple[int, str]]:
    """(change id, how) pairs that cover the full commit ``sha``, strongest first: the merge
    commit of the change's pull request as GitHub reported it, or one of the change's own
    commits (its pull request's head among them). Exact matches only: an abbreviated SHA
    may name another commit. References (a commit message naming a change) cover nothing."""
    from changegate.audit.verify import undescribed
    from changegate.github.models import CommitLink

    value = check_sha(sha)
    found: list[tuple[int, str]] = []
    # Each row relied on is checked against the audit event describing it, so a row written
    # behind the log's back links nothing (``audit verify`` names it): a merge link is an
    # audited row; the commit index is derived from the change's audited ``commits``.
    for link in session.scalars(
        select(CommitLink).where(CommitLink.sha == value, CommitLink.kind.in_(GATE_LINKS))
    ):
        if undescribed(session, "commit_link", link) is None:
            found.append((int(link.change_id), str(link.kind)))
    ids = session.scalars(select(ChangeCommit.change_id).where(ChangeCommit.sha == value)).all()
    if ids:
        for change in session.scalars(select(Change).where(Change.id.in_(ids))):
            listed = value in (c.lower() for c in change.commits or [])
            if listed and undescribed(session, "change", change) is None:
                found.append((int(change.id), "commit"))
    unique: dict[int, str] = {}
    for change_id, kind in found:
        unique.setdefault(change_id, kind)
    return list(unique.items())


def find_change_by_commit(session: Session, sha: str, *, lock: bool = False) -> CommitMatch:
    """The change a full commit SHA belongs to: its pull request's merge commit (strongest),
    or one of its own commits. Raises ``NoLinkedChange`` when none, ``InvalidInput`` when the
    SHA is not a full one or the commit belongs to several changes at the same strength."""
    from changegate.changes.service import get_change

    value = check_sha(sha)
    links = changes_for_commit(session, value)
    if not links:
        raise NoLinkedChange(
            f"no change record is linked to commit {value[:12]}: link it with "
            f"`changegate change edit CHG-n --commit {value}` (or open a pull request), "
            "or gate the change by its id",
            field="git-sha",
        )
    strength = {"merge": 0, "commit": 1}
    best = min(strength.get(kind, 3) for _, kind in links)
    top = [(cid, kind) for cid, kind in links if strength.get(kind, 3) == best]
    if len(top) > 1:
        keys = ", ".join(change_key(cid) for cid, _ in sorted(top))
        raise InvalidInput(
            f"commit {value[:12]} belongs to several changes ({keys}); give the change id "
            "instead of --git-sha",
            field="git-sha",
        )
    change_id, kind = top[0]
    return CommitMatch(
        change=get_change(session, change_key(change_id), lock=lock), sha=value, via=kind
    )
