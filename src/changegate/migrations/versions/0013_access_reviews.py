"""access_reviews: access review campaigns (issue 14 §2)

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from changegate.migrations.columns import create_table, indexes, strings, unique, when

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_table(
        "access_reviews",
        *strings(name=200, scope=200, period=100),
        sa.Column("due_on", sa.Date(), nullable=False),
        *strings(owner=100, state=20),
        when("created_at"),
        when("opened_at", nullable=True),
        sa.Column("population_count", sa.Integer(), nullable=False),
        *strings(population_sha256=64),
        when("closed_at", nullable=True),
        *strings(closed_by=100, nullable=True),
    )
    indexes("access_reviews", "state")
    create_table(
        "access_review_items",
        sa.Column("review_id", sa.Integer(), nullable=False),
        *strings(subject=200, system=100, entitlement=200),
        sa.Column("privileged", sa.Boolean(), nullable=False),
        when("last_activity_at", nullable=True),
        *strings(last_activity=20, reviewer=100, nullable=True),
        *strings(decision=20),
        sa.Column("justification", sa.Text(), nullable=False),
        *strings(decided_by=100, nullable=True),
        when("decided_at", nullable=True),
        *strings(applied_by=100, nullable=True),
        when("applied_at", nullable=True),
        *strings(reference=200),
        sa.Column("verified_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["review_id"],
            ["access_reviews.id"],
            name=op.f("fk_access_review_items_review_id_access_reviews"),
        ),
        unique("access_review_items", "review_id", "subject", "system", "entitlement"),
    )
    indexes("access_review_items", "review_id")


def downgrade() -> None:
    op.drop_table("access_review_items")
    op.drop_table("access_reviews")
