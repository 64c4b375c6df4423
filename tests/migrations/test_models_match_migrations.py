"""The ORM models and the Alembic migrations describe the same schema: after `upgrade head`,
Alembic's autogenerate finds nothing to add, drop or alter, on SQLite and on PostgreSQL. A
column added to a model without a migration (or the reverse) fails here, not in production."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Column, Engine, MetaData, String

import changegate.models  # noqa: F401  (every slice's tables on the metadata)
from changegate.db import Base
from changegate.migrate import include_object_for


def _differences(engine: Engine, metadata: MetaData = Base.metadata) -> list[Any]:
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={
                "compare_type": True,
                "compare_server_default": False,
                "include_object": include_object_for(conn.dialect.name),
            },
        )
        return list(compare_metadata(context, metadata))


def test_autogenerate_finds_no_difference(engine: Engine) -> None:
    diffs = _differences(engine)
    assert diffs == [], "models and migrations differ:\n" + "\n".join(map(repr, diffs))


def test_a_column_missing_from_the_migrations_is_found(engine: Engine) -> None:
    """The check has teeth: a model column the database lacks is reported."""
    copy = MetaData()
    for table in Base.metadata.sorted_tables:
        table.to_metadata(copy)
    copy.tables["changes"].append_column(Column("not_in_any_migration", String(10)))
    diffs = _differences(engine, copy)
    assert any(
        d[0] == "add_column" and d[3].name == "not_in_any_migration"
        for d in diffs
        if isinstance(d, tuple)
    ), diffs
