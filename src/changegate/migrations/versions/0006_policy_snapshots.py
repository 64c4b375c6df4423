"""Validated policy snapshots stored beside the policy text

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("policy_versions") as batch:
        batch.add_column(sa.Column("snapshot", sa.Text(), nullable=True))
        batch.add_column(sa.Column("snapshot_format", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("policy_versions") as batch:
        batch.drop_column("snapshot_format")
        batch.drop_column("snapshot")
