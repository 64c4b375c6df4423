"""authentication: API tokens, passwords, web sessions, login throttling

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from changegate.migrations.columns import create_table, indexes, strings, unique, when

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_table(
        "api_tokens",
        *strings(public_id=32, secret_sha256=64, user_name=100, label=200, created_by=100),
        when("created_at"),
        when("expires_at", nullable=True),
        when("revoked_at", nullable=True),
        *strings(revoked_by=100, nullable=True),
        unique("api_tokens", "public_id"),
    )
    indexes("api_tokens", "user_name")
    op.create_table(
        "user_passwords",
        *strings(user_name=100, hash=300, updated_by=100),
        when("updated_at"),
        sa.PrimaryKeyConstraint("user_name", name=op.f("pk_user_passwords")),
    )
    create_table(
        "web_sessions",
        *strings(token_sha256=64, csrf_token=64, user_name=100, address=100),
        when("created_at"),
        when("expires_at"),
        when("ended_at", nullable=True),
        unique("web_sessions", "token_sha256"),
    )
    indexes("web_sessions", "user_name")
    create_table(
        "login_failures",
        *strings(user_name=100, address=100),
        when("at"),
    )
    indexes("login_failures", "user_name", "address", "at")


def downgrade() -> None:
    op.drop_table("login_failures")
    op.drop_table("web_sessions")
    op.drop_table("user_passwords")
    op.drop_table("api_tokens")
