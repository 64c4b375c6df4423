"""canonical_json's fast path (json.dumps once a walk has checked the value) against the rfc8785
package: the same bytes for every value, or the fast path declines and rfc8785 answers (and
raises where it raises)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from changegate.audit import chain

#: characters where json.dumps and JCS could part: control characters, the short escapes,
#: quote and backslash, "/", DEL, U+2028/2029, BMP above the surrogates, astral, surrogates
TRICKY = [chr(c) for c in range(0x20)] + [
    '"', "\\", "/", "\x7f", "\u2028", "\u2029", "\ufeff", "\uffff", "\ue000", "é",
    "\U0001f600", "\U00010000", "\ud800", "\udfff", "\ud83d",
]  # fmt: skip
text = st.text(st.sampled_from(TRICKY) | st.characters(), max_size=8)
floats = (
    st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from([0.0, -0.0, 1e-4, 9.9e-5, 1e-7, 1e16, 1e21, 1e22, 5.0, 2.5, 1e15 + 0.5])
    | st.integers(-(2**60), 2**60).map(float)
)
ints = (
    st.integers(-(2**53) + 1, 2**53 - 1) | st.sampled_from([2**53, -(2**53), 2**64]) | st.integers()
)
scalars = st.none() | st.booleans() | ints | floats | text
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.lists(inner, max_size=3).map(tuple)
        | st.dictionaries(text, inner, max_size=5)
    ),
    max_leaves=20,
)


def expected(value: Any) -> bytes | type[Exception]:
    try:
        return rfc8785.dumps(value)
    except ValueError as e:  # CanonicalizationError; UnicodeEncodeError for a surrogate key
        return type(e)


def fast(value: Any) -> bytes | None:
    """The fast path's bytes, or None when it declines."""
    try:
        return chain._encode(chain._jcs_ready(value)).encode()
    except (chain._Decline, UnicodeEncodeError):
        return None


@settings(max_examples=3000, deadline=None)
@given(values)
def test_fast_path_is_rfc8785_or_declines(value: Any) -> None:
    want = expected(value)
    got = fast(value)
    if got is not None:
        assert got == want
    if isinstance(want, bytes):
        assert chain.canonical_json(value) == want
    else:
        with pytest.raises(want):
            chain.canonical_json(value)


@pytest.mark.parametrize(
    "value",
    [
        {"a": "".join(chr(c) for c in range(0x20))},
        {"s": '\u2028\u2029/\x7f"\\'},
        {"\ue000": 1, "\U0001f600": 2, "z": 3},  # UTF-16 puts the astral key first
        {"cvss": 5.0, "n": -0.0, "x": 0.1, "y": 1e-5, "big": 1e16, "huge": 1e21},
        [2**53 - 1, -(2**53) + 1, True, False, None],
        {"b": {"d": [1, {"f": 1.5}], "c": []}, "a": {}},
    ],
)
def test_known_edges(value: Any) -> None:
    assert chain.canonical_json(value) == rfc8785.dumps(value)


def test_the_fast_path_takes_what_records_carry() -> None:
    """A finding's state (floats, dates as text, lists, nulls) takes the fast path."""
    state = {"id": 7, "cvss": 9.8, "aliases": ["GHSA-x"], "due": "2026-01-01", "purl": None}
    assert fast(state) == json.dumps(state, sort_keys=True, separators=(",", ":")).encode()
    assert fast({"score": 5.0}) == b'{"score":5}'


@pytest.mark.parametrize(
    "value",
    [{"\U0001f600": 1}, {1: "a"}, 2**53, float("nan"), 1e16, 1e-5, {"s": "\ud800"}],
)
def test_declines(value: Any) -> None:
    assert fast(value) is None
