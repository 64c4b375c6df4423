"""Git and GitHub integration: webhook deliveries, pull request links

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

import changegate.db

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _when(name: str) -> sa.Column[Any]:
    return sa.Column(name, changegate.db.UTCDateTime(timezone=True), nullable=False)


def _change_fk(table: str, nullable: bool = False) -> tuple[sa.Column[Any], sa.Constraint]:
    return (
        sa.Column("change_id", sa.Integer(), nullable=nullable),
        sa.ForeignKeyConstraint(
            ["change_id"], ["changes.id"], name=op.f(f"fk_{table}_change_id_changes")
        ),
    )


def upgrade() -> None:
    op.create_table(
        "change_classifications",
        sa.Column("id", sa.Integer(), nullable=False),
        *_change_fk("change_classifications"),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("git_range", sa.String(length=300), nullable=False),
        sa.Column("base_sha", sa.String(length=64), nullable=False),
        sa.Column("head_sha", sa.String(length=64), nullable=False),
        sa.Column("minimum_class", sa.String(length=20), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("components", sa.JSON(), nullable=False),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.Column("files", sa.Integer(), nullable=False),
        _when("created_at"),
        _when("updated_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_change_classifications")),
        sa.UniqueConstraint("change_id", name=op.f("uq_change_classifications_change_id")),
    )
    op.create_table(
        "change_commits",
        sa.Column("id", sa.Integer(), nullable=False),
        *_change_fk("change_commits"),
        sa.Column("sha", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_change_commits")),
    )
    with op.batch_alter_table("change_commits", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_change_commits_change_id"), ["change_id"])
        batch_op.create_index(batch_op.f("ix_change_commits_sha"), ["sha", "change_id"])
    op.create_table(
        "change_index",
        *_change_fk("change_index"),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("content_digest", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("change_id", name=op.f("pk_change_index")),
    )
    op.create_table(
        "github_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sa.String(length=100), nullable=False),
        sa.Column("event", sa.String(length=60), nullable=False),
        sa.Column("action", sa.String(length=60), nullable=False),
        sa.Column("repository", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        *_change_fk("github_deliveries", nullable=True),
        sa.Column("answer", sa.JSON(), nullable=True),
        _when("received_at"),
        _when("updated_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_github_deliveries")),
        sa.UniqueConstraint("delivery_id", name=op.f("uq_github_deliveries_delivery_id")),
    )
    op.create_table(
        "github_pull_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        *_change_fk("github_pull_requests"),
        sa.Column("repository", sa.String(length=200), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("html_url", sa.String(length=500), nullable=False),
        sa.Column("author_login", sa.String(length=100), nullable=False),
        sa.Column("head_ref", sa.String(length=300), nullable=False),
        sa.Column("head_sha", sa.String(length=64), nullable=False),
        sa.Column("base_ref", sa.String(length=300), nullable=False),
        sa.Column("base_sha", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("merge_commit_sha", sa.String(length=64), nullable=True),
        sa.Column("template_missing", sa.JSON(), nullable=False),
        sa.Column("problems", sa.JSON(), nullable=False),
        _when("created_at"),
        _when("updated_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_github_pull_requests")),
        sa.UniqueConstraint(
            "repository", "number", name=op.f("uq_github_pull_requests_repository")
        ),
    )
    with op.batch_alter_table("github_pull_requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_github_pull_requests_change_id"), ["change_id"])
        batch_op.create_index(
            batch_op.f("ix_github_pull_requests_merge_commit_sha"), ["merge_commit_sha"]
        )
    op.create_table(
        "commit_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sha", sa.String(length=64), nullable=False),
        *_change_fk("commit_links"),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("repository", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=False),
        _when("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commit_links")),
        sa.UniqueConstraint("sha", "change_id", name=op.f("uq_commit_links_sha")),
    )
    with op.batch_alter_table("commit_links", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_commit_links_change_id"), ["change_id"])
        batch_op.create_index(batch_op.f("ix_commit_links_sha"), ["sha"])
    op.create_table(
        "github_deployments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("github_id", sa.BigInteger(), nullable=False),
        sa.Column("repository", sa.String(length=200), nullable=False),
        sa.Column("sha", sa.String(length=64), nullable=False),
        sa.Column("ref", sa.String(length=300), nullable=False),
        sa.Column("environment", sa.String(length=100), nullable=False),
        sa.Column("creator_login", sa.String(length=100), nullable=False),
        sa.Column("state", sa.String(length=30), nullable=False),
        *_change_fk("github_deployments", nullable=True),
        sa.Column("gate_passed", sa.Boolean(), nullable=True),
        sa.Column("deployment_id", sa.Integer(), nullable=True),
        _when("created_at"),
        _when("updated_at"),
        sa.ForeignKeyConstraint(
            ["deployment_id"],
            ["deployments.id"],
            name=op.f("fk_github_deployments_deployment_id_deployments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_github_deployments")),
        sa.UniqueConstraint("github_id", name=op.f("uq_github_deployments_github_id")),
    )
    with op.batch_alter_table("github_deployments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_github_deployments_sha"), ["sha"])
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.create_index(
            "ix_reviews_approvals", ["change_id", "verdict", "content_digest", "reviewer"]
        )
    _index_existing_commits()


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
