"""The check of an event's indexed columns against its bytes: the fast proof (index_ok) never
accepts columns that the exact rule (index_keys on the parsed event) rejects, whatever the
event's states hold, and accepts the columns record() writes."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from changegate.audit.chain import canonical_json, index_keys, index_ok
from tests.audit.strategies import events, forged_events, values

SCOPED = frozenset({b"review", b"evidence"})


def _claims(event: dict[str, Any], other: str | None) -> list[tuple[str, str | None]]:
    """The exact columns, and columns that differ from them in one or both."""
    entity, change = index_keys(event)
    alternatives = [other, "CHG-1", "CHG-9", "", None]
    out = [(entity, c) for c in alternatives if c != change]
    out += [(e, change) for e in ("change:CHG-1", "review:1", "user:1") if e != entity]
    if entity.startswith("change:") and change is None:
        out.append((entity, entity[7:]))
    return out


@settings(max_examples=600, deadline=None)
@given(forged_events(), st.none() | values)
def test_no_fast_proof_accepts_what_the_exact_rule_refuses(
    event: dict[str, Any], other: str | None
) -> None:
    """Whatever the bytes (canonical JSON of any object near an event's shape), index_ok and
    the verify loop accept the exact columns and nothing else."""
    from changegate.audit.chain import (
        GENESIS,
        chain_and_index_ok,
        chain_hash,
        index_problem,
        leaf_hash,
    )

    data = canonical_json(event)
    leaf = leaf_hash(data)
    chained = chain_hash(GENESIS, leaf)

    def loop(e: str, c: str | None) -> bool:
        row = (data, leaf, chained, e.encode(), None if c is None else c.encode())
        return chain_and_index_ok([[row]], GENESIS, SCOPED)[2]

    try:
        entity, change = index_keys(event)
    except KeyError:  # no entity: nothing is an event's columns
        for e, c in [("user:1", None), ("change:CHG-1", "CHG-1")]:
            assert index_problem(data, e, c) is not None
            assert not _ok(data, e, c) and not loop(e, c)
        return
    assert _ok(data, entity, change) and loop(entity, change)
    for e, c in _claims(event, other):
        assert index_problem(data, e, c) is not None
        assert not _ok(data, e, c), (e, c)
        assert not loop(e, c), (e, c)


def _forged(**members: Any) -> dict[str, Any]:
    return {"seq": 5, "ts": "2026-11-29T10:00:00Z", "actor": "mallory", "action": "x.y"} | members


@pytest.mark.parametrize(
    ("event", "claimed"),
    [
        pytest.param(  # no top-level entity_version; a nested one names another entity
            _forged(
                entity="user:1",
                before=None,
                after={"a": 1, "entity": "change:CHG-1", "entity_version": 1},
            ),
            ("change:CHG-1", "CHG-1"),
            id="nested-entity-version",
        ),
        pytest.param(  # a review whose state has no change of its own; a nested one does
            _forged(
                entity="review:1",
                entity_version=1,
                before=None,
                after={"id": 1, "meta": {"change": "CHG-9"}},
            ),
            ("review:1", "CHG-9"),
            id="nested-change",
        ),
        pytest.param(  # a top-level member between entity and entity_version
            _forged(entity="review:1", entity_tag="b", entity_version=1, before=None, after=None),
            ('review:1","entity_tag":"b', None),
            id="entity-key-with-quotes",
        ),
        pytest.param(  # no state, but a member sorting before "after" holds a nested one
            _forged(
                a0={"a": 1, "after": {"x": 1}},
                entity="change:CHG-1",
                entity_version=1,
                before=None,
                after=None,
            ),
            ("change:CHG-1", "CHG-1"),
            id="nested-after",
        ),
    ],
)
def test_forged_bytes_do_not_pass_the_fast_proof(
    event: dict[str, Any], claimed: tuple[str, str | None]
) -> None:
    """Forged events (hashes recomputed) whose columns the former byte-search proofs accepted
    though the parsed event says otherwise."""
    from changegate.audit.chain import (
        GENESIS,
        chain_and_index_ok,
        chain_hash,
        index_problem,
        leaf_hash,
    )

    data = canonical_json(event)
    assert index_keys(event) != claimed
    assert index_problem(data, *claimed) is not None
    assert not _ok(data, *claimed)
    leaf = leaf_hash(data)
    e, c = claimed
    row = (data, leaf, chain_hash(GENESIS, leaf), e.encode(), None if c is None else c.encode())
    assert not chain_and_index_ok([[row]], GENESIS, SCOPED)[2]


def _ok(data: bytes, entity: str | None, change: str | None) -> bool:
    return index_ok(
        data, (entity or "").encode(), None if change is None else change.encode(), SCOPED
    )


@settings(max_examples=400, deadline=None)
@given(events(), st.none() | values | st.sampled_from(["review:1", "change:CHG-1"]))
def test_fast_proof_agrees_with_the_exact_rule(event: dict[str, Any], other: str | None) -> None:
    data = canonical_json(event)
    entity, change = index_keys(event)
    assert _ok(data, entity, change)
    assert _ok(data, entity, other) == (other == change)
    if other is not None:
        assert _ok(data, other, change) == (other == entity)


def test_record_shapes_take_the_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """The shapes record() writes are proven without parsing (no fallback needed)."""
    from changegate.audit import chain

    parsed: list[bytes] = []
    exact = chain.index_problem

    def counting(data: bytes, entity: str | None, change: str | None) -> str | None:
        parsed.append(data)
        return exact(data, entity, change)

    monkeypatch.setattr(chain, "index_problem", counting)
    review = {
        "seq": 7,
        "ts": "2026-11-29T10:00:00Z",
        "actor": "bob",
        "action": "review.approved",
        "entity": "review:3",
        "entity_version": 1,
        "before": None,
        "after": {"id": 3, "change": "CHG-1", "comment": 'say "change":"CHG-9"'},
    }
    change = dict(review, entity="change:CHG-1", after={"id": "CHG-1", "risk": {}})
    user = dict(review, entity="user:4", after={"id": 4, "name": "bob"})
    for event in (review, change, user):
        assert _ok(canonical_json(event), *index_keys(event))
    assert not parsed


@settings(max_examples=300, deadline=None)
@given(events(), st.none() | values | st.sampled_from(["review:1", "change:CHG-1"]))
def test_the_verify_loop_agrees_with_the_exact_rule(
    event: dict[str, Any], other: str | None
) -> None:
    """chain_and_index_ok proves common shapes inline: it must agree with the exact rule."""
    from changegate.audit.chain import GENESIS, chain_and_index_ok, chain_hash, leaf_hash

    data = canonical_json(event)
    leaf = leaf_hash(data)
    chained = chain_hash(GENESIS, leaf)
    entity, change = index_keys(event)

    def ok(e: str, c: str | None) -> bool:
        row = (data, leaf, chained, e.encode(), None if c is None else c.encode())
        return chain_and_index_ok([[row]], GENESIS, SCOPED)[2]

    assert ok(entity, change)
    assert ok(entity, other) == (other == change)
    if other is not None:
        assert ok(other, change) == (other == entity)
