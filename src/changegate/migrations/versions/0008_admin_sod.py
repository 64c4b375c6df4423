"""Administrator segregation of duties: one-time passwords, role grant confirmations

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from changegate.migrations.columns import add_columns, create_table, drop_columns

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_columns(
        "user_passwords",
        sa.Column("must_change", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    create_table(
        "role_grants",
        sa.Column("user_name", sa.String(100), nullable=False),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("requested_by", sa.String(100), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("decided_by", sa.String(100), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index(op.f("ix_role_grants_user_name"), "role_grants", ["user_name"])


def downgrade() -> None:
    op.drop_index(op.f("ix_role_grants_user_name"), table_name="role_grants")
    op.drop_table("role_grants")
    drop_columns("user_passwords", "must_change")
