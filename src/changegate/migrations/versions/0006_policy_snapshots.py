"""Validated policy snapshots stored beside the policy text

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa

from changegate.migrations.columns import add_columns, drop_columns

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_columns(
        "policy_versions",
        sa.Column("snapshot", sa.Text(), nullable=True),
        sa.Column("snapshot_format", sa.Integer(), nullable=True),
    )


def downgrade() -> None:
    drop_columns("policy_versions", "snapshot_format", "snapshot")
