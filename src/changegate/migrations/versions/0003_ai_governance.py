"""AI/GenAI governance: provider register with Data Processing Agreements (policy §10.2)

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from changegate.migrations.columns import create_table, of_type, strings, unique, when

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_table(
        "ai_providers",
        *strings(name=100, display_name=200),
        *of_type(sa.Text, "notes"),
        *strings(dpa_status=20),
        *of_type(sa.Date, "dpa_signed_on", "dpa_expires_on", nullable=True),
        *strings(dpa_sha256=64, dpa_filename=500, nullable=True),
        *strings(created_by=100),
        when("created_at"),
        *strings(updated_by=100),
        when("updated_at"),
        sa.ForeignKeyConstraint(
            ["dpa_sha256"], ["blobs.sha256"], name=op.f("fk_ai_providers_dpa_sha256_blobs")
        ),
        unique("ai_providers", "name"),
    )


def downgrade() -> None:
    op.drop_table("ai_providers")
