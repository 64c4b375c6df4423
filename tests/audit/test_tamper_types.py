"""SQLite keeps whatever type a statement writes: someone with write access can leave text
or a number where an event's bytes, its hashes or a subtree's hash belong. Verification names
the altered row and fails; it never stops on a TypeError (which was a 500 on the web page and
the API, and a traceback from the CLI), and every entry point records the failure."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from changegate.audit.chain import GENESIS, chain_and_index_ok, chain_ok
from changegate.audit.verification import verify_and_record
from changegate.audit.verify import verify
from changegate.db import make_engine, session_scope
from changegate.migrate import upgrade
from tests.audit.test_tamper import disable_triggers, make_history, sql
from tests.factories import DEFAULT, tx

P = DEFAULT.policy


@pytest.fixture
def sqlite_history(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'types.db'}")
    upgrade(engine)
    make_history(engine)
    disable_triggers(engine)
    yield engine
    engine.dispose()


EDITS = {
    "event bytes as text": "UPDATE audit_events SET data = CAST(data AS TEXT) WHERE seq = 3",
    "leaf hash as text": "UPDATE audit_events SET leaf_hash = hex(leaf_hash) WHERE seq = 3",
    "chain hash as text": "UPDATE audit_events SET chain_hash = hex(chain_hash) WHERE seq = 3",
    "chain hash as a number": "UPDATE audit_events SET chain_hash = 42 WHERE seq = 3",
}


@pytest.mark.parametrize("edit", list(EDITS))
def test_a_value_of_the_wrong_type_in_an_event_is_named(sqlite_history: Engine, edit: str) -> None:
    sql(sqlite_history, EDITS[edit])
    report = tx(sqlite_history, verify)
    assert not report.ok and report.first_broken_seq == 3, report.problems
    assert "#3" in report.problems[0]


def test_a_subtree_hash_stored_as_text_is_named(sqlite_history: Engine) -> None:
    sql(sqlite_history, "UPDATE audit_subtrees SET hash = hex(hash) WHERE level = 1 AND idx = 0")
    report = tx(sqlite_history, verify)
    assert not report.ok and report.first_broken_seq is None
    assert any("level 1" in p and "edited" in p for p in report.problems), report.problems


def test_a_head_of_the_wrong_type_fails_verification_and_is_recorded(
    sqlite_history: Engine,
) -> None:
    """What the checks do not name one by one still fails closed: the head's hash as text."""
    sql(sqlite_history, "UPDATE audit_head SET chain_hash = 'x' WHERE id = 1")
    with session_scope(sqlite_history, write=False) as s:
        report = verify_and_record(s, sqlite_history, actor="auditor")
    assert not report.ok and "cannot be read as a log" in report.problems[0]


def test_the_fast_paths_answer_not_ok_on_values_of_the_wrong_type() -> None:
    row = ("text, not bytes", b"l" * 32, b"c" * 32)
    assert chain_ok([[row]], GENESIS) == (0, GENESIS, False)
    assert chain_and_index_ok([[(*row, b"change:CHG-1", None)]], GENESIS)[2] is False
    assert chain_and_index_ok([[(7, b"l", b"c", b"e", None)]], GENESIS)[2] is False
