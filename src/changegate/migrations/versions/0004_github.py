"""Git and GitHub integration: webhook deliveries, pull request links

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

from changegate.migrations.columns import (
    change_fk,
    create_table,
    indexes,
    of_type,
    strings,
    unique,
    when,
)

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    _change_links()
    _github_records()
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.create_index(
            "ix_reviews_approvals", ["change_id", "verdict", "content_digest", "reviewer"]
        )
    _index_existing_commits()


def _change_links() -> None:
    """What a change learnt from git: its classification, its commits, its indexed content."""
    create_table(
        "change_classifications",
        *change_fk("change_classifications"),
        *strings(source=20, git_range=300, base_sha=64, head_sha=64, minimum_class=20),
        *of_type(sa.JSON, "categories", "components", "flags"),
        *of_type(sa.Integer, "files"),
        when("created_at"),
        when("updated_at"),
        unique("change_classifications", "change_id"),
    )
    create_table(
        "change_commits",
        *change_fk("change_commits"),
        *strings(sha=64),
    )
    with op.batch_alter_table("change_commits", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_change_commits_change_id"), ["change_id"])
        batch_op.create_index(batch_op.f("ix_change_commits_sha"), ["sha", "change_id"])
    op.create_table(
        "change_index",
        *change_fk("change_index"),
        *of_type(sa.Integer, "revision"),
        *strings(content_digest=64),
        sa.PrimaryKeyConstraint("change_id", name=op.f("pk_change_index")),
    )


def _github_records() -> None:
    """Webhook deliveries, pull requests, commit links and GitHub deployments."""
    create_table(
        "github_deliveries",
        *strings(delivery_id=100, event=60, action=60, repository=200, status=20),
        *of_type(sa.Text, "outcome"),
        *change_fk("github_deliveries", nullable=True),
        *of_type(sa.JSON, "answer", nullable=True),
        when("received_at"),
        when("updated_at"),
        unique("github_deliveries", "delivery_id"),
    )
    _pull_requests()
    create_table(
        "commit_links",
        *strings(sha=64),
        *change_fk("commit_links"),
        *strings(kind=20, repository=200, reason=300),
        when("created_at"),
        unique("commit_links", "sha", "change_id"),
    )
    indexes("commit_links", "change_id", "sha")
    create_table(
        "github_deployments",
        sa.Column("github_id", sa.BigInteger(), nullable=False),
        *strings(repository=200, sha=64, ref=300, environment=100, creator_login=100, state=30),
        *change_fk("github_deployments", nullable=True),
        *of_type(sa.Boolean, "gate_passed", nullable=True),
        *of_type(sa.Integer, "deployment_id", nullable=True),
        when("created_at"),
        when("updated_at"),
        sa.ForeignKeyConstraint(
            ["deployment_id"],
            ["deployments.id"],
            name=op.f("fk_github_deployments_deployment_id_deployments"),
        ),
        unique("github_deployments", "github_id"),
    )
    indexes("github_deployments", "sha")


def _pull_requests() -> None:
    create_table(
        "github_pull_requests",
        *change_fk("github_pull_requests"),
        *strings(repository=200),
        *of_type(sa.Integer, "number"),
        *strings(html_url=500, author_login=100, head_ref=300, head_sha=64, base_ref=300),
        *strings(base_sha=64, state=20),
        *strings(merge_commit_sha=64, nullable=True),
        *of_type(sa.JSON, "template_missing", "problems"),
        when("created_at"),
        when("updated_at"),
        unique("github_pull_requests", "repository", "number"),
    )
    indexes("github_pull_requests", "change_id", "merge_commit_sha")


def _index_existing_commits() -> None:
    """Index the commits of changes created before this revision (``changes.commits``)."""
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, commits FROM changes")).all()
    entries: list[dict[str, Any]] = []
    for change_id, commits in rows:
        values = json.loads(commits) if isinstance(commits, str) else commits
        for sha in dict.fromkeys(values if isinstance(values, list) else []):
            entries.append({"change_id": change_id, "sha": str(sha).lower()})
    if entries:
        table = sa.table(
            "change_commits", sa.column("change_id", sa.Integer()), sa.column("sha", sa.String())
        )
        op.bulk_insert(table, entries)


def downgrade() -> None:
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.drop_index("ix_reviews_approvals")
    op.drop_table("github_deployments")
    op.drop_table("commit_links")
    op.drop_table("github_pull_requests")
    op.drop_table("github_deliveries")
    op.drop_table("change_index")
    op.drop_table("change_commits")
    op.drop_table("change_classifications")
