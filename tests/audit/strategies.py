"""Hypothesis strategies for audit events: the shapes record() writes, and anything near
them that someone with database access could write (tests/audit/test_index.py,
tests/audit/test_columns.py)."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

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


#: top-level keys a forged event may add around record()'s own, sorting before, between and
#: after them; and entities that name a change in every way index_keys reads
ODD_TOP = ["aa", "action0", "after0", "b", "before0", "change", "entity_", "entity_tag", "zz"]
ODD_ENTITY = ["change", "change:", "change:CHG-1:x", "changes:1", "review:1", 'review:a","x":"b']


@st.composite
def forged_events(draw: st.DrawFn) -> dict[str, Any]:
    """Any JSON object near record()'s shape, as someone with database access could write it
    (with its hashes recomputed): members dropped or added at the top level, states that are
    empty, not objects, or hold nested entity/change/after members, keys and values with
    quotes and backslashes."""
    event = draw(events())
    if draw(st.booleans()):
        event["entity"] = draw(st.sampled_from(ODD_ENTITY) | st.text(max_size=8))
    for key in ("entity_version", "before", "after", "seq", "ts", "actor", "action"):
        if draw(st.integers(0, 9)) == 0:
            del event[key]
    for key in ("after", "before"):
        if key in event and draw(st.integers(0, 4)) == 0:
            event[key] = draw(st.sampled_from([{}, [], 0, "", "x", {"change": None}]))
    for key in draw(st.lists(st.sampled_from(ODD_TOP), max_size=2)):
        event[key] = draw(json_values | st.just({"after": {"x": 1}, "entity": "change:CHG-1"}))
    nested = {"entity": draw(values), "entity_version": 1, "change": draw(values)}
    for key in ("after", "before", "extra"):
        if isinstance(event.get(key), dict) and draw(st.booleans()):
            event[key][draw(st.sampled_from(["a", "meta", "zz"]))] = nested
    return event
