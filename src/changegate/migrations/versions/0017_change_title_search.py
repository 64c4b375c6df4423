"""change_title_search: on PostgreSQL, a trigram index for the change list's title search
(issue 12: ``q`` is ``title ILIKE '%text%'``, which no b-tree serves; a search matching a few of
10,000 changes read every row, 14 ms, and reads the index instead, 0.4 ms)

The index needs the ``pg_trgm`` extension (shipped with PostgreSQL, and trusted: a database
owner may create it). Where it cannot be created (not installed, or a role without the CREATE
privilege), the upgrade goes on without the index and says so: search still works, reading
every row.

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

import logging

from alembic import op
from sqlalchemy.exc import DBAPIError

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

INDEX = "ix_changes_title_trgm"
log = logging.getLogger("changegate.migrate")


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    try:
        with bind.begin_nested():  # a failure must not abort the upgrade's transaction
            bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except DBAPIError as exc:
        log.warning(
            "PostgreSQL extension pg_trgm unavailable (%s): the change list's title search "
            "will read every change. To index it, a superuser runs in this database: "
            "CREATE EXTENSION pg_trgm; CREATE INDEX ix_changes_title_trgm ON changes "
            "USING gin (title gin_trgm_ops);",
            str(exc.orig).strip().splitlines()[0],
        )
        return
    op.create_index(
        INDEX,
        "changes",
        ["title"],
        postgresql_using="gin",
        postgresql_ops={"title": "gin_trgm_ops"},
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP INDEX IF EXISTS {INDEX}")
