"""The commit index: ``change_commits`` holds each change's ``commits`` by SHA, and
``change_index`` the revision and content digest of its present content, so that the gate
and the history audit find a change by commit, and its approvals, with one indexed lookup.

Both are derived from the audited ``changes`` row and rewritten whenever a change is written
(``changegate.changes.floor.change_written``); ``audit verify`` checks them against it.
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from changegate.changes.models import Change
from changegate.scm.models import ChangeCommit, ChangeIndex


def sync_commit_index(session: Session, change: Change) -> None:
    if change.id is None:
        session.flush()
    wanted = list(dict.fromkeys(sha.lower() for sha in change.commits or []))
    existing = session.execute(
        select(ChangeCommit.id, ChangeCommit.sha).where(ChangeCommit.change_id == change.id)
    ).all()
    have = {sha for _, sha in existing}
    for row_id, sha in existing:
        if sha not in wanted:
            session.execute(delete(ChangeCommit).where(ChangeCommit.id == row_id))
    for sha in wanted:
        if sha not in have:
            session.add(ChangeCommit(change_id=change.id, sha=sha))
    index = session.get(ChangeIndex, change.id)
    digest = change.content_digest()
    if index is None:
        session.add(
            ChangeIndex(change_id=change.id, revision=change.revision, content_digest=digest)
        )
    else:
        index.revision = change.revision
        index.content_digest = digest
    session.flush()
