"""What changegate stores about GitHub: deliveries, pull requests, commit links, deployments.

Every table here is audited: each row is described by its last audit event, so
``changegate audit verify`` catches a row written or changed behind the log's back.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from changegate.db import Base, UTCDateTime
from changegate.row_state import AuditedRow


class WebhookDelivery(AuditedRow, Base):
    """One accepted webhook delivery; ``delivery_id`` (``X-GitHub-Delivery``) is unique, so a
    redelivery is recognised and changes nothing."""

    __tablename__ = "github_deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    delivery_id: Mapped[str] = mapped_column(String(100), unique=True)
    event: Mapped[str] = mapped_column(String(60))
    action: Mapped[str] = mapped_column(String(60), default="")
    repository: Mapped[str] = mapped_column(String(200), default="")
    #: processed | ignored | refused | answer_pending (a protection rule answer not yet sent)
    status: Mapped[str] = mapped_column(String(20))
    outcome: Mapped[str] = mapped_column(Text, default="")
    change_id: Mapped[int | None] = mapped_column(ForeignKey("changes.id"), default=None)
    #: what a pending protection rule answer says, to resend it on redelivery
    answer: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    audit_columns = (
        "id delivery_id event action repository status outcome change_id answer "
        "received_at updated_at"
    )


class PullRequestLink(AuditedRow, Base):
    """A pull request and the change it is the record of."""

    __tablename__ = "github_pull_requests"
    __table_args__ = (UniqueConstraint("repository", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    change_id: Mapped[int] = mapped_column(ForeignKey("changes.id"), index=True)
    repository: Mapped[str] = mapped_column(String(200))
    number: Mapped[int] = mapped_column(Integer)
    html_url: Mapped[str] = mapped_column(String(500))
    author_login: Mapped[str] = mapped_column(String(100))
    head_ref: Mapped[str] = mapped_column(String(300))
    head_sha: Mapped[str] = mapped_column(String(64))
    base_ref: Mapped[str] = mapped_column(String(300))
    base_sha: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(20))  # open | closed | merged
    merge_commit_sha: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    #: stable keys of PR template sections left empty (``rollback_plan``, ``risk.security``...)
    template_missing: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: everything that keeps the PR's change from being complete, one sentence each
    problems: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    audit_columns = (
        "id change_id repository number html_url author_login head_ref head_sha base_ref "
        "base_sha state merge_commit_sha template_missing problems created_at updated_at"
    )


class CommitLink(AuditedRow, Base):
    """A commit tied to a change by GitHub: ``merge``, the merge commit GitHub reported for
    the change's pull request (it covers the commit at the gate); ``reference``, a pushed
    commit whose message names the change or its pull request (shown, covers nothing);
    ``push``, how references were recorded before schema 0007 (covers nothing)."""

    __tablename__ = "commit_links"
    __table_args__ = (UniqueConstraint("sha", "change_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha: Mapped[str] = mapped_column(String(64), index=True)
    change_id: Mapped[int] = mapped_column(ForeignKey("changes.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # merge | reference | push (before 0007)
    repository: Mapped[str] = mapped_column(String(200), default="")
    reason: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    audit_columns = "id sha change_id kind repository reason created_at"


class GitHubDeployment(AuditedRow, Base):
    """A deployment GitHub reported for a commit, and whether changegate's gate had passed."""

    __tablename__ = "github_deployments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    github_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    repository: Mapped[str] = mapped_column(String(200))
    sha: Mapped[str] = mapped_column(String(64), index=True)
    ref: Mapped[str] = mapped_column(String(300), default="")
    environment: Mapped[str] = mapped_column(String(100))
    creator_login: Mapped[str] = mapped_column(String(100), default="")
    #: created, then GitHub's deployment status: queued, in_progress, success, failure, ...
    state: Mapped[str] = mapped_column(String(30))
    change_id: Mapped[int | None] = mapped_column(ForeignKey("changes.id"), default=None)
    #: None until the deployment succeeded; then whether a passing gate covered it
    gate_passed: Mapped[bool | None] = mapped_column(Boolean, default=None)
    deployment_id: Mapped[int | None] = mapped_column(ForeignKey("deployments.id"), default=None)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    #: why this deployment broke the policy (its creator is the deployer); None when it did
    #: not, or on rows from before schema 0007
    violation: Mapped[str | None] = mapped_column(Text, default=None)

    # violation is absent from the state of rows recorded before violations existed
    audit_columns = (
        "id github_id repository sha ref environment creator_login state change_id "
        "gate_passed deployment=deployment_id created_at updated_at ?violation"
    )
