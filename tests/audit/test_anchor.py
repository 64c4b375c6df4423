"""An anchor (a head printed by `audit verify`, kept outside the database) catches what the
chain alone cannot: a rewrite of the whole log with every hash recomputed."""

from __future__ import annotations

import json

from sqlalchemy import Engine, text

from changegate.audit.chain import GENESIS, canonical_json, chain_hash, leaf_hash
from tests.audit.test_tamper import disable_triggers, history, sql  # noqa: F401 (fixture)
from tests.cli_runner import cli


def rewrite_from(engine: Engine, seq: int) -> None:
    """Change event ``seq``'s timestamp and recompute every hash from there to the head, as
    someone with write access to the whole database could."""
    disable_triggers(engine)
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT seq, data, chain_hash FROM audit_events ORDER BY seq")
        ).all()
    previous = GENESIS
    for number, data, stored in rows:
        if number < seq:
            previous = bytes(stored)
            continue
        if number == seq:
            event = json.loads(bytes(data))
            event["ts"] = "2020-01-01T00:00:00Z"
            data = canonical_json(event)
        leaf = leaf_hash(bytes(data))
        previous = chain_hash(previous, leaf)
        sql(
            engine,
            "UPDATE audit_events SET data = :d, leaf_hash = :l, chain_hash = :c WHERE seq = :s",
            d=bytes(data),
            l=leaf,
            c=previous,
            s=number,
        )
    sql(engine, "UPDATE audit_head SET chain_hash = :c", c=previous)
    rebuild_subtrees(engine)


def rebuild_subtrees(engine: Engine) -> None:
    """Recompute the Merkle subtree hashes from the (rewritten) leaves, as the same person
    would (`audit verify` checks them against the leaves)."""
    from changegate.audit.tree import subtree_rows

    with engine.connect() as conn:
        rows = conn.execute(text("SELECT leaf_hash FROM audit_events ORDER BY seq")).all()
    sql(engine, "DELETE FROM audit_subtrees")
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO audit_subtrees (level, idx, hash) VALUES (:level, :idx, :hash)"),
            list(subtree_rows([bytes(r[0]) for r in rows])),
        )


def test_a_rewritten_log_verifies_alone_but_not_against_its_anchor(
    history: Engine,  # noqa: F811
    db_url: str,
) -> None:
    before = cli(db_url, "audit", "verify", "--json").json()
    anchor = f"{before['head_seq']}:{before['head_hash']}"
    human = cli(db_url, "audit", "verify")
    assert f"--anchor {anchor}" in human.stdout  # printed for the auditor to keep
    ok = cli(db_url, "audit", "verify", "--anchor", anchor, "--json")
    assert ok.code == 0 and ok.json()["anchors"] == [
        {"seq": before["head_seq"], "hash": before["head_hash"], "ok": True}
    ]

    rewrite_from(history, 2)
    alone = cli(db_url, "audit", "verify", "--json")
    assert alone.code == 0 and alone.json()["head_hash"] != before["head_hash"]  # the limit
    caught = cli(db_url, "audit", "verify", "--anchor", anchor, "--json")
    assert caught.code == 1
    out = caught.json()
    assert out["anchors"][0]["ok"] is False
    assert out["first_broken_event"] == before["head_seq"]
    assert "the log up to here was rewritten" in out["problems"][0]
    assert "DOES NOT MATCH" in cli(db_url, "audit", "verify", "--anchor", anchor).stdout


def test_an_anchor_past_the_head_means_events_were_removed(
    history: Engine,  # noqa: F811
    db_url: str,
) -> None:
    head = cli(db_url, "audit", "verify", "--json").json()
    far = f"{head['head_seq'] + 5}:{head['head_hash']}"
    r = cli(db_url, "audit", "verify", "--anchor", far, "--json")
    assert r.code == 1
    assert f"the log ends at #{head['head_seq']}" in r.json()["problems"][0]


def test_a_malformed_anchor_is_refused(history: Engine, db_url: str) -> None:  # noqa: F811
    for bad in ("12", "x:ab", "0:" + "a" * 64, "3:" + "g" * 64, "3:abc"):
        r = cli(db_url, "audit", "verify", "--anchor", bad, "--json")
        assert r.code == 2, bad
        assert r.json()["field"] == "anchor"
        assert "give SEQ:HASH" in r.stderr
