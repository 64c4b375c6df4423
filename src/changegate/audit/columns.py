"""The indexed columns of ``audit_events`` (``entity_key``, ``change_key``), derived by the
database itself from each event's hashed bytes, and the check that their definitions are the
expected ones.

Nothing is stored to edit: on SQLite both are VIRTUAL generated columns, computed from
``data`` whenever they are read (their indexes hold what the expression gave); on PostgreSQL
they are STORED generated columns over an IMMUTABLE SQL function of ``data``. Both databases
refuse an ``UPDATE`` of a generated column, with or without the append-only triggers. What is
left to an attacker with DDL rights is the definition itself, which `audit verify` reads back
once (:func:`definition_problems`) instead of re-checking every event: on SQLite that proves
the column values (the index entries a forged definition may have built and left behind are
recomputed only by ``verify(deep=True)``, several times slower). On PostgreSQL a function can be replaced, the stored columns recomputed
(``UPDATE ... SET data = data`` with the triggers disabled) and the function restored, leaving
stored values that no definition explains; so there `audit verify` also keeps its check of
every event's columns against its bytes (:func:`changegate.audit.chain.chain_and_index_ok`).

The expressions implement :func:`changegate.audit.chain.index_keys` (tests/audit/
test_columns.py compares them on both databases) for bytes without a NUL character (SQLite's
JSON functions end a string there; record() writes none). Migration 0009 creates the columns
from these constants: changing them needs a new migration that re-creates them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Computed, Connection
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ColumnElement
from sqlalchemy.types import String

#: SQLite >= 3.45 reads a BLOB argument of the JSON functions as JSONB: read the bytes as text
_D = "CAST(data AS TEXT)"


def _text_at(path: str) -> str:
    """The string at a JSON path, NULL when it is missing or not a string."""
    return f"CASE WHEN json_type({_D}, '{path}') IS 'text' THEN json_extract({_D}, '{path}') END"


def _object_at(path: str) -> str:
    """Whether the value at a JSON path is a non-empty object (0 or 1, never NULL)."""
    return f"(json_type({_D}, '{path}') IS 'object' AND json_extract({_D}, '{path}') IS NOT '{{}}')"


_ENTITY = f"json_extract({_D}, '$.entity')"

SQLITE = {
    "entity_key": _text_at("$.entity"),
    "change_key": (
        f"CASE WHEN json_type({_D}, '$.entity') IS NOT 'text' THEN NULL "
        f"WHEN NOT ({_object_at('$.after')} OR {_object_at('$.before')}) THEN NULL "
        f"WHEN {_ENTITY} = 'change' OR substr({_ENTITY}, 1, 7) = 'change:' "
        f"THEN substr({_ENTITY}, 8) "
        f"WHEN {_object_at('$.after')} THEN {_text_at('$.after.change')} "
        f"ELSE {_text_at('$.before.change')} END"
    ),
}
"""SQLite: the expression of each generated column."""

#: the table as migration 0009 creates it on SQLite; `audit verify` compares sqlite_master
SQLITE_TABLE = (
    "CREATE TABLE audit_events (\n"
    "\tseq BIGINT NOT NULL,\n"
    f"\tentity_key VARCHAR(200) GENERATED ALWAYS AS ({SQLITE['entity_key']}) VIRTUAL NOT NULL,\n"
    f"\tchange_key VARCHAR(30) GENERATED ALWAYS AS ({SQLITE['change_key']}) VIRTUAL,\n"
    "\tdata BLOB NOT NULL,\n"
    "\tleaf_hash BLOB NOT NULL,\n"
    "\tchain_hash BLOB NOT NULL,\n"
    "\tCONSTRAINT pk_audit_events PRIMARY KEY (seq)\n"
    ")"
)
INDEXES = {
    name: f"CREATE INDEX ix_audit_events_{name} ON audit_events ({name})"
    for name in ("entity_key", "change_key")
}

#: PostgreSQL: the IMMUTABLE function behind each generated column, and its body. ``json``
#: rather than ``jsonb``: jsonb refuses a ``\u0000`` escape that canonical JSON may hold.
PG_FUNCTIONS = {
    "entity_key": "changegate_event_entity",
    "change_key": "changegate_event_change",
}
_PG_JSON = "(SELECT convert_from(event, 'UTF8')::json AS j) AS p"
_PG_NONEMPTY = (
    "json_typeof(j -> '{m}') = 'object' AND EXISTS (SELECT FROM json_object_keys(j -> '{m}'))"
)
PG_BODIES = {
    "entity_key": (
        f"SELECT CASE WHEN json_typeof(j -> 'entity') = 'string' THEN j ->> 'entity' END FROM {_PG_JSON}"
    ),
    "change_key": (
        "SELECT CASE WHEN s IS NULL OR json_typeof(j -> 'entity') IS DISTINCT FROM 'string' "
        "THEN NULL "
        "WHEN j ->> 'entity' = 'change' OR left(j ->> 'entity', 7) = 'change:' "
        "THEN substr(j ->> 'entity', 8) "
        "WHEN json_typeof(s -> 'change') = 'string' THEN s ->> 'change' END "
        "FROM (SELECT j, CASE "
        f"WHEN {_PG_NONEMPTY.format(m='after')} THEN j -> 'after' "
        f"WHEN {_PG_NONEMPTY.format(m='before')} THEN j -> 'before' END AS s "
        f"FROM {_PG_JSON}) AS e"
    ),
}
#: the settings each function runs with: no object on the search path can stand in for a
#: built-in one
PG_CONFIG = ["search_path=pg_catalog"]


def pg_create_function(column: str) -> str:
    return (
        f"CREATE FUNCTION {PG_FUNCTIONS[column]}(event bytea) RETURNS text LANGUAGE sql "
        "IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog "
        f"AS $body${PG_BODIES[column]}$body$"
    )


def pg_expression(column: str) -> str:
    """The generated column's expression as ``pg_get_expr`` prints it."""
    return f"{PG_FUNCTIONS[column]}(data)"


class _Expression(ColumnElement[str]):
    """The expression of a generated column, compiled per dialect."""

    inherit_cache = True
    type = String()

    def __init__(self, column: str) -> None:
        self.column = column


@compiles(_Expression, "sqlite")
def _sqlite_expression(element: _Expression, compiler: SQLCompiler, **kw: Any) -> str:
    return SQLITE[element.column]


@compiles(_Expression, "postgresql")
def _pg_expression(element: _Expression, compiler: SQLCompiler, **kw: Any) -> str:
    return pg_expression(element.column)


class EventKey(Computed):
    """The ORM model's generated column: VIRTUAL on SQLite, STORED on PostgreSQL (which knows
    only STORED before version 18), as migration 0009 creates them."""

    def __init__(self, column: str) -> None:
        super().__init__(_Expression(column))
        self.derived = column

    def _copy(self, *, target_table: Any = None, **kw: Any) -> EventKey:
        return EventKey(self.derived)


@compiles(EventKey, "sqlite")
def _sqlite_generated(element: EventKey, compiler: Any, **kw: Any) -> str:
    return f"GENERATED ALWAYS AS ({SQLITE[element.derived]}) VIRTUAL"


@compiles(EventKey, "postgresql")
def _pg_generated(element: EventKey, compiler: Any, **kw: Any) -> str:
    return f"GENERATED ALWAYS AS ({pg_expression(element.derived)}) STORED"


def definition_problems(conn: Connection) -> list[str]:
    """What differs between the database's definitions of the indexed columns and the expected
    ones (an empty list when they are exactly the expected ones)."""
    if conn.dialect.name == "sqlite":
        return _sqlite_problems(conn)
    return _pg_problems(conn)


def _sqlite_problems(conn: Connection) -> list[str]:
    rows = conn.exec_driver_sql(
        "SELECT type, name, sql FROM sqlite_master WHERE tbl_name = 'audit_events' "
        "AND type IN ('table', 'index') AND sql IS NOT NULL"
    ).all()
    found: dict[tuple[str, str], str] = {(str(t), str(n)): str(s) for t, n, s in rows}
    expected = {("table", "audit_events"): SQLITE_TABLE} | {
        ("index", f"ix_audit_events_{c}"): sql for c, sql in INDEXES.items()
    }
    problems = []
    for kind, name in sorted(found.keys() | expected.keys()):
        if (kind, name) not in expected:
            problems.append(f"audit_events has an unexpected {kind} {name}: {found[kind, name]}")
        elif (sql := found.get((kind, name))) != expected[kind, name]:
            why = _what_differs(sql or "") if kind == "table" else ""
            problems.append(
                f"the definition of {kind} {name} in sqlite_master differs from migration "
                f"0009's{why}: found {sql!r}"
            )
    return problems


def _what_differs(table_sql: str) -> str:
    """Which generated columns' expressions a table definition lacks, as a clause."""
    lost = [
        c for c, expr in SQLITE.items() if f"{c} VARCHAR(" not in table_sql or expr not in table_sql
    ]
    if not lost:
        return ""
    return (
        f" ({', '.join(lost)} not generated from the event bytes as expected: "
        "`audit log` may miss or misfile events)"
    )


def _pg_problems(conn: Connection) -> list[str]:
    problems = []
    columns: dict[str, str] = dict(
        conn.exec_driver_sql(
            "SELECT a.attname, a.attgenerated::text || ':' || coalesce(pg_get_expr(d.adbin, d.adrelid), '') "
            "FROM pg_attribute a LEFT JOIN pg_attrdef d "
            "ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
            "WHERE a.attrelid = 'audit_events'::regclass "
            "AND a.attname IN ('entity_key', 'change_key') AND NOT a.attisdropped"
        ).all()
    )
    for column, function in PG_FUNCTIONS.items():
        expected = f"s:{pg_expression(column)}"
        if columns.get(column) != expected:
            problems.append(
                f"audit_events.{column} is not the generated column {pg_expression(column)} "
                f"(found {columns.get(column)!r}): its values may not come from the event bytes"
            )
        problems += _pg_function_problems(conn, function, PG_BODIES[column])
    return problems


def _pg_function_problems(conn: Connection, name: str, body: str) -> list[str]:
    rows = conn.exec_driver_sql(
        "SELECT p.prosrc, p.provolatile, l.lanname, p.proconfig, "
        "pg_get_function_arguments(p.oid), pg_get_function_result(p.oid) "
        "FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang WHERE p.proname = %(n)s",
        {"n": name},
    ).all()
    expected = (body, "i", "sql", PG_CONFIG, "event bytea", "text")
    if len(rows) != 1:
        return [f"function {name} is defined {len(rows)} times (expected once)"]
    found = tuple(rows[0])
    if found == expected:
        return []
    fields = ("body", "volatility", "language", "settings", "arguments", "result")
    diff = ", ".join(
        f"{f} {a!r} (expected {b!r})"
        for f, a, b in zip(fields, found, expected, strict=True)
        if a != b
    )
    return [f"function {name} differs from its definition: {diff}"]
