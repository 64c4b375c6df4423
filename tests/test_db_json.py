"""JSON columns read with orjson where it reads exactly as the json module does, and with the
json module where it would not (integers beyond 64 bits, NaN, lone surrogates): a stored value
reads back as it always did. On SQLite and PostgreSQL through the engine's real columns."""

from __future__ import annotations

import json
import math
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import JSON, Column, Engine, Integer, MetaData, Table, insert, select, text

from changegate.db import json_loads

_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()  # unbounded: beyond 64 bits too
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text()  # lone surrogates included
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


def _same(a: Any, b: Any) -> bool:
    """Equal, with the same types all the way down (1 is not 1.0), NaN equal to NaN."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return bool(a == b)


@given(_VALUES)
def test_reads_every_value_as_the_json_module_does(value: Any) -> None:
    for dumped in (json.dumps(value), json.dumps(value, ensure_ascii=False)):
        assert _same(json_loads(dumped), json.loads(dumped)), dumped
        try:
            raw = dumped.encode()
        except UnicodeEncodeError:  # a lone surrogate written as itself: not UTF-8 bytes
            continue
        assert _same(json_loads(raw), json.loads(raw)), dumped


def test_the_cases_orjson_reads_differently() -> None:
    for dumped in ("18446744073709551616", "-9223372036854775809", "[1e400, NaN]", '"\\ud800"'):
        assert _same(json_loads(dumped), json.loads(dumped)), dumped
    assert json_loads("123456789012345678901234567890") == 123456789012345678901234567890
    # the run of 19 digits is found in bytes and in text, anywhere in the document
    big = '{"a": "x", "n": [1, 2, 9223372036854775808], "z": 0}'
    for doc in (big, big.encode()):
        assert json_loads(doc) == json.loads(doc) and type(json_loads(doc)["n"][2]) is int
    # digits in strings, ASCII or not, read alike either way
    for doc in ('{"t": "1234567890123456789012"}', '{"t": "\u0661\u0662\u0663"}'):
        assert json_loads(doc) == json.loads(doc) == json_loads(doc.encode())


def test_a_json_column_reads_back_what_was_stored(engine: Engine) -> None:
    table = Table(
        "json_probe", MetaData(), Column("id", Integer, primary_key=True), Column("v", JSON)
    )
    stored = [
        {"big": 2**70, "neg": -(2**65), "small": 3, "float": 0.1, "text": "é\u2028"},
        [1, 2.5, None, True, "x" * 19],
        {"digits": "1234567890123456789012"},  # a long digit run inside a string
    ]
    with engine.begin() as conn:
        table.create(conn)
        try:
            conn.execute(insert(table), [{"id": i, "v": v} for i, v in enumerate(stored)])
            got = [row.v for row in conn.execute(select(table.c.v).order_by(table.c.id))]
        finally:
            conn.execute(text("DROP TABLE json_probe"))
    assert all(_same(a, b) for a, b in zip(got, stored, strict=True)), got
