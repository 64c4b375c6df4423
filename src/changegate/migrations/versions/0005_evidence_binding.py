"""Evidence bound to the change's fields as they were when attached

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa

from changegate.migrations.columns import add_columns, drop_columns

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_columns("evidence", sa.Column("bound_to", sa.JSON(), nullable=True))


def downgrade() -> None:
    drop_columns("evidence", "bound_to")
