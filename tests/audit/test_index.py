"""The check of an event's indexed columns against its bytes: the fast proof (index_ok) never
accepts columns that the exact rule (index_keys on the parsed event) rejects, whatever the
event's states hold, and accepts the columns record() writes."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from changegate.audit.chain import canonical_json, index_keys, index_ok

SCOPED = frozenset({b"review", b"evidence"})
TRICKY = ["change", "entity", "entity_version", "id", 'x"change', "after", "before", "seq"]
keys = st.sampled_from(TRICKY) | st.text(min_size=1, max_size=6)
values = st.sampled_from(["CHG-1", "CHG-2", "change:CHG-1", "review:1", 'a"b', "a\\b", ""])
leaves = st.none() | st.booleans() | st.integers(-5, 5) | values
json_values = st.recursive(
    leaves,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=4),
    max_leaves=12,
)
states = st.dictionaries(keys, json_values, max_size=5)


@st.composite
def events(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["change", "review", "evidence", "user", "auth"]))
    ident = draw(st.sampled_from(["CHG-1", "CHG-2", "1", "2", 'q"x']))
    after = draw(st.none() | states)
    before = draw(st.none() | states)
    if kind in ("review", "evidence"):  # their states always carry their change
        for state in (after, before):
            if state is not None:
                state["change"] = draw(st.none() | values)
    event: dict[str, Any] = {
        "seq": draw(st.integers(1, 10**6)),
        "ts": "2026-11-29T10:00:00.000001Z",
        "actor": draw(values),
        "action": f"{kind}.did",
        "entity": f"{kind}:{ident}",
        "entity_version": draw(st.integers(1, 30)),
        "before": before,
        "after": after,
    }
    if draw(st.booleans()):
        event["extra"] = draw(st.dictionaries(keys, json_values, max_size=3))
    return event


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
