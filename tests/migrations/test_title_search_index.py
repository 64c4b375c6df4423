"""Migration 0017: on PostgreSQL the change list's title search has a trigram index; where the
pg_trgm extension cannot be created the upgrade still completes, without the index, says so,
and search still answers."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, inspect, make_url, text

from changegate.changes.listing import ChangeFilter, list_page
from changegate.db import make_engine, session_scope
from changegate.migrate import upgrade
from tests.factories import make_change, make_team

INDEX = "ix_changes_title_trgm"


def _index_definition(engine: Engine) -> str | None:
    if engine.dialect.name != "postgresql":
        names = {ix["name"] for ix in inspect(engine).get_indexes("changes")}
        return INDEX if INDEX in names else None
    with engine.connect() as conn:
        found = conn.execute(
            text("SELECT indexdef FROM pg_indexes WHERE indexname = :n"), {"n": INDEX}
        ).scalar()
    return None if found is None else str(found)


def _titles(engine: Engine, q: str) -> list[str]:
    with session_scope(engine, write=False) as s:
        return [row.title for row in list_page(s, ChangeFilter(q=q), limit=50).rows]


def test_postgresql_has_the_trigram_index_and_sqlite_none(engine: Engine) -> None:
    found = _index_definition(engine)
    if engine.dialect.name == "postgresql":
        assert found is not None
        assert "USING gin" in found and "gin_trgm_ops" in found
    else:
        assert found is None


@pytest.fixture
def restricted_url(pg_server: str) -> Iterator[str]:
    """An empty database whose owner may create tables in it but not extensions (no CREATE
    privilege on the database): what a locked-down hosted PostgreSQL may give."""
    admin = make_engine(pg_server, isolation_level="AUTOCOMMIT")
    name, role = f"r_{uuid.uuid4().hex[:10]}", f"cg_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f"CREATE ROLE {role} LOGIN"))
        conn.execute(text(f"CREATE DATABASE {name}"))
        conn.execute(text(f"REVOKE CREATE ON DATABASE {name} FROM PUBLIC"))
    db = make_engine(
        make_url(pg_server).set(database=name).render_as_string(False), isolation_level="AUTOCOMMIT"
    )
    with db.connect() as conn:
        conn.execute(text(f"GRANT USAGE, CREATE ON SCHEMA public TO {role}"))
    db.dispose()
    yield make_url(pg_server).set(database=name, username=role).render_as_string(False)
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        conn.execute(text(f"DROP ROLE IF EXISTS {role}"))
    admin.dispose()


def test_without_pg_trgm_the_upgrade_completes_says_so_and_search_answers(
    restricted_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    engine = make_engine(restricted_url)
    try:
        with caplog.at_level(logging.WARNING, logger="changegate.migrate"):
            upgrade(engine)
        assert any("pg_trgm" in r.getMessage() for r in caplog.records), caplog.text
        assert _index_definition(engine) is None
        make_team(engine)
        make_change(engine, title="Rotate the signing key of service 7")
        make_change(engine, title="Bump a dependency")
        assert _titles(engine, "SERVICE 7") == ["Rotate the signing key of service 7"]
    finally:
        engine.dispose()


def test_search_answers_the_same_through_the_index(engine: Engine) -> None:
    make_team(engine)
    make_change(engine, title="Rotate the signing key of service 7")
    make_change(engine, title="Bump a dependency")
    make_change(engine, title="100% of 50_000 rows")
    assert _titles(engine, "SERVICE 7") == ["Rotate the signing key of service 7"]
    assert _titles(engine, "100%") == ["100% of 50_000 rows"]
    assert _titles(engine, "0_0") == ["100% of 50_000 rows"]
    assert _titles(engine, "zz") == []
