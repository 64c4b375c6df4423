"""The audit log's rows read straight from the DB-API connection, for ``audit verify``: the
ORM's per-row work would dominate it.

On SQLite, ``fetchmany`` batches from the cursor (the rows are read from the file as they are
fetched). On PostgreSQL, the rows are streamed (psycopg's ``Cursor.stream``, in chunks): the
server sends them while the verifier hashes the ones it has, and memory holds one batch, where
a plain query first received the whole result (on 1,000,000 events: 1.3 s and 80 MB against
1.7-1.8 s and 578 MB; a server-side cursor's FETCHes took 2.2-2.3 s).
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from typing import Any

#: rows handed to the chain check at a time
BATCH = 20_000
#: rows psycopg takes from the server at a time when streaming (libpq 17's chunked mode)
CHUNK = 1_000


def is_sqlite(dbapi_conn: Any) -> bool:
    return type(dbapi_conn).__module__.startswith("sqlite3")


def cursor(dbapi_conn: Any) -> Any:
    """A cursor of the driver's connection; on PostgreSQL in the binary format, which hands
    bytea out as its bytes rather than hex text to decode (the Merkle subtrees a verify
    worker reads: 0.45 -> 0.38 s for 491,520 leaves' subtrees)."""
    return dbapi_conn.cursor() if is_sqlite(dbapi_conn) else dbapi_conn.cursor(binary=True)


def batches(cursor: Any, sql: str, *, sqlite: bool) -> Generator[list[Any], None, None]:
    """The rows of ``sql`` in lists of up to :data:`BATCH`, bytea values as ``bytes``; close
    it when leaving before the end (on PostgreSQL the stream is then closed)."""
    if sqlite:
        cursor.execute(sql)
        yield from _fetched(cursor)
    else:
        yield from _streamed(cursor, sql)


def rows(cursor: Any, sql: str, *, sqlite: bool) -> Generator[Any, None, None]:
    """The rows of ``sql`` one by one; close it when leaving before the end."""
    read = batches(cursor, sql, sqlite=sqlite)
    try:
        for batch in read:
            yield from batch
    finally:
        read.close()


def _fetched(cursor: Any) -> Iterator[list[Any]]:
    while True:
        got = cursor.fetchmany(BATCH)
        if not got:
            return
        yield _as_bytes(got)


def _streamed(cursor: Any, sql: str) -> Generator[list[Any], None, None]:
    """``sql``'s rows as PostgreSQL sends them. A stream left before its end (the chain check
    stops at a break) is closed, so the connection can run the next statement."""
    import psycopg

    size = CHUNK if psycopg.pq.version() >= 170000 else 1  # chunks need libpq 17
    stream = cursor.stream(sql, size=size)
    try:
        got: list[Any] = []
        for row in stream:
            got.append(row)
            if len(got) >= BATCH:
                yield _as_bytes(got)
                got = []
        if got:
            yield _as_bytes(got)
    finally:
        stream.close()


def _as_bytes(got: list[Any]) -> list[Any]:
    if not isinstance(got[0][0], bytes):  # psycopg may hand out memoryviews
        return [tuple(bytes(v) if isinstance(v, memoryview) else v for v in r) for r in got]
    return got
