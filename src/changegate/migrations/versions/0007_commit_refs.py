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

from changegate.migrations.columns import (
    add_columns,
    change_fk,
    create_table,
    drop_columns,
    indexes,
    strings,
    when,
)

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_table(
        "commit_authors",
        *change_fk("commit_authors"),
        *strings(sha=64, role=20, login=100, name=200, email=320, source=20),
        when("created_at"),
        sa.UniqueConstraint(
            "change_id", "sha", "role", "login", "email", name=op.f("uq_commit_authors")
        ),
    )
    indexes("commit_authors", "change_id")
    add_columns("github_deployments", sa.Column("violation", sa.Text(), nullable=True))


def downgrade() -> None:
    drop_columns("github_deployments", "violation")
    op.drop_table("commit_authors")
