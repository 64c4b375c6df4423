"""The audit append's statements, sent to the database driver's cursor directly.

``record()`` runs on every audited write, under the head's lock, and issues five to eight
statements (the head, the entity's version, the event, the Merkle subtrees, the new head).
Through SQLAlchemy Core each costs 50-80 µs of Python before the driver sees it; on the
driver's own cursor, 3-5 µs (issue 12's profile: the audit append was about a third of an
approval's time in the worker). The statements are fixed and their parameters plain integers,
text and bytes, so they are written here once per parameter style, on the session's own
connection: they run in its transaction, as the Core statements did. ``record_many()`` uses
the same ones (one executemany for its events), so the head's lock is written once. SQLAlchemy
has no lower layer that keeps them this cheap; ``Connection.exec_driver_sql`` still costs
about 35 µs.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

#: the parameter marker per DB-API paramstyle: sqlite3 uses qmark, psycopg format/pyformat
_MARKERS = {"qmark": "?", "format": "%s", "pyformat": "%s"}


@dataclass(frozen=True)
class AppendSql:
    lock_head: str
    version: str
    insert_event: str
    set_head: str
    leaf: str
    insert_subtree: str
    marker: str

    @functools.cache  # noqa: B019 - a handful of instances, one per database kind
    def lefts(self, levels: int) -> str:
        """The stored subtrees of levels 1 .. ``levels - 1`` at the indexes given in order."""
        m = self.marker
        pairs = " OR ".join(f"(level = {level} AND idx = {m})" for level in range(1, levels))
        return f"SELECT level, idx, hash FROM audit_subtrees WHERE {pairs}"


@functools.cache
def statements(dialect: str, paramstyle: str) -> AppendSql:
    if dialect not in ("sqlite", "postgresql") or paramstyle not in _MARKERS:
        raise RuntimeError(
            f"the audit log supports SQLite and PostgreSQL, not {dialect} ({paramstyle})"
        )
    m = _MARKERS[paramstyle]
    lock = "" if dialect == "sqlite" else " FOR UPDATE"  # SQLite: BEGIN IMMEDIATE holds it
    return AppendSql(
        lock_head=f"SELECT seq, chain_hash FROM audit_head WHERE id = 1{lock}",
        version=f"SELECT count(*) FROM audit_events WHERE entity_key = {m}",
        insert_event=(
            f"INSERT INTO audit_events (seq, data, leaf_hash, chain_hash) VALUES ({m}, {m}, {m}, {m})"
        ),
        set_head=f"UPDATE audit_head SET seq = {m}, chain_hash = {m} WHERE id = 1",
        leaf=f"SELECT leaf_hash FROM audit_events WHERE seq = {m}",
        insert_subtree=f"INSERT INTO audit_subtrees (level, idx, hash) VALUES ({m}, {m}, {m})",
        marker=m,
    )


def driver_cursor(session: Session) -> tuple[Any, AppendSql]:
    """A cursor on the session's connection, in its transaction, with the statements for it."""
    conn = session.connection()
    dialect = conn.dialect
    return conn.connection.dbapi_connection.cursor(), statements(  # type: ignore[union-attr]
        dialect.name, dialect.paramstyle
    )
