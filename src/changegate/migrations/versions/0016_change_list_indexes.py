"""change_list_indexes: the change list pages by (created_at, id) or (updated_at, id) (issue 12:
keyset pagination reads one page from an index instead of sorting every change)

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_changes_created_at_id", "changes", ["created_at", "id"])
    op.create_index("ix_changes_updated_at_id", "changes", ["updated_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_changes_updated_at_id", table_name="changes")
    op.drop_index("ix_changes_created_at_id", table_name="changes")
