"""``audit verify`` reads the log straight from the driver (``audit/raw_rows.py``): on
PostgreSQL as a stream, on SQLite in fetched batches. Every row comes through, in order, as
bytes; a read left before its end (the chain check stops at a break) leaves the connection
ready for the next statement, on both databases."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from changegate.audit import raw_rows
from tests.audit.test_tamper import make_history

SQL = "SELECT seq, data, leaf_hash FROM audit_events ORDER BY seq"


def test_every_row_in_order_as_bytes_in_batches(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_history(engine)
    monkeypatch.setattr(raw_rows, "BATCH", 4)
    conn = engine.raw_connection()
    try:
        dbapi = conn.dbapi_connection
        sqlite = engine.dialect.name == "sqlite"
        cur = dbapi.cursor() if sqlite else dbapi.cursor(binary=True)  # type: ignore[union-attr]
        expected = engine.raw_connection()
        try:
            plain = expected.cursor()
            plain.execute(SQL)
            want = [(int(s), bytes(d), bytes(h)) for s, d, h in plain.fetchall()]
        finally:
            expected.close()
        got = list(raw_rows.batches(cur, SQL, sqlite=sqlite))
        assert [len(b) for b in got[:-1]] == [4] * (len(got) - 1) and 0 < len(got[-1]) <= 4
        rows = [r for b in got for r in b]
        assert [(int(s), d, h) for s, d, h in rows] == want and len(want) > 8
        assert all(type(d) is bytes and type(h) is bytes for _, d, h in rows)
        # left after the first batch, as the chain check leaves at a break
        read = raw_rows.batches(cur, SQL, sqlite=sqlite)
        assert len(next(read)) == 4
        read.close()
        one = raw_rows.rows(cur, SQL, sqlite=sqlite)
        assert next(one)[0] == 1
        one.close()
        cur.execute("SELECT COUNT(*) FROM audit_events")  # the connection is free again
        assert cur.fetchone()[0] == len(want)
        cur.close()
    finally:
        conn.close()
