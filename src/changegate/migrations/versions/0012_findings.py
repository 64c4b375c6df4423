"""findings: vulnerability findings with SLAs (issue 14 §1)

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from changegate.migrations.columns import (
    change_fk,
    create_table,
    indexes,
    of_type,
    strings,
    unique,
    when,
)

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def _finding_fk(table: str) -> tuple[sa.Column[int], sa.Constraint]:
    return (
        sa.Column("finding_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["finding_id"], ["findings.id"], name=op.f(f"fk_{table}_finding_id_findings")
        ),
    )


def upgrade() -> None:
    create_table(
        "findings",
        *strings(scope=100, fingerprint=64, source_format=20, tool=100, rule_id=300),
        sa.Column("aliases", sa.JSON(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        *strings(severity=10, source_severity=50),
        sa.Column("cvss", sa.Float(), nullable=True),
        sa.Column("component", sa.String(length=300), nullable=False),
        sa.Column("purl", sa.String(length=500), nullable=True),
        sa.Column("location", sa.Text(), nullable=False),
        *strings(nullable=True, installed_version=200, fixed_version=200, vex_state=40),
        *strings(status=20, owner=100),
        when("first_seen"),
        when("last_seen"),
        sa.Column("sla_start", sa.Date(), nullable=False),
        *of_type(sa.Date, "due", "kev_due", nullable=True),
        *change_fk("findings", nullable=True),
        when("updated_at"),
        unique("findings", "scope", "fingerprint"),
    )
    indexes("findings", "scope", "severity", "status")
    create_table(
        "risk_acceptances",
        *_finding_fk("risk_acceptances"),
        sa.Column("justification", sa.Text(), nullable=False),
        sa.Column("expires", sa.Date(), nullable=False),
        *strings(approver=100, state=20),
        when("created_at"),
        when("updated_at"),
    )
    indexes("risk_acceptances", "finding_id")
    create_table(
        "finding_links",
        *_finding_fk("finding_links"),
        *change_fk("finding_links"),
        *strings(kind=10, created_by=100),
        when("created_at"),
        unique("finding_links", "finding_id", "change_id"),
    )
    indexes("finding_links", "finding_id", "change_id")
    create_table(
        "finding_imports",
        *strings(scope=100, source_format=20, sha256=64),
        sa.Column("kev_sha256", sa.String(length=64), nullable=True),
        *of_type(sa.Integer, "total", "new", "reopened", "fixed"),
        sa.Column("imported_by", sa.String(length=100), nullable=False),
        when("created_at"),
    )
    indexes("finding_imports", "scope")


def downgrade() -> None:
    for table in ("finding_imports", "finding_links", "risk_acceptances", "findings"):
        op.drop_table(table)
