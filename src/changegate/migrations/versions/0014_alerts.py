"""alerts: alerts and investigations, and the outbox of their deliveries (issue 15 §1)

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from changegate.migrations.columns import create_table, indexes, strings, unique, when

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_table(
        "alerts",
        *strings(kind=60),
        sa.Column("event_seq", sa.Integer(), nullable=False),
        *strings(event_action=60, entity=200),
        *strings(change_key=20, nullable=True),
        *strings(actor=100),
        sa.Column("summary", sa.Text(), nullable=False),
        when("created_at"),
        *strings(state=20),
        *strings(acked_by=100, nullable=True),
        when("acked_at", nullable=True),
        *strings(resolved_by=100, nullable=True),
        when("resolved_at", nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        *strings(link=500, nullable=True),
    )
    indexes("alerts", "kind", "state")
    create_table(
        "alert_deliveries",
        sa.Column("alert_id", sa.Integer(), nullable=False),
        *strings(target=100, webhook_id=64, state=20),
        sa.Column("attempts", sa.Integer(), nullable=False),
        when("next_attempt_at"),
        when("claimed_until", nullable=True),
        *strings(claimed_by=100, nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        when("created_at"),
        when("delivered_at", nullable=True),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"], name=op.f("fk_alert_deliveries_alert_id_alerts")
        ),
        unique("alert_deliveries", "alert_id", "target"),
        unique("alert_deliveries", "webhook_id"),
    )
    with op.batch_alter_table("alert_deliveries") as batch:
        batch.create_index("ix_alert_deliveries_due", ["state", "next_attempt_at"], unique=False)


def downgrade() -> None:
    op.drop_table("alert_deliveries")
    op.drop_table("alerts")
