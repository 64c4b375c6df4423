"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-25 00:49:12.719517
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from changegate.migrations.columns import (
    change_fk,
    create_table,
    drop_indexes,
    indexes,
    of_type,
    strings,
    unique,
    when,
)

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    _audit_log()
    _changes_and_registers()
    _reviews_and_evidence()
    _deployments()
    op.execute(
        sa.text("INSERT INTO audit_head (id, seq, chain_hash) VALUES (1, 0, :genesis)").bindparams(
            sa.bindparam("genesis", b"\x00" * 32, type_=sa.LargeBinary)
        )
    )
    _append_only_triggers()


def _audit_log() -> None:
    op.create_table(
        "audit_events",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        *strings(entity_key=200),
        *strings(change_key=30, nullable=True),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        *(
            sa.Column(n, sa.LargeBinary(length=32), nullable=False)
            for n in ("leaf_hash", "chain_hash")
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_events")),
    )
    indexes("audit_events", "entity_key", "change_key")
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("chain_hash", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
    )


def _changes_and_registers() -> None:
    op.create_table(
        "blobs",
        *strings(sha256=64),
        *of_type(sa.Integer, "size"),
        *of_type(sa.LargeBinary, "content"),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_blobs")),
    )
    create_table(
        "changes",
        *strings(title=300),
        *of_type(sa.Text, "description"),
        *strings(change_class=20),
        *strings(category=100, nullable=True),
        *of_type(sa.JSON, "components", "providers"),
        *strings(ai_component=100, nullable=True),
        *of_type(sa.JSON, "risk"),
        *of_type(sa.Text, "rollback_plan", "justification"),
        *of_type(sa.JSON, "links", "commits"),
        *of_type(sa.Boolean, "security_flag"),
        *strings(author=100, state=20),
        *of_type(sa.Integer, "revision"),
        when("created_at"),
        when("updated_at"),
        when("submitted_at", nullable=True),
    )
    indexes("changes", "state")
    create_table(
        "policy_versions",
        *strings(digest=64, name=200, version=50, source=500),
        *of_type(sa.Text, "text"),
        when("loaded_at"),
        unique("policy_versions", "digest"),
    )
    create_table(
        "users",
        *strings(name=100),
        *of_type(sa.JSON, "roles"),
        *strings(github_login=100, nullable=True),
        *of_type(sa.Boolean, "active"),
        when("created_at"),
        unique("users", "github_login"),
        unique("users", "name"),
    )


def _reviews_and_evidence() -> None:
    create_table(
        "emergency_reviews",
        *change_fk("emergency_reviews"),
        *strings(reviewer=100),
        *of_type(sa.Text, "root_cause", "actions_taken", "preventive_controls"),
        when("created_at"),
        unique("emergency_reviews", "change_id"),
    )
    # Built first: the foreign keys are written in the order they were created.
    blob_fk = sa.ForeignKeyConstraint(
        ["blob_sha256"], ["blobs.sha256"], name=op.f("fk_evidence_blob_sha256_blobs")
    )
    create_table(
        "evidence",
        *change_fk("evidence"),
        *strings(kind=20, name=200),
        *of_type(sa.Boolean, "passed", nullable=True),
        *of_type(sa.Text, "details"),
        *strings(blob_sha256=64, filename=500, nullable=True),
        *of_type(sa.JSON, "summary", nullable=True),
        *strings(added_by=100),
        when("created_at"),
        blob_fk,
    )
    indexes("evidence", "change_id")
    create_table(
        "gate_decisions",
        *change_fk("gate_decisions"),
        *strings(environment=100, deployer=100),
        *of_type(sa.Boolean, "passed", "bypass"),
        *of_type(sa.JSON, "unmet"),
        *strings(policy=200),
        when("created_at"),
    )
    indexes("gate_decisions", "change_id")
    create_table(
        "reviews",
        *change_fk("reviews"),
        *strings(reviewer=100, verdict=20),
        *of_type(sa.Text, "comment"),
        *strings(content_digest=64, roles=300),
        when("created_at"),
    )
    indexes("reviews", "change_id")


def _deployments() -> None:
    create_table(
        "deployments",
        *change_fk("deployments"),
        *strings(environment=100, version=200, kind=20, actor=100),
        *of_type(sa.Text, "reason"),
        *of_type(sa.Boolean, "bypass"),
        *of_type(sa.Integer, "gate_decision_id", nullable=True),
        when("created_at"),
        sa.ForeignKeyConstraint(
            ["gate_decision_id"],
            ["gate_decisions.id"],
            name=op.f("fk_deployments_gate_decision_id_gate_decisions"),
        ),
    )
    indexes("deployments", "change_id", "environment")


def _append_only_triggers() -> None:
    """Defence in depth: the database itself refuses UPDATE and DELETE on audit events."""
    if op.get_bind().dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_events_no_{verb.lower()} BEFORE {verb} ON audit_events "
                "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END"
            )
    else:
        op.execute(
            "CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'audit_events is append-only'; END $$"
        )
        op.execute(
            "CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events "
            "FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()"
        )
        op.execute(
            "CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()"
        )


def downgrade() -> None:
    drop_indexes("deployments", "environment", "change_id")
    op.drop_table("deployments")
    for table in ("reviews", "gate_decisions", "evidence"):
        drop_indexes(table, "change_id")
        op.drop_table(table)
    op.drop_table("emergency_reviews")
    op.drop_table("users")
    op.drop_table("policy_versions")
    drop_indexes("changes", "state")
    op.drop_table("changes")
    op.drop_table("blobs")
    op.drop_table("audit_head")
    drop_indexes("audit_events", "entity_key")
    op.drop_table("audit_events")
