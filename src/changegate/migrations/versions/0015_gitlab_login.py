"""gitlab_login: a user's GitLab login, as github_login maps a GitHub one (issue 16: the person
behind a GitLab CI job's ID token is a changegate user)

Revision ID: 0015
Revises: 0014

(Renumbered 0014 -> 0015 by the coordinator: 0014 is alerts, another helper's.)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("gitlab_login", sa.String(length=100), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_users_gitlab_login"), ["gitlab_login"])


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_users_gitlab_login"), type_="unique")
        batch_op.drop_column("gitlab_login")
