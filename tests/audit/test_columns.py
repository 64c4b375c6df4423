"""The indexed columns of audit_events are derived by the database from each event's bytes:
the same values as index_keys() on SQLite and PostgreSQL, definitions that `audit verify` reads
back, and a database at revision 0008 that upgrades with its events intact."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from changegate.audit.chain import canonical_json, index_keys
from changegate.audit.columns import definition_problems
from changegate.audit.verify import verify
from changegate.db import make_engine, session_scope
from changegate.migrate import upgrade
from tests.audit.strategies import events, forged_events
from tests.cli_runner import cli
from tests.factories import make_change, make_team

_seqs = itertools.count(10**6)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(st.one_of(events(), forged_events()))
def test_the_database_derives_the_columns_as_index_keys(
    engine: Engine, event: dict[str, Any]
) -> None:
    """Events of every shape record() writes, and forged ones near it, inserted raw: the
    columns the database computed are index_keys() of the event, or the insert is refused
    and the rule says it is not an event (no entity, or one that is not a string)."""
    data = canonical_json(event)
    # a NUL character (escaped \u0000) is outside the rule's domain: SQLite's JSON functions
    # end a string there, PostgreSQL's refuse it in a key they read; record() writes none
    assume(b"\\u0000" not in data)
    seq = next(_seqs)
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO audit_events (seq, data, leaf_hash, chain_hash) "
                    "VALUES (:s, :d, :h, :h)"
                ),
                {"s": seq, "d": data, "h": b"\x00" * 32},
            )
    except DBAPIError:
        with pytest.raises((KeyError, TypeError)):
            index_keys(event)
        return
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT entity_key, change_key FROM audit_events WHERE seq = :s"), {"s": seq}
        ).one()
    assert tuple(row) == index_keys(event)


def test_record_leaves_the_columns_to_the_database(engine: Engine, db_url: str) -> None:
    """Events written by the real record() through the services carry the columns their
    bytes give, and `audit log CHG-1` finds them by change_key."""
    make_team(engine)
    make_change(engine)
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT seq, data, entity_key, change_key FROM audit_events ORDER BY seq")
        ).all()
    assert rows
    for seq, data, entity, change in rows:
        assert (entity, change) == index_keys(json.loads(bytes(data))), seq
    filed = [seq for seq, _, _, change in rows if change == "CHG-1"]
    assert filed and [e["seq"] for e in cli(db_url, "audit", "log", "CHG-1", "--json").json()] == (
        filed
    )


def test_the_definitions_are_the_expected_ones(engine: Engine) -> None:
    with engine.connect() as conn:
        assert definition_problems(conn) == []


def test_an_added_index_on_the_audit_table_is_reported(engine: Engine) -> None:
    """SQLite: any index of audit_events other than the expected ones; PostgreSQL: indexes
    hold stored values, so only the columns and functions are compared."""
    with engine.begin() as conn:
        conn.execute(text("CREATE INDEX ix_extra ON audit_events (change_key) WHERE seq > 3"))
    with engine.connect() as conn:
        problems = definition_problems(conn)
    if engine.dialect.name == "sqlite":
        assert any("ix_extra" in p for p in problems), problems
    else:
        assert problems == []


@pytest.fixture
def at_0008(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Engine:
    """A database migrated to 0008 only, on the test's backend."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'old.db'}"
    else:
        from uuid import uuid4

        server = request.getfixturevalue("pg_server")
        admin = make_engine(server, isolation_level="AUTOCOMMIT")
        name = f"u_{uuid4().hex[:12]}"
        with admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name}"))
        admin.dispose()
        url = server.rsplit("/", 1)[0] + "/" + name
    engine = make_engine(url)
    upgrade(engine, "0008")
    request.addfinalizer(engine.dispose)
    return engine


def test_a_database_at_0008_upgrades_with_its_events(at_0008: Engine) -> None:
    """Events written under 0008 (plain columns filled by the former record()) keep their
    bytes, verify after the upgrade, and are still found by change."""
    from changegate.audit import chain

    with at_0008.begin() as conn:
        prev = chain.GENESIS
        for seq, event in enumerate(_old_events(), start=1):
            data = canonical_json(event)
            prev = chain.chain_hash(prev, chain.leaf_hash(data))
            entity, change = index_keys(event)
            conn.execute(
                text(
                    "INSERT INTO audit_events (seq, entity_key, change_key, data, leaf_hash, "
                    "chain_hash) VALUES (:s, :e, :c, :d, :l, :h)"
                ),
                {
                    "s": seq,
                    "e": entity,
                    "c": change,
                    "d": data,
                    "l": chain.leaf_hash(data),
                    "h": prev,
                },
            )
        conn.execute(text("UPDATE audit_head SET seq = :s, chain_hash = :h"), {"s": seq, "h": prev})
    upgrade(at_0008)
    with session_scope(at_0008) as s:
        report = verify(s, check_rows=False)
    assert report.ok and report.events == len(_old_events()), report.problems
    with at_0008.connect() as conn:
        found = (
            conn.execute(
                text("SELECT seq FROM audit_events WHERE change_key = 'CHG-1' ORDER BY seq")
            )
            .scalars()
            .all()
        )
        with pytest.raises(DBAPIError):  # the append-only triggers are back
            conn.execute(text("DELETE FROM audit_events WHERE seq = 1"))
    assert found == [1, 2]


def _old_events() -> list[dict[str, Any]]:
    base = {"ts": "2026-11-01T10:00:00Z", "actor": "alice", "before": None, "entity_version": 1}
    return [
        base
        | {
            "seq": 1,
            "action": "change.created",
            "entity": "change:CHG-1",
            "after": {"id": "CHG-1"},
        },
        base
        | {
            "seq": 2,
            "action": "review.approved",
            "entity": "review:1",
            "after": {"id": 1, "change": "CHG-1"},
        },
        base | {"seq": 3, "action": "user.added", "entity": "user:1", "after": {"id": 1}},
    ]


def test_downgrade_to_0008_and_back_keeps_the_events(engine: Engine) -> None:
    """0009's downgrade leaves plain columns holding the derived values; upgrading again
    derives them anew, and the record still verifies."""
    from alembic import command

    from changegate.migrate import alembic_config

    make_team(engine)
    make_change(engine)

    def columns() -> list[Any]:
        with engine.connect() as conn:
            return list(
                conn.execute(
                    text("SELECT seq, entity_key, change_key FROM audit_events ORDER BY seq")
                ).all()
            )

    before = columns()
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0008")
    assert columns() == before
    upgrade(engine)
    assert columns() == before
    with session_scope(engine) as s:
        assert verify(s).ok
