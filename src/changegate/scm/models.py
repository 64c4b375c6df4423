"""What changegate knows about the commits behind a change.

- ``ChangeClassification`` (audited): what the path rules made of the files a change's pull
  request or commit range touches, and so the lowest class the change may have.
- ``CommitAuthor`` (audited): who authored, committed or pushed a change's commits.
- ``ChangeCommit`` and ``ChangeIndex`` (derived from audited change rows): an index of ``Change.commits``
  by SHA and a cache of each change's content digest, so that finding the change behind a
  commit and auditing 100,000 commits take indexed queries. Both are rebuilt from the
  ``changes`` table whenever a change is written (``changes.floor.change_written``) and can be
  rebuilt at any time; the audit log never depends on them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from changegate.changes.keys import change_key
from changegate.db import Base, UTCDateTime, iso
from changegate.reviews.models import Review

#: ``ChangeClassification.source`` of a range a client read and sent (``change from-git``
#: against a server): the server never saw the repository, so it places no commits (§3a)
REPORTED_RANGE = "reported_range"


class ChangeClassification(Base):
    """The path-rule classification of a change created from a pull request or a range."""

    __tablename__ = "change_classifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    change_id: Mapped[int] = mapped_column(ForeignKey("changes.id"), unique=True)
    source: Mapped[str] = mapped_column(String(20))  # pull_request | git_range | reported_range
    git_range: Mapped[str] = mapped_column(String(300))
    base_sha: Mapped[str] = mapped_column(String(64))
    head_sha: Mapped[str] = mapped_column(String(64))
    minimum_class: Mapped[str] = mapped_column(String(20))
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    components: Mapped[list[str]] = mapped_column(JSON, default=list)
    flags: Mapped[list[str]] = mapped_column(JSON, default=list)
    files: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    def audit_state(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "change": change_key(self.change_id),
            "source": self.source,
            "git_range": self.git_range,
            "base_sha": self.base_sha,
            "head_sha": self.head_sha,
            "minimum_class": self.minimum_class,
            "categories": list(self.categories),
            "components": list(self.components),
            "flags": list(self.flags),
            "files": self.files,
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
        }


class ChangeCommit(Base):
    """One entry of a change's ``commits`` list, indexed by its full SHA (abbreviated SHAs
    only on changes from before full names were required; they match nothing)."""

    __tablename__ = "change_commits"
    #: covering: a batch of SHAs resolves to changes from the index alone
    __table_args__ = (Index("ix_change_commits_sha", "sha", "change_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    change_id: Mapped[int] = mapped_column(ForeignKey("changes.id"), index=True)
    sha: Mapped[str] = mapped_column(String(64))


class CommitAuthor(Base):
    """Someone who authored, committed or pushed one of a change's commits (audited).

    They count as authors of the change for segregation of duties. Identities are kept as
    git and GitHub reported them (a GitHub login, a git name and email) and mapped to
    changegate users when the policy is applied (``scm.authors``), so a user mapped later
    still counts.
    """

    __tablename__ = "commit_authors"
    __table_args__ = (
        UniqueConstraint("change_id", "sha", "role", "login", "email", name="uq_commit_authors"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    change_id: Mapped[int] = mapped_column(ForeignKey("changes.id"), index=True)
    sha: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(20))  # author | committer | pusher
    login: Mapped[str] = mapped_column(String(100), default="")  # GitHub login, if known
    name: Mapped[str] = mapped_column(String(200), default="")  # git name, if known
    email: Mapped[str] = mapped_column(String(320), default="")  # git email, if known
    source: Mapped[str] = mapped_column(String(20))  # git | push | pull_request
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    def audit_state(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "change": change_key(self.change_id),
            "sha": self.sha,
            "role": self.role,
            "login": self.login,
            "name": self.name,
            "email": self.email,
            "source": self.source,
            "created_at": iso(self.created_at),
        }


class ChangeIndex(Base):
    """A change's content digest as of a revision: approvals bound to it are current."""

    __tablename__ = "change_index"

    change_id: Mapped[int] = mapped_column(ForeignKey("changes.id"), primary_key=True)
    revision: Mapped[int] = mapped_column(Integer)
    content_digest: Mapped[str] = mapped_column(String(64))


#: The history audit reads, for every linked commit, who approved its change's present
#: content; this covering index answers that without reading the reviews' rows. Declared
#: here, with the migration that creates it (0004), rather than in the reviews slice.
REVIEW_APPROVALS_INDEX = Index(
    "ix_reviews_approvals",
    Review.change_id,
    Review.verdict,
    Review.content_digest,
    Review.reviewer,
)
