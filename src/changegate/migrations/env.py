"""Alembic environment: runs against the connection changegate hands it."""

from __future__ import annotations

from alembic import context

import changegate.models  # noqa: F401 - registers every table
from changegate.db import Base
from changegate.migrate import include_object_for

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - only for the `alembic` command line
    from changegate.db import make_engine

    connection = make_engine(config.get_main_option("sqlalchemy.url") or "").connect()

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    include_object=include_object_for(connection.dialect.name),
)
with context.begin_transaction():
    context.run_migrations()
