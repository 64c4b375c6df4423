"""audit_events.entity_key and change_key derived by the database from the event bytes

Revision ID: 0009
Revises: 0008

SQLite: the table is rebuilt with VIRTUAL generated columns (SQLite cannot turn a column into
a generated one in place), its rows copied in order, its indexes and append-only triggers
re-created. PostgreSQL: two IMMUTABLE SQL functions of the bytes, and the columns replaced by
STORED generated columns over them. Existing events keep their bytes and hashes; their
columns are now what the expressions give (changegate.audit.columns).
"""

from __future__ import annotations

from alembic import op

from changegate.audit.columns import (
    INDEXES,
    PG_FUNCTIONS,
    SQLITE_TABLE,
    pg_create_function,
    pg_expression,
)

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_HASHED = "seq, data, leaf_hash, chain_hash"
_PLAIN_TABLE = (
    "CREATE TABLE audit_events (seq BIGINT NOT NULL, entity_key VARCHAR(200) NOT NULL, "
    "change_key VARCHAR(30), data BLOB NOT NULL, leaf_hash BLOB NOT NULL, "
    "chain_hash BLOB NOT NULL, CONSTRAINT pk_audit_events PRIMARY KEY (seq))"
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_supports_generated_json()
        _sqlite_rebuild(SQLITE_TABLE, _HASHED)
        return
    for column in INDEXES:
        op.execute(pg_create_function(column))
    op.execute(
        "ALTER TABLE audit_events DROP COLUMN entity_key, DROP COLUMN change_key, "
        f"ADD COLUMN entity_key VARCHAR(200) GENERATED ALWAYS AS ({pg_expression('entity_key')}) "
        "STORED NOT NULL, "
        f"ADD COLUMN change_key VARCHAR(30) GENERATED ALWAYS AS ({pg_expression('change_key')}) "
        "STORED"
    )
    for sql in INDEXES.values():
        op.execute(sql)


def _sqlite_supports_generated_json() -> None:
    """Generated columns need SQLite 3.31, and the expressions its JSON functions."""
    import sqlite3

    version = sqlite3.sqlite_version
    if sqlite3.sqlite_version_info < (3, 31):
        raise RuntimeError(
            f"changegate needs SQLite 3.31 or later (generated columns); this Python's sqlite3 "
            f"links SQLite {version}: use a newer Python build, or PostgreSQL"
        )
    try:
        op.get_bind().exec_driver_sql("SELECT json_type('{}')")
    except Exception as exc:
        raise RuntimeError(
            f"this SQLite ({version}) has no JSON functions (JSON1): changegate needs them"
        ) from exc


def _sqlite_rebuild(table: str, columns: str) -> None:
    """Replace audit_events with ``table``, copying ``columns`` of every event in order."""
    op.execute("ALTER TABLE audit_events RENAME TO audit_events_old")
    for trigger in ("update", "delete"):
        op.execute(f"DROP TRIGGER audit_events_no_{trigger}")
    for column in INDEXES:
        op.execute(f"DROP INDEX ix_audit_events_{column}")
    op.execute(table)
    op.execute(
        f"INSERT INTO audit_events ({columns}) SELECT {columns} FROM audit_events_old ORDER BY seq"
    )
    op.execute("DROP TABLE audit_events_old")
    for sql in INDEXES.values():
        op.execute(sql)
    for verb in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER audit_events_no_{verb.lower()} BEFORE {verb} ON audit_events "
            "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_rebuild(_PLAIN_TABLE, f"{_HASHED}, entity_key, change_key")
        return
    for column in INDEXES:  # the columns keep their values as plain columns
        op.execute(f"ALTER TABLE audit_events ALTER COLUMN {column} DROP EXPRESSION")
    for function in PG_FUNCTIONS.values():
        op.execute(f"DROP FUNCTION {function}(bytea)")
