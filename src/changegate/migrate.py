"""Creating and upgrading the schema with Alembic (imported only by `init`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", "changegate:migrations")
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def include_object_for(dialect: str) -> Callable[..., bool]:
    """Alembic's ``include_object`` for autogenerate on ``dialect``: leaves out what the
    models create only on another database (``Index(...).ddl_if(dialect=...)``, such as the
    PostgreSQL-only trigram index), which Alembic would otherwise report as missing."""

    def include(obj: Any, _name: str | None, _type: str, _reflected: bool, _other: Any) -> bool:
        ddl_if = getattr(obj, "_ddl_if", None)
        return ddl_if is None or ddl_if.dialect in (None, dialect)

    return include
