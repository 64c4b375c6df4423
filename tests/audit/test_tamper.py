"""Tampering with the database directly, as someone with write access would; verify catches each."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import DBAPIError

from changegate.audit.chain import canonical_json, chain_hash, leaf_hash
from changegate.audit.verify import verify
from changegate.changes import service as changes
from changegate.changes.schemas import ChangeUpdate
from changegate.reviews import service as reviews
from tests.cli_runner import cli
from tests.factories import DEFAULT, make_change, make_team, tx

P = DEFAULT.policy


@pytest.fixture
def history(engine: Engine) -> Engine:
    return make_history(engine)


def make_history(engine: Engine) -> Engine:
    """A team, a change submitted and approved, a second change: a log that verifies."""
    make_team(engine)
    key = make_change(engine)
    tx(engine, lambda s: changes.submit_change(s, P, changes.get_change(s, key), actor="alice"))
    tx(
        engine,
        lambda s: reviews.approve(s, P, changes.get_change(s, key), actor="bob", comment="ok"),
    )
    make_change(engine, title="second")
    assert tx(engine, verify).ok
    return engine


def disable_triggers(engine: Engine) -> None:
    """Drop the append-only guards of the log and of its Merkle subtrees, as someone with
    write access to the whole database could."""
    with engine.begin() as conn:
        for table in ("audit_events", "audit_subtrees"):
            if engine.dialect.name == "sqlite":
                conn.execute(text(f"DROP TRIGGER {table}_no_update"))
                conn.execute(text(f"DROP TRIGGER {table}_no_delete"))
            else:
                conn.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))


def sql(engine: Engine, statement: str, **params: object) -> None:
    with engine.begin() as conn:
        conn.execute(text(statement), params)


def broken(engine: Engine) -> tuple[int | None, list[str]]:
    report = tx(engine, verify)
    assert not report.ok
    return report.first_broken_seq, report.problems


def test_triggers_refuse_update_and_delete(history: Engine) -> None:
    for statement in (
        "UPDATE audit_events SET data = data WHERE seq = 3",
        "DELETE FROM audit_events WHERE seq = 3",
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            sql(history, statement)
    assert tx(history, verify).ok


def test_edited_event_field(history: Engine) -> None:
    disable_triggers(history)
    with history.connect() as conn:
        data = bytes(conn.execute(text("SELECT data FROM audit_events WHERE seq = 5")).scalar_one())
    forged = data.replace(b'"actor":"', b'"actor":"x', 1)
    sql(history, "UPDATE audit_events SET data = :d WHERE seq = 5", d=forged)
    seq, problems = broken(history)
    assert seq == 5 and "edited" in problems[0]


def test_edited_business_row(history: Engine) -> None:
    sql(history, "UPDATE changes SET title = 'innocent' WHERE id = 1")
    seq, problems = broken(history)
    assert "change:CHG-1 differs from the state this event recorded: title" in problems[0]
    assert seq is not None and problems[0].startswith(f"event #{seq}:")


def test_row_inserted_behind_the_log(history: Engine) -> None:
    sql(history, "UPDATE reviews SET verdict = 'approve' WHERE id = 1")  # no-op, still fine
    sql(
        history,
        "INSERT INTO reviews (change_id, reviewer, verdict, comment, content_digest, roles, created_at) "
        "VALUES (2, 'bob', 'approve', '', 'x', 'engineer', '2026-01-01 00:00:00')",
    )
    _, problems = broken(history)
    assert any("no audit event describes it" in p for p in problems)


def test_deleted_event_in_the_middle(history: Engine) -> None:
    disable_triggers(history)
    sql(history, "DELETE FROM audit_events WHERE seq = 4")
    seq, problems = broken(history)
    assert seq == 4 and "sequence gap" in problems[0]


def test_deleted_last_event(history: Engine) -> None:
    disable_triggers(history)
    with history.connect() as conn:
        last = conn.execute(text("SELECT max(seq) FROM audit_events")).scalar_one()
    sql(history, "DELETE FROM audit_events WHERE seq = :s", s=last)
    seq, problems = broken(history)
    assert seq == last and "head says" in problems[0]


def test_reordered_events(history: Engine) -> None:
    disable_triggers(history)
    sql(history, "UPDATE audit_events SET seq = -1 WHERE seq = 6")
    sql(history, "UPDATE audit_events SET seq = 6 WHERE seq = 7")
    sql(history, "UPDATE audit_events SET seq = 7 WHERE seq = -1")
    seq, problems = broken(history)
    assert seq == 6 and "reordered or forged" in problems[0]


def test_forged_event_with_wrong_hash(history: Engine) -> None:
    with history.connect() as conn:
        head = conn.execute(text("SELECT seq FROM audit_head")).scalar_one()
    data = canonical_json(
        {"seq": head + 1, "actor": "mallory", "action": "review.approved", "entity": "review:99"}
    )
    sql(
        history,
        "INSERT INTO audit_events (seq, data, leaf_hash, chain_hash) VALUES (:s, :d, :l, :c)",
        s=head + 1,
        d=data,
        l=leaf_hash(data),
        c=b"\x01" * 32,
    )
    sql(history, "UPDATE audit_head SET seq = :s", s=head + 1)
    seq, problems = broken(history)
    assert seq == head + 1 and "reordered or forged" in problems[0]


def test_forged_event_with_valid_hashes_still_has_no_row(history: Engine) -> None:
    """A forger who recomputes the chain and moves the head still cannot make the records agree."""
    with history.connect() as conn:
        head_seq, head_hash = conn.execute(text("SELECT seq, chain_hash FROM audit_head")).one()
    data = canonical_json(
        {
            "seq": head_seq + 1,
            "ts": "2026-01-01T00:00:00Z",
            "actor": "mallory",
            "action": "review.approved",
            "entity": "review:99",
            "entity_version": 1,
            "before": None,
            "after": {"id": 99, "change": "CHG-1", "reviewer": "mallory"},
        }
    )
    leaf = leaf_hash(data)
    chained = chain_hash(bytes(head_hash), leaf)
    sql(
        history,
        "INSERT INTO audit_events (seq, data, leaf_hash, chain_hash) VALUES (:s, :d, :l, :c)",
        s=head_seq + 1,
        d=data,
        l=leaf,
        c=chained,
    )
    sql(history, "UPDATE audit_head SET seq = :s, chain_hash = :c", s=head_seq + 1, c=chained)
    seq, problems = broken(history)
    assert seq == head_seq + 1 and "review:99 was recorded but its row is gone" in problems[0]


def test_cli_verify_names_the_first_broken_event(history: Engine, db_url: str) -> None:
    disable_triggers(history)
    sql(history, "DELETE FROM audit_events WHERE seq = 3")
    r = cli(db_url, "audit", "verify")
    assert r.code == 1 and "BROKEN at event #3" in r.stdout
    assert cli(db_url, "audit", "verify", "--json").json()["first_broken_event"] == 3


def test_parallel_segments_verify_and_name_the_same_break(
    history: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from changegate.audit import verify as audit_verify

    monkeypatch.setattr(audit_verify, "PARALLEL_MIN_EVENTS", 2)
    report = tx(history, verify)
    assert report.ok and report.events == report.head_seq
    disable_triggers(history)
    with history.connect() as conn:
        last = conn.execute(text("SELECT max(seq) FROM audit_events")).scalar_one()
        data = bytes(
            conn.execute(
                text("SELECT data FROM audit_events WHERE seq = :s"), {"s": last - 1}
            ).scalar_one()
        )
    sql(history, "UPDATE audit_events SET data = :d WHERE seq = :s", d=data + b" ", s=last - 1)
    seq, problems = broken(history)
    assert seq == last - 1 and "edited" in problems[0]


# -- rows the gate reads, and the audit table's indexed columns ---------------------------

UNREVIEWED = "ab" * 20  # a full SHA nobody listed on a change


def test_commit_linked_behind_the_log(history: Engine) -> None:
    """A change_commits row makes `gate --git-sha` find a change for a commit; one inserted
    behind the log's back (no change lists that commit) is named by verify."""
    sql(history, "INSERT INTO change_commits (change_id, sha) VALUES (1, :s)", s=UNREVIEWED)
    _, problems = broken(history)
    assert any(
        "change_commits" in p and UNREVIEWED in p and "CHG-1" in p and "behind the log" in p
        for p in problems
    ), problems


def test_commit_index_emptied_behind_the_log(history: Engine) -> None:
    sha = "cd" * 20
    tx(
        history,
        lambda s: changes.edit_change(
            s, P, changes.get_change(s, "CHG-2"), ChangeUpdate(commits=[sha]), actor="alice"
        ),
    )
    assert tx(history, verify).ok
    sql(history, "DELETE FROM change_commits")
    _, problems = broken(history)
    assert any("change_commits lacks commit" in p and sha in p for p in problems), problems


def test_digest_cache_edited_behind_the_log(history: Engine) -> None:
    sql(history, "UPDATE change_index SET content_digest = :d WHERE change_id = 1", d="0" * 64)
    _, problems = broken(history)
    assert any("change_index digest of CHG-1" in p for p in problems), problems


def _event_about(engine: Engine, entity_prefix: str, change: str = "CHG-1") -> int:
    with engine.connect() as conn:
        seq = conn.execute(
            text("SELECT min(seq) FROM audit_events WHERE change_key = :c AND entity_key LIKE :p"),
            {"c": change, "p": entity_prefix + "%"},
        ).scalar_one()
    assert seq is not None
    return int(seq)


def _shown(db_url: str, change: str = "CHG-1") -> list[int]:
    return [e["seq"] for e in cli(db_url, "audit", "log", change, "--json").json()]


#: what each database answers to a write of a generated column
GENERATED = r"generated column|can only be updated to DEFAULT|non-DEFAULT value"


@pytest.mark.parametrize(
    ("column", "entity", "value"),
    [
        ("change_key", "review:", None),
        ("change_key", "change:", ""),
        ("change_key", "review:", "CHG-2"),
        ("change_key", "change:", "CHG-2"),
        ("entity_key", "change:", "change:CHG-2"),
    ],
)
def test_indexed_column_edit_is_refused_without_triggers(
    history: Engine, db_url: str, column: str, entity: str, value: str | None
) -> None:
    """Blanking or moving an event's change_key (or entity_key) would hide it from `audit log
    CHG-1`: with the append-only triggers dropped, the database still refuses the UPDATE
    (generated columns), and the event still shows."""
    seq = _event_about(history, entity)
    assert seq in _shown(db_url)
    disable_triggers(history)
    with pytest.raises(DBAPIError, match=GENERATED):
        sql(history, f"UPDATE audit_events SET {column} = :v WHERE seq = :s", v=value, s=seq)
    assert seq in _shown(db_url)
    assert tx(history, verify).ok


def test_forged_event_cannot_choose_its_indexed_columns(history: Engine) -> None:
    """An inserted event's columns are what its bytes say, never what the INSERT says."""
    with pytest.raises(DBAPIError, match=GENERATED):
        sql(
            history,
            "INSERT INTO audit_events (seq, entity_key, change_key, data, leaf_hash, chain_hash) "
            "VALUES (999, 'review:1', 'CHG-2', :d, :h, :h)",
            d=canonical_json({"entity": "review:1", "after": {"change": "CHG-1"}}),
            h=b"\x00" * 32,
        )


def test_swapped_event_bytes_are_caught_by_the_chain(history: Engine) -> None:
    """With the columns derived from the bytes, moving an event to another change means moving
    its bytes: swapping two events' data moves their columns, and breaks the chain."""
    tx(
        history,
        lambda s: changes.edit_change(
            s,
            P,
            changes.get_change(s, "CHG-2"),
            ChangeUpdate(title="second, edited"),
            actor="alice",
        ),
    )
    a, b = _event_about(history, "change:", "CHG-1"), _event_about(history, "change:", "CHG-2")
    with history.connect() as conn:
        data = dict(
            conn.execute(
                text("SELECT seq, data FROM audit_events WHERE seq IN (:a, :b)"), {"a": a, "b": b}
            ).all()
        )
    disable_triggers(history)
    sql(history, "UPDATE audit_events SET data = :d WHERE seq = :s", d=data[b], s=a)
    sql(history, "UPDATE audit_events SET data = :d WHERE seq = :s", d=data[a], s=b)
    assert _event_about(history, "change:", "CHG-2") == a  # the columns followed the bytes
    first, problems = broken(history)
    assert first == min(a, b) and "edited" in problems[0], problems


#: a change_key expression that files no review under its change (the attack's definition)
SQLITE_FORGED = ("'$.after.change'", "'$.after.nothing'")
PG_FORGED = (
    "CREATE OR REPLACE FUNCTION changegate_event_change(event bytea) RETURNS text "
    "LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog AS $f$SELECT "
    "CASE WHEN convert_from(event, 'UTF8')::json ->> 'entity' LIKE 'review:%' THEN NULL "
    "ELSE ({real}) END$f$"
)


def _forge_definition(engine: Engine) -> None:
    """Change how change_key is derived and have the database recompute it, as someone with
    DDL rights could: SQLite through `PRAGMA writable_schema` and REINDEX, PostgreSQL by
    replacing the function and rewriting the stored columns (triggers disabled)."""
    if engine.dialect.name == "sqlite":
        with engine.begin() as conn:
            conn.exec_driver_sql("PRAGMA writable_schema = ON")
            conn.exec_driver_sql(
                "UPDATE sqlite_master SET sql = replace(sql, ?, ?) WHERE name = 'audit_events'",
                SQLITE_FORGED,
            )
        engine.dispose()
        sql(engine, "REINDEX ix_audit_events_change_key")
        return
    from changegate.audit.columns import PG_BODIES

    disable_triggers(engine)
    sql(engine, PG_FORGED.format(real=PG_BODIES["change_key"]))
    sql(engine, "UPDATE audit_events SET data = data")


def test_changed_column_definition_is_reported(history: Engine, db_url: str) -> None:
    """A derivation changed behind the log's back hides reviews from `audit log CHG-1`; verify
    names the definition that differs and the first event whose columns its bytes contradict."""
    seq = _event_about(history, "review:")
    _forge_definition(history)
    assert seq not in _shown(db_url)  # the attack works
    first, problems = broken(history)
    assert any("change_key" in p or "changegate_event_change" in p for p in problems), problems
    assert first == seq, problems
    r = cli(db_url, "audit", "verify")
    assert r.code == 1 and "differs" in r.stdout


def test_changed_definition_is_reported_in_parallel_segments(
    history: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from changegate.audit import verify as audit_verify

    monkeypatch.setattr(audit_verify, "PARALLEL_MIN_EVENTS", 2)
    seq = _event_about(history, "review:")
    _forge_definition(history)
    first, problems = broken(history)
    assert first == seq and any("change_key" in p for p in problems), problems


def test_gate_by_sha_ignores_a_commit_row_behind_the_log(history: Engine, db_url: str) -> None:
    sql(history, "INSERT INTO change_commits (change_id, sha) VALUES (1, :s)", s=UNREVIEWED)
    r = cli(db_url, "gate", "--git-sha", UNREVIEWED, "--env", "production", "--deployer", "carol")
    assert "CHG-1" not in r.stdout + r.stderr and r.code != 0


def test_undescribed_names_one_row_written_behind_the_log(history: Engine) -> None:
    """The check a decision can make on the one row it relies on (e.g. a commit link)."""
    from changegate.audit.verify import undescribed
    from changegate.reviews.models import Review

    def check(s: Any) -> list[str | None]:
        return [undescribed(s, "review", r) for r in s.scalars(select(Review).order_by(Review.id))]

    assert tx(history, check) == [None]
    sql(
        history,
        "INSERT INTO reviews (change_id, reviewer, verdict, comment, content_digest, roles, "
        "created_at) VALUES (2, 'bob', 'approve', '', 'x', 'engineer', '2026-01-01 00:00:00')",
    )
    sql(history, "UPDATE reviews SET comment = 'forged' WHERE id = 1")
    first, second = tx(history, check)
    assert first is not None and "edited behind the log's back" in first
    assert second is not None and "no audit event describes it" in second


def test_definition_restored_after_recomputing_is_caught(history: Engine, db_url: str) -> None:
    """The derivation changed, the columns recomputed with it, the definition put back: what
    the database holds (PostgreSQL's stored values, SQLite's index) was made by another
    definition. On PostgreSQL verify names the first event whose stored columns its bytes
    contradict; on SQLite, where only the index holds values, `verify(deep=True)` (every index
    entry recomputed) names the index: the plain verify reads definitions, not index entries."""
    seq = _event_about(history, "review:")
    _forge_definition(history)
    if history.dialect.name == "sqlite":
        with history.begin() as conn:
            conn.exec_driver_sql("PRAGMA writable_schema = ON")
            conn.exec_driver_sql(
                "UPDATE sqlite_master SET sql = replace(sql, ?, ?) WHERE name = 'audit_events'",
                SQLITE_FORGED[::-1],
            )
        history.dispose()
    else:
        from changegate.audit.columns import pg_create_function

        sql(history, pg_create_function("change_key").replace("CREATE", "CREATE OR REPLACE", 1))
    assert seq not in _shown(db_url)  # the attack works
    if history.dialect.name == "sqlite":
        report = tx(history, lambda s: verify(s, deep=True))
        assert not report.ok and "indexes of audit_events differ" in report.problems[0]
        assert cli(db_url, "audit", "verify").code == 0  # the plain verify reads definitions
        deep = cli(db_url, "audit", "verify", "--deep", "--json")
        assert deep.code == 1 and "indexes of audit_events differ" in deep.json()["problems"][0]
        return
    first, problems = broken(history)
    assert first == seq, problems


def test_a_column_no_longer_derived_from_the_bytes_is_reported(history: Engine) -> None:
    """The column turned into one that does not read the bytes (PostgreSQL: DROP EXPRESSION,
    then an UPDATE; SQLite: a constant as its expression), and an event moved off CHG-1."""
    seq = _event_about(history, "review:")
    if history.dialect.name == "sqlite":
        from changegate.audit.columns import SQLITE

        with history.begin() as conn:
            conn.exec_driver_sql("PRAGMA writable_schema = ON")
            conn.exec_driver_sql(
                "UPDATE sqlite_master SET sql = replace(sql, ?, 'NULL') "
                "WHERE name = 'audit_events'",
                (SQLITE["change_key"],),
            )
        history.dispose()
    else:
        sql(history, "ALTER TABLE audit_events ALTER COLUMN change_key DROP EXPRESSION")
        disable_triggers(history)
        sql(history, "UPDATE audit_events SET change_key = NULL WHERE seq = :s", s=seq)
    first, problems = broken(history)
    named = ("change_key not generated from the event bytes", "change_key is not the generated")
    assert any(n in p for p in problems for n in named), problems
    assert first is not None and first <= seq, problems
