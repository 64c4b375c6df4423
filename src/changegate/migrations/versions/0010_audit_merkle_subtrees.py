"""audit_subtrees: the complete-subtree hashes of the audit log's RFC 9162 Merkle tree

Revision ID: 0010
Revises: 0009

One row per complete subtree of level 1 and up (level 0 is each event's leaf_hash), so a root,
an inclusion proof or a consistency proof costs O(log n) reads. Existing logs are filled in
from their stored leaf hashes, in order. Append-only like audit_events.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_REFUSE = "audit_subtrees is append-only"


def upgrade() -> None:
    op.create_table(
        "audit_subtrees",
        sa.Column("level", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("level", "idx", name=op.f("pk_audit_subtrees")),
    )
    _backfill()
    if op.get_bind().dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_subtrees_no_{verb.lower()} BEFORE {verb} ON "
                f"audit_subtrees BEGIN SELECT RAISE(ABORT, '{_REFUSE}'); END"
            )
        return
    op.execute(
        "CREATE FUNCTION audit_subtrees_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN RAISE EXCEPTION '{_REFUSE}'; END $$"
    )
    op.execute(
        "CREATE TRIGGER audit_subtrees_append_only BEFORE UPDATE OR DELETE ON audit_subtrees "
        "FOR EACH ROW EXECUTE FUNCTION audit_subtrees_append_only()"
    )
    op.execute(
        "CREATE TRIGGER audit_subtrees_no_truncate BEFORE TRUNCATE ON audit_subtrees "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_subtrees_append_only()"
    )


def _backfill() -> None:
    from changegate.audit.tree import subtree_rows

    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT leaf_hash FROM audit_events ORDER BY seq"))
    fill = list(subtree_rows([bytes(row[0]) for row in rows]))
    if fill:
        conn.execute(
            sa.text("INSERT INTO audit_subtrees (level, idx, hash) VALUES (:level, :idx, :hash)"),
            fill,
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.execute("DROP TABLE audit_subtrees")
        op.execute("DROP FUNCTION audit_subtrees_append_only()")
        return
    op.drop_table("audit_subtrees")
