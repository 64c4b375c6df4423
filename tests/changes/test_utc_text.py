"""Timestamps read as SQLite hands them over (naive UTC text) decode to the same aware UTC
datetimes whichever way ``utc_value`` takes, and ``iso`` writes them back unchanged."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from changegate.db import iso, utc_value


def _long_way(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text)
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


@given(st.datetimes(min_value=dt.datetime(1970, 1, 1), max_value=dt.datetime(9998, 1, 1)))
def test_sqlite_text_decodes_as_utc(naive: dt.datetime) -> None:
    for text in (str(naive), naive.isoformat(), naive.strftime("%Y-%m-%d %H:%M:%S.%f")):
        got = utc_value(text)
        assert got == _long_way(text) and got is not None and got.tzinfo is dt.UTC
        assert iso(got) == naive.isoformat() + "Z"


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-01",  # a date alone: midnight UTC, not a naive datetime
        "2026-11-01T00:52:00+02:00",
        "2026-11-01T00:52:00Z",
        "2026-11-01 00:52:00.123456-05:30",
    ],
)
def test_text_with_an_offset_or_a_date_alone_takes_the_long_way(text: str) -> None:
    got = utc_value(text)
    assert got == _long_way(text) and got is not None and got.tzinfo is dt.UTC


def test_iso_converts_other_zones_and_keeps_utc() -> None:
    plus_two = dt.datetime(2026, 1, 1, 2, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert iso(plus_two) == "2026-01-01T00:00:00Z"
    assert iso(dt.datetime(2026, 1, 1, 0, 0, 0, 5, tzinfo=dt.UTC)) == "2026-01-01T00:00:00.000005Z"
    assert iso(None) is None and utc_value(None) is None
    with pytest.raises(ValueError):
        utc_value("not a time")


def _both(value: str | dt.datetime) -> tuple[object, object]:
    """``_time_text(value)`` and ``iso(utc_value(value))``, or the exception type each raised."""
    from changegate.changes.listing import _time_text

    out: list[object] = []
    for make in (_time_text, lambda v: iso(utc_value(v))):
        try:
            out.append(make(value))
        except (ValueError, OverflowError) as exc:
            out.append(type(exc))
    return out[0], out[1]


@given(
    st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31)),
    st.sampled_from(["", "+00:00", "Z", "-05:30", "+14:00"]),
    st.sampled_from([" ", "T"]),
)
def test_the_lists_time_text_is_iso_of_utc_value(naive: dt.datetime, offset: str, sep: str) -> None:
    """The lists' fast path for SQLite's naive text writes what ``iso(utc_value())`` writes,
    for naive text, text with an offset and aware datetimes (PostgreSQL's) alike."""
    for text in (naive.isoformat(sep) + offset, naive.strftime("%Y-%m-%d %H:%M:%S.%f") + offset):
        fast, slow = _both(text)
        assert fast == slow
    if offset in ("", "+00:00"):
        aware = naive.replace(tzinfo=dt.UTC)
        assert _both(aware)[0] == _both(aware)[1] == naive.isoformat() + "Z"


@pytest.mark.parametrize(
    "text", ["2026-11-01", "not a time", "2026-13-01 00:00:00", "", "2026-11-01 24:00"]
)
def test_the_lists_time_text_refuses_and_reads_odd_text_as_utc_value_does(text: str) -> None:
    fast, slow = _both(text)
    assert fast == slow
