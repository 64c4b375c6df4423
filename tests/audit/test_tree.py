"""The audit log's Merkle tree in the database (changegate.audit.tree), on SQLite and
PostgreSQL: roots and proofs from the stored subtrees agree with a naive tree hash of the
leaves, cost O(log n) reads, and `audit verify` names a stored subtree edited, deleted or
added behind the log's back."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from changegate.audit import merkle, tree
from changegate.audit.events import UserUpdated
from changegate.audit.service import record
from changegate.audit.verify import verify
from changegate.db import session_scope
from changegate.migrate import upgrade
from tests.audit.test_merkle import naive_mth
from tests.audit.test_tamper import disable_triggers, sql
from tests.factories import make_team, tx


def _probes(engine: Engine, count: int) -> None:
    with session_scope(engine) as s:
        for i in range(count):
            record(s, UserUpdated, actor="probe", entity=f"probe:{i}", extra={"i": i})


def _leaves(engine: Engine) -> list[bytes]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT leaf_hash FROM audit_events ORDER BY seq"))
        return [bytes(r[0]) for r in rows]


@pytest.fixture
def log(engine: Engine) -> Engine:
    make_team(engine)
    _probes(engine, 40)
    return engine


def test_roots_and_proofs_match_the_leaves(log: Engine) -> None:
    leaves = _leaves(log)
    n = len(leaves)
    assert n > 40
    with session_scope(log) as s:
        for size in range(1, n + 1):
            assert tree.root(s, size) == naive_mth(leaves[:size]), size
        assert tree.root(s) == naive_mth(leaves)
        for seq in (1, 2, n // 2, n - 1, n):
            p = tree.inclusion(s, seq)
            assert p.leaf_hash == leaves[seq - 1]
            assert merkle.verify_inclusion(p.leaf_hash, seq - 1, n, p.proof, naive_mth(leaves))
        for old in (1, 2, 7, 8, n // 2, n - 1, n):
            c = tree.consistency(s, old)
            assert (c.old_root, c.new_root) == (naive_mth(leaves[:old]), naive_mth(leaves))
            assert merkle.verify_consistency(old, n, c.old_root, c.new_root, c.proof)
    assert tx(log, verify).ok


def test_rows_read_are_logarithmic(log: Engine) -> None:
    with session_scope(log) as s:
        n = tree.head_size(s)
        reader = tree.Reader(s)
        tree.inclusion(s, n // 2, reader=reader)
        assert reader.rows_read <= 2 * n.bit_length() + 2


def test_bad_sizes_are_refused_with_the_field(log: Engine) -> None:
    from changegate.errors import InvalidInput

    with session_scope(log) as s:
        n = tree.head_size(s)
        with pytest.raises(InvalidInput) as seq_error:
            tree.inclusion(s, n + 1)
        with pytest.raises(InvalidInput) as size_error:
            tree.inclusion(s, 1, n + 5)
        with pytest.raises(InvalidInput) as old_error:
            tree.consistency(s, 0)
    assert (seq_error.value.field, size_error.value.field) == ("seq", "size")
    assert old_error.value.field == "old_size"


def _sql(engine: Engine, statement: str) -> None:
    sql(engine, statement)


def test_triggers_refuse_update_and_delete(log: Engine) -> None:
    for statement in (
        "UPDATE audit_subtrees SET hash = hash WHERE level = 1 AND idx = 0",
        "DELETE FROM audit_subtrees WHERE level = 1 AND idx = 0",
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            _sql(log, statement)


def _problems(engine: Engine) -> list[str]:
    report = tx(engine, verify)
    assert not report.ok
    return report.problems


def _forge(engine: Engine, level: int, index: int) -> None:
    """Replace one stored subtree hash, the append-only triggers dropped first."""
    disable_triggers(engine)
    forged = merkle.node(b"\x11" * 32, b"\x22" * 32).hex()
    hexed = f"X'{forged}'" if engine.dialect.name == "sqlite" else f"'\\x{forged}'::bytea"
    _sql(
        engine, f"UPDATE audit_subtrees SET hash = {hexed} WHERE level = {level} AND idx = {index}"
    )


def test_edited_subtree_hash_is_reported(log: Engine) -> None:
    _forge(log, 2, 3)
    problems = _problems(log)
    assert any("level 2, index 3 (events #13-#16) differs" in p for p in problems), problems


def test_deleted_subtree_is_reported_and_proofs_refuse(log: Engine) -> None:
    from changegate.errors import IntegrityFailure

    disable_triggers(log)
    _sql(log, "DELETE FROM audit_subtrees WHERE level = 3 AND idx = 1")
    assert any("lacks 1 subtree(s) at level 3" in p for p in _problems(log))
    with session_scope(log) as s, pytest.raises(IntegrityFailure, match="level 3, index 1"):
        tree.inclusion(s, 1)  # its path holds events #9-#16


def test_added_subtree_is_reported(log: Engine) -> None:
    h = "X'" + "ab" * 32 + "'" if log.dialect.name == "sqlite" else "'\\x" + "ab" * 32 + "'"
    _sql(log, f"INSERT INTO audit_subtrees (level, idx, hash) VALUES (9, 0, {h})")
    _sql(log, f"INSERT INTO audit_subtrees (level, idx, hash) VALUES (1, 5000, {h})")
    problems = _problems(log)
    assert any("level 1, index 5000" in p and "does not hold" in p for p in problems), problems
    assert any("above level" in p for p in problems), problems


def test_migration_fills_in_an_existing_log(log: Engine) -> None:
    """0010 on a log written before it: the subtrees are computed from the stored leaves."""
    from alembic import command

    from changegate.migrate import alembic_config

    cfg = alembic_config()
    with log.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0009")
    upgrade(log)
    with session_scope(log) as s:
        assert tree.root(s) == naive_mth(_leaves(log))
    assert tx(log, verify).ok


def test_parallel_verify_checks_the_subtrees_too(
    log: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Verify in segments (as on a long log): the leaves the segments checked feed the
    Merkle check, which still names an edited subtree."""
    from changegate.audit import verify as audit_verify

    monkeypatch.setattr(audit_verify, "PARALLEL_MIN_EVENTS", 2)
    assert tx(log, verify).ok
    _forge(log, 1, 2)
    assert any("level 1, index 2 (events #5-#6) differs" in p for p in _problems(log))


@pytest.mark.parametrize(
    ("level", "index", "named"),
    [
        (1, 2, "level 1, index 2 (events #5-#6) differs"),  # inside a segment: its worker
        (2, 1, "level 2, index 1 (events #5-#8) differs"),  # the segments' top level
        (3, 1, "level 3, index 1 (events #9-#16) is not the hash of its two subtrees"),  # parent
    ],
)
def test_segments_check_their_subtrees_and_the_parent_the_ones_above(
    log: Engine, monkeypatch: pytest.MonkeyPatch, level: int, index: int, named: str
) -> None:
    """A long log is verified in segments aligned on 2**SEGMENT_LEVEL events (here 4): each
    worker checks the subtrees within its segment from the leaves it verified, the parent the
    few above from their stored children, so an edit anywhere in the tree is still named."""
    from changegate.audit import verify as audit_verify

    monkeypatch.setattr(audit_verify, "PARALLEL_MIN_EVENTS", 2)
    monkeypatch.setattr(tree, "SEGMENT_LEVEL", 2)
    assert tx(log, verify).ok
    _forge(log, level, index)
    problems = _problems(log)
    assert any(named in p for p in problems), problems


def test_segments_with_a_missing_subtree_fall_back_to_the_whole_check(
    log: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from changegate.audit import verify as audit_verify

    monkeypatch.setattr(audit_verify, "PARALLEL_MIN_EVENTS", 2)
    monkeypatch.setattr(tree, "SEGMENT_LEVEL", 2)
    disable_triggers(log)
    _sql(log, "DELETE FROM audit_subtrees WHERE level = 4 AND idx = 0")
    assert any("lacks 1 subtree(s) at level 4" in p for p in _problems(log))
