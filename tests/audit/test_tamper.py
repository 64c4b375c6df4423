"""Tampering with the database directly, as someone with write access would; verify catches each."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import DBAPIError

from changegate.audit.chain import canonical_json, chain_hash, leaf_hash
from changegate.audit.service import verify
from changegate.changes import service as changes
from changegate.changes.schemas import ChangeUpdate
from changegate.reviews import service as reviews
from tests.cli_runner import cli
from tests.factories import DEFAULT, make_change, make_team, tx

P = DEFAULT.policy


@pytest.fixture
def history(engine: Engine) -> Engine:
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
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.execute(text("DROP TRIGGER audit_events_no_update"))
            conn.execute(text("DROP TRIGGER audit_events_no_delete"))
        else:
            conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))


def sql(engine: Engine, statement: str, **params: object) -> None:
    with engine.begin() as conn:
        conn.execute(text(statement), params)


def broken(engine: Engine) -> tuple[int | None, list[str]]:
    report = tx(engine, verify)
    assert not report.ok
    return report.first_broken_seq, report.problems


def test_triggers_refuse_update_and_delete(history: Engine) -> None:
    for statement in (
        "UPDATE audit_events SET entity_key = 'x' WHERE seq = 3",
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
    data = canonical_json({"seq": head + 1, "actor": "mallory", "action": "review.approved"})
    sql(
        history,
        "INSERT INTO audit_events (seq, entity_key, data, leaf_hash, chain_hash) VALUES (:s, 'review:99', :d, :l, :c)",
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
        "INSERT INTO audit_events (seq, entity_key, change_key, data, leaf_hash, chain_hash) "
        "VALUES (:s, 'review:99', 'CHG-1', :d, :l, :c)",
        s=head_seq + 1,
        d=data,
        l=leaf,
        c=chained,
    )
    sql(history, "UPDATE audit_head SET seq = :s, chain_hash = :c", s=head_seq + 1, c=chained)
    seq, problems = broken(history)
    assert seq == head_seq + 1 and "review:99 was recorded but its row is gone" in problems[0]


def test_reattributed_event_is_caught(history: Engine) -> None:
    """Pointing an event's (unhashed) index column at another entity cannot hide a row edit."""
    disable_triggers(history)
    with history.connect() as conn:
        last_change_event = conn.execute(
            text("SELECT max(seq) FROM audit_events WHERE entity_key = 'change:CHG-1'")
        ).scalar_one()
    sql(
        history,
        "UPDATE audit_events SET entity_key = 'change:CHG-2' WHERE seq = :s",
        s=last_change_event,
    )
    _, problems = broken(history)
    assert problems


def test_cli_verify_names_the_first_broken_event(history: Engine, db_url: str) -> None:
    disable_triggers(history)
    sql(history, "DELETE FROM audit_events WHERE seq = 3")
    r = cli(db_url, "audit", "verify")
    assert r.code == 1 and "BROKEN at event #3" in r.stdout
    assert cli(db_url, "audit", "verify", "--json").json()["first_broken_event"] == 3


def test_parallel_segments_verify_and_name_the_same_break(
    history: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from changegate.audit import service as audit_service

    monkeypatch.setattr(audit_service, "PARALLEL_MIN_EVENTS", 2)
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


@pytest.mark.parametrize(
    ("entity", "value"),
    [("review:", None), ("change:", ""), ("review:", "CHG-2"), ("change:", "CHG-2")],
)
def test_change_key_edited_behind_the_log(
    history: Engine, db_url: str, entity: str, value: str | None
) -> None:
    """Blanking or moving an event's change_key (after dropping the triggers) hides it from
    `audit log CHG-1`; verify names the event."""
    seq = _event_about(history, entity)
    assert seq in [e["seq"] for e in cli(db_url, "audit", "log", "CHG-1", "--json").json()]
    disable_triggers(history)
    sql(history, "UPDATE audit_events SET change_key = :v WHERE seq = :s", v=value, s=seq)
    shown = [e["seq"] for e in cli(db_url, "audit", "log", "CHG-1", "--json").json()]
    assert seq not in shown  # the attack: the event no longer shows
    first, problems = broken(history)
    assert first == seq and "change_key" in problems[0], problems
    r = cli(db_url, "audit", "verify")
    assert r.code == 1 and f"BROKEN at event #{seq}" in r.stdout


def test_swapped_entity_keys_are_caught(history: Engine) -> None:
    """Swapping two events' entity_key keeps every entity's count and last event: only the
    check of each event's indexed columns against its bytes sees it."""
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
        keys = dict(
            conn.execute(
                text("SELECT seq, entity_key FROM audit_events WHERE seq IN (:a, :b)"),
                {"a": a, "b": b},
            ).all()
        )
    disable_triggers(history)
    sql(history, "UPDATE audit_events SET entity_key = :k WHERE seq = :s", k=keys[b], s=a)
    sql(history, "UPDATE audit_events SET entity_key = :k WHERE seq = :s", k=keys[a], s=b)
    first, problems = broken(history)
    assert first == min(a, b) and "entity_key" in problems[0], problems


def test_index_checked_in_parallel_segments(
    history: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from changegate.audit import service as audit_service

    monkeypatch.setattr(audit_service, "PARALLEL_MIN_EVENTS", 2)
    seq = _event_about(history, "review:")
    disable_triggers(history)
    sql(history, "UPDATE audit_events SET change_key = NULL WHERE seq = :s", s=seq)
    first, problems = broken(history)
    assert first == seq and "change_key" in problems[0], problems


def test_gate_by_sha_ignores_a_commit_row_behind_the_log(history: Engine, db_url: str) -> None:
    sql(history, "INSERT INTO change_commits (change_id, sha) VALUES (1, :s)", s=UNREVIEWED)
    r = cli(db_url, "gate", "--git-sha", UNREVIEWED, "--env", "production", "--deployer", "carol")
    assert "CHG-1" not in r.stdout + r.stderr and r.code != 0


def test_undescribed_names_one_row_written_behind_the_log(history: Engine) -> None:
    """The check a decision can make on the one row it relies on (e.g. a commit link)."""
    from changegate.audit.service import undescribed
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
