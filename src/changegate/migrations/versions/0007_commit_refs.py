"""Commit references, commit authors and GitHub deployment violations (gate integrity §2)

- ``commit_authors``: who authored, committed or pushed a change's commits (audited).
- ``github_deployments.violation``: why a deployment GitHub reported broke the policy.
  Rows from before stay valid for ``audit verify``: the column is NULL there and a NULL
  violation is left out of the row's audited state, as their events recorded it.
- ``commit_links`` rows of kind ``push`` (a commit message naming a change) are kept as they
  were recorded; from this revision they are references and cover no commit at the gate.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import changegate.db

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "commit_authors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("change_id", sa.Integer(), nullable=False),
        sa.Column("sha", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("login", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("created_at", changegate.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["change_id"], ["changes.id"], name=op.f("fk_commit_authors_change_id_changes")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commit_authors")),
        sa.UniqueConstraint(
            "change_id", "sha", "role", "login", "email", name=op.f("uq_commit_authors")
        ),
    )
    with op.batch_alter_table("commit_authors") as batch:
        batch.create_index(batch.f("ix_commit_authors_change_id"), ["change_id"])
    with op.batch_alter_table("github_deployments") as batch:
        batch.add_column(sa.Column("violation", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("github_deployments") as batch:
        batch.drop_column("violation")
    op.drop_table("commit_authors")
