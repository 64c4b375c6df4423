"""retention_legal_hold: retention and legal holds (issue 13 §3)

Revision ID: 0011
Revises: 0010

``legal_holds``: holds on changes (a hold blocks purging). The record is kept: the database
refuses to delete evidence, blobs or holds, and lets a blob's row change only by erasing its
content (``changegate audit purge``, past retention; the hash and size stay).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from changegate.migrations.columns import change_fk, create_table, strings, when

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_KEPT = ("blobs", "evidence", "legal_holds")
_KEEP = "the record is kept for the retention period: purge evidence bytes with `changegate audit purge`"
_ERASE_ONLY = (
    "the hash and size of a blob never change; its content may only be erased (audit purge)"
)
#: a blob row update that is anything but erasing its content
_NOT_ERASING = (
    "NEW.sha256 IS DISTINCT FROM OLD.sha256 OR NEW.size IS DISTINCT FROM OLD.size OR "
    "(NEW.content IS DISTINCT FROM OLD.content AND length(NEW.content) > 0)"
)


def upgrade() -> None:
    create_table(
        "legal_holds",
        *change_fk("legal_holds"),
        sa.Column("reason", sa.Text(), nullable=False),
        *strings(held_by=100),
        when("held_at"),
        *strings(nullable=True, released_by=100),
        when("released_at", nullable=True),
        sa.Column("release_reason", sa.Text(), nullable=True),
    )
    op.create_index(op.f("ix_legal_holds_change_id"), "legal_holds", ["change_id"])
    if op.get_bind().dialect.name == "sqlite":
        for table in _KEPT:
            op.execute(
                f"CREATE TRIGGER {table}_kept BEFORE DELETE ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{_KEEP}'); END"
            )
        op.execute(
            f"CREATE TRIGGER blobs_erase_only BEFORE UPDATE ON blobs WHEN {_NOT_ERASING.replace('IS DISTINCT FROM', 'IS NOT')} "
            f"BEGIN SELECT RAISE(ABORT, '{_ERASE_ONLY}'); END"
        )
        return
    op.execute(
        "CREATE FUNCTION record_kept() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN RAISE EXCEPTION '{_KEEP}'; END $$"
    )
    for table in _KEPT:
        op.execute(
            f"CREATE TRIGGER {table}_kept BEFORE DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION record_kept()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION record_kept()"
        )
    op.execute(
        "CREATE FUNCTION blobs_erase_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN IF {_NOT_ERASING} THEN RAISE EXCEPTION '{_ERASE_ONLY}'; END IF; "
        "RETURN NEW; END $$"
    )
    op.execute(
        "CREATE TRIGGER blobs_erase_only BEFORE UPDATE ON blobs "
        "FOR EACH ROW EXECUTE FUNCTION blobs_erase_only()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in (*(f"{t}_kept" for t in _KEPT), "blobs_erase_only"):
            op.execute(f"DROP TRIGGER {trigger}")
    else:
        for table in _KEPT:
            op.execute(f"DROP TRIGGER {table}_kept ON {table}")
            op.execute(f"DROP TRIGGER {table}_no_truncate ON {table}")
        op.execute("DROP TRIGGER blobs_erase_only ON blobs")
        op.execute("DROP FUNCTION blobs_erase_only()")
        op.execute("DROP FUNCTION record_kept()")
    op.drop_index(op.f("ix_legal_holds_change_id"), table_name="legal_holds")
    op.drop_table("legal_holds")
