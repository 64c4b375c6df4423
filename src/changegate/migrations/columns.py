"""Column and index builders the migrations share.

Every revision writes its tables with these, so a table reads as its own columns rather than
as the same ``sa.Column(...)`` boilerplate again. They build exactly what the written-out
calls built (same types, names, nullability and constraint names): a revision's schema does
not change because it uses them. Frozen like the revisions themselves: changing what one of
these emits would change the schema of databases that are already migrated.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

import changegate.db

Column = sa.Column[Any]


def id_key(table: str) -> tuple[Column, sa.PrimaryKeyConstraint]:
    """The integer ``id`` column and the table's primary key on it."""
    return (
        sa.Column("id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
    )


def create_table(table: str, *items: Any) -> None:
    """``op.create_table`` of a table keyed by an integer ``id`` (:func:`id_key`)."""
    op.create_table(table, *id_key(table), *items)


def change_fk(table: str, *, nullable: bool = False) -> tuple[Column, sa.Constraint]:
    """A ``change_id`` column and its foreign key to ``changes.id``."""
    return (
        sa.Column("change_id", sa.Integer(), nullable=nullable),
        sa.ForeignKeyConstraint(
            ["change_id"], ["changes.id"], name=op.f(f"fk_{table}_change_id_changes")
        ),
    )


def when(name: str, *, nullable: bool = False) -> Column:
    """A timezone-aware UTC timestamp."""
    return sa.Column(name, changegate.db.UTCDateTime(timezone=True), nullable=nullable)


def strings(*, nullable: bool = False, **lengths: int) -> list[Column]:
    """``String(length)`` columns, in the order given."""
    return [sa.Column(n, sa.String(length=k), nullable=nullable) for n, k in lengths.items()]


def of_type(
    kind: type[sa.types.TypeEngine[Any]], *names: str, nullable: bool = False
) -> list[Column]:
    """Columns of one argument-less type (``sa.Text``, ``sa.JSON``, ...), in the order given."""
    return [sa.Column(n, kind(), nullable=nullable) for n in names]


def unique(table: str, *columns: str) -> sa.UniqueConstraint:
    """A unique constraint named after the table and its first column."""
    return sa.UniqueConstraint(*columns, name=op.f(f"uq_{table}_{columns[0]}"))


def indexes(table: str, *columns: str) -> None:
    """One non-unique index per column, named ``ix_<table>_<column>``."""
    with op.batch_alter_table(table, schema=None) as batch_op:
        for column in columns:
            batch_op.create_index(batch_op.f(f"ix_{table}_{column}"), [column], unique=False)


def drop_indexes(table: str, *columns: str) -> None:
    """Drop what :func:`indexes` created, in the order given."""
    with op.batch_alter_table(table, schema=None) as batch_op:
        for column in columns:
            batch_op.drop_index(batch_op.f(f"ix_{table}_{column}"))


def add_columns(table: str, *columns: Column) -> None:
    """Add columns to an existing table (a table copy on SQLite, ``ALTER TABLE`` elsewhere)."""
    with op.batch_alter_table(table) as batch:
        for column in columns:
            batch.add_column(column)


def drop_columns(table: str, *names: str) -> None:
    """Drop columns, in the order given."""
    with op.batch_alter_table(table) as batch:
        for name in names:
            batch.drop_column(name)
