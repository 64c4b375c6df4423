"""Listing changes a page at a time: filters, sorting and keyset (cursor) pagination.

A page is read with ``WHERE (sort_key, id) < (last_key, last_id) ORDER BY sort_key, id LIMIT n``
instead of an offset, so the 200th page costs what the first does, and rows inserted while a
client pages never shift a row onto two pages. The cursor is opaque to clients: URL-safe
base64 of the sort it belongs to and the last row's sort key and id. Anything else given as a
cursor is refused as bad input naming ``cursor``.
"""

from __future__ import annotations

import base64
import binascii
import collections
import datetime as dt
import functools
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, fields
from typing import Any, NamedTuple

from sqlalchemy import (
    JSON,
    Integer,
    Text,
    and_,
    bindparam,
    exists,
    select,
    tuple_,
    type_coerce,
)
from sqlalchemy.orm import Session

from changegate.changes.keys import change_key
from changegate.changes.lifecycle import STATES
from changegate.changes.models import STATE_FIELDS, STATE_TIMES, Change
from changegate.db import UTCDateTime, iso, json_loads, utc_value
from changegate.errors import InvalidInput
from changegate.policy.names import CLASS_NAMES

#: the sorts a list accepts; a leading ``-`` means newest first
SORTS = ("-created", "created", "-updated", "updated")
DEFAULT_SORT = "-created"
DEFAULT_LIMIT = 50
MAX_LIMIT = 500


@dataclass(frozen=True)
class ChangeFilter:
    """What a list is narrowed to; every field given must match."""

    state: str | None = None
    change_class: str | None = None
    category: str | None = None
    author: str | None = None
    #: changes deployed (or rolled back) to this environment at least once
    environment: str | None = None
    #: created at or after / before (ISO 8601 UTC, as ``audit.timebounds.parse_bound`` gives)
    since: str | None = None
    until: str | None = None
    #: text searched in the title, case-insensitively
    q: str | None = None

    @classmethod
    def from_query(cls, query: Mapping[str, str | None]) -> ChangeFilter:
        """The filters as the API's query and the CLI's options name them (``class`` for the
        class, times as people type them), each checked; empty values are no filter."""
        from changegate.audit.timebounds import parse_bound

        def get(name: str) -> str | None:
            return (query.get(name) or "").strip() or None

        return cls(
            state=get("state"),
            change_class=get("class"),
            category=get("category"),
            author=get("author"),
            environment=get("environment"),
            since=parse_bound(get("since"), "since"),
            until=parse_bound(get("until"), "until"),
            q=get("q"),
        )

    def given(self) -> dict[str, str]:
        """The filters set, named as in a query (for links that keep them)."""
        out = {f.name: v for f in fields(self) if (v := getattr(self, f.name))}
        if "change_class" in out:
            out["class"] = out.pop("change_class")
        return out


@dataclass(frozen=True)
class Page:
    #: rows with a ``Change``'s attributes (list_page), or its states (list_states)
    rows: list[Any]
    #: the cursor of the next page, None on the last one
    next: str | None
    #: the cursor of the previous page, None on the first one
    prev: str | None = None


def check_sort(sort: str | None) -> str:
    sort = sort or DEFAULT_SORT
    if sort not in SORTS:
        raise InvalidInput(
            f"sort: {sort!r} is not a sort; use one of {', '.join(SORTS)}", field="sort"
        )
    return sort


def check_limit(limit: int | None) -> int:
    limit = DEFAULT_LIMIT if limit is None else limit
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit: {limit} is out of range; use 1 to {MAX_LIMIT}", field="limit")
    return limit


def encode_cursor(sort: str, row: Any, *, back: bool = False) -> str:
    """The cursor of the page after ``row`` (a ``Change`` or a row of its columns; or,
    ``back``, of the page before it)."""
    key = row.updated_at if sort.lstrip("-") == "updated" else row.created_at
    data = {"s": sort, "k": iso(key), "i": row.id, "d": "p" if back else "n"}
    raw = json.dumps(data, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str) -> tuple[dt.datetime, int, bool]:
    """The sort key, id and direction (True: backwards) a cursor carries, or InvalidInput
    naming ``cursor``."""
    refused = InvalidInput(
        "cursor: not a cursor this list gave (or for another sort); start again without it",
        field="cursor",
    )
    if len(cursor) > 200:
        raise refused
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
        key = dt.datetime.fromisoformat(data["k"].replace("Z", "+00:00"))
        ident, direction = data["i"], data["d"]
        ok = data["s"] == sort and type(ident) is int and 0 < ident < 2**62 and key.tzinfo
    except (binascii.Error, UnicodeDecodeError, ValueError, TypeError, KeyError, AttributeError):
        raise refused from None
    if not ok or direction not in ("n", "p"):
        raise refused
    return key, ident, direction == "p"


_TABLE = Change.__table__


def _parameters(filters: ChangeFilter) -> dict[str, Any]:
    """The values of the filters given, checked, by the names of :func:`_condition`'s
    parameters; the statement is the same for every value (:func:`_statement`)."""
    if filters.state and filters.state not in STATES:
        raise InvalidInput(
            f"unknown state {filters.state!r}; states: {', '.join(STATES)}", field="state"
        )
    if filters.change_class and filters.change_class not in CLASS_NAMES:
        raise InvalidInput(
            f"unknown class {filters.change_class!r}; use one of {', '.join(CLASS_NAMES)}",
            field="class",
        )
    params: dict[str, Any] = {f.name: v for f in fields(filters) if (v := getattr(filters, f.name))}
    for bound in ("since", "until"):
        if bound in params:
            params[bound] = dt.datetime.fromisoformat(params[bound].replace("Z", "+00:00"))
    if "q" in params:
        text = params["q"].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        params["q"] = f"%{text}%"
    return params


def _condition(name: str, dialect: str) -> Any:
    """The condition of the filter ``name``, its value a bound parameter of that name."""
    t = _TABLE.c
    if name == "environment":
        from changegate.deployments.models import Deployment

        deployed = and_(
            Deployment.change_id == t.id, Deployment.environment == bindparam("environment")
        )
        return exists(select(Deployment.id).where(deployed))
    if name in ("since", "until"):
        when = bindparam(name, type_=t.created_at.type)
        return t.created_at >= when if name == "since" else t.created_at < when
    if name == "q":
        if dialect == "sqlite":
            # SQLite's LIKE ignores the case of ASCII letters only, as its lower() does: the
            # same match as ILIKE's lower(title) LIKE lower(q), which SQLite answers from the
            # sort index holding the title (migration 0018) rather than from each row
            return t.title.like(bindparam("q"), escape="\\")
        return t.title.ilike(bindparam("q"), escape="\\")
    return t[name] == bindparam(name)


def _order(stmt: Any, sort: str, after: bool) -> Any:
    """``stmt`` in ``sort`` order; ``after``: only the rows after the bound parameters
    ``after_key`` and ``after_id`` in that order."""
    col = _TABLE.c.updated_at if sort.lstrip("-") == "updated" else _TABLE.c.created_at
    desc = sort.startswith("-")
    if after:
        # a row-value comparison, which both databases answer from the (time, id) index: the
        # same condition spelt `col < key OR (col = key AND id < ident)` made SQLite walk the
        # rows before the cursor (1.65 ms instead of 0.18 for a page 7,500 rows deep)
        row = tuple_(col, _TABLE.c.id)
        bound = tuple_(
            bindparam("after_key", type_=col.type), bindparam("after_id", type_=Integer())
        )
        stmt = stmt.where(row < bound if desc else row > bound)
    if desc:
        return stmt.order_by(col.desc(), _TABLE.c.id.desc())
    return stmt.order_by(col, _TABLE.c.id)


@functools.lru_cache(maxsize=1024)
def _statement(
    dialect: str, given: tuple[str, ...], sort: str, after: bool, names: tuple[str, ...]
) -> Any:
    """The page's statement on ``dialect`` for a set of filters, a sort, a cursor or none, and
    columns: built once and kept, every value a bound parameter (building and compiling the
    statement again took as long as reading the page)."""
    stmt = select(*(_RAW[n] for n in names)).select_from(_TABLE)
    stmt = stmt.where(*(_condition(name, dialect) for name in given))
    return _order(stmt, sort, after).limit(bindparam("limit", type_=Integer()))


#: a page reads the JSON and timestamp columns as the driver hands them over and decodes them
#: in _reader's decoder: SQLAlchemy's per-value result processing of those columns took more
#: than half of a 50-row page's read
_JSON = tuple(c.name for c in _TABLE.columns if isinstance(c.type, JSON))
_TIMES = tuple(c.name for c in _TABLE.columns if isinstance(c.type, UTCDateTime))
_RAW = {
    c.name: type_coerce(c, Text).label(c.name) if c.name in _JSON + _TIMES else c
    for c in _TABLE.columns
}
#: what a page always reads, whatever else it asks for: the id and the sort keys (cursors)
_ALWAYS = ("id", "created_at", "updated_at")


def _json_value(value: Any) -> Any:
    if value == "[]":  # most changes' providers, links and commits: no decoder call
        return []
    return json_loads(value) if isinstance(value, str | bytes) else value


def _reader(columns: tuple[str, ...]) -> tuple[tuple[str, ...], Any]:
    """The names and the decoder of rows of ``columns`` of ``_RAW``."""
    id_at = columns.index("id")
    json_at = tuple(columns.index(n) for n in _JSON if n in columns)
    times_at = tuple(columns.index(n) for n in _TIMES if n in columns)

    # a named tuple: a quarter of a SimpleNamespace's time to make, as quick to read
    made = collections.namedtuple("ChangeRow", ("key", *columns))  # type: ignore[misc]

    def decoded(row: Any) -> Any:
        """A row with the values the ``Change`` columns' types give, and ``key``."""
        values = list(row)
        for i in json_at:
            values[i] = _json_value(values[i])
        for i in times_at:
            values[i] = utc_value(values[i])
        return made._make((change_key(values[id_at]), *values))

    return columns, decoded


_EVERY_COLUMN = _reader(("id", *(n for n in _RAW if n != "id")))


def _read(
    session: Session,
    filters: ChangeFilter,
    sort: str,
    limit: int,
    cursor: str | None,
    names: tuple[str, ...],
) -> tuple[list[Any], bool, bool]:
    """The page's raw rows of ``names`` in ``sort`` order, whether there are more after them,
    and whether the cursor went backwards (the rows are then turned round)."""
    params = _parameters(filters)
    given = tuple(params)
    key, ident, back = decode_cursor(cursor, sort) if cursor else (None, 0, False)
    # a page backwards is read in the opposite order from the cursor, then turned round
    read = (sort[1:] if sort.startswith("-") else "-" + sort) if back else sort
    if cursor:
        params |= {"after_key": key, "after_id": ident}
    conn = session.connection()
    stmt = _statement(conn.dialect.name, given, read, bool(cursor), names)
    rows = list(conn.execute(stmt, params | {"limit": limit + 1}))
    more = len(rows) > limit
    rows = rows[:limit]
    if back:
        rows.reverse()
    return rows, more, back


def list_page(
    session: Session,
    filters: ChangeFilter = ChangeFilter(),
    *,
    sort: str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
    columns: tuple[str, ...] | None = None,
) -> Page:
    """One page of changes matching ``filters`` in ``sort`` order, after (or before) the row
    ``cursor`` names; with the cursors of the pages either side. The rows are read as the
    table's columns, each with the ``Change``'s attributes and ``key`` but no ORM instance
    behind it (the web list renders them). ``columns``: only those (and the id and times the
    cursors are made of), for a page that shows a few (the web list); every one by default."""
    sort, limit = check_sort(sort), check_limit(limit)
    names, decoded = _EVERY_COLUMN if columns is None else _columns(columns)
    rows, more, back = _read(session, filters, sort, limit, cursor, names)
    return _paged(sort, [decoded(row) for row in rows], more, back, bool(cursor))


def _paged(sort: str, rows: list[Any], more: bool, back: bool, cursor: bool) -> Page:
    """The page of ``rows`` (each with the id and times the cursors are made of), with the
    cursors of the pages either side."""
    if not rows:
        return Page([], None, None)
    has_next, has_prev = (True, more) if back else (more, cursor)
    return Page(
        rows,
        encode_cursor(sort, rows[-1]) if has_next else None,
        encode_cursor(sort, rows[0], back=True) if has_prev else None,
    )


@functools.cache
def _columns(columns: tuple[str, ...]) -> tuple[tuple[str, ...], Any]:
    unknown = sorted(set(columns) - set(_RAW))
    if unknown:
        raise ValueError(f"not columns of changes: {', '.join(unknown)}")
    return _reader((*_ALWAYS, *(n for n in columns if n not in _ALWAYS)))


def _time_text(value: Any) -> str | None:
    """``iso(utc_value(value))``, in half the time for SQLite's naive UTC text: parsed and
    written naive, then the ``Z`` added (writing an aware time's offset is the slower half).
    ``tests/changes/test_utc_text.py`` holds the two equal."""
    if isinstance(value, str):
        naive = dt.datetime.fromisoformat(value)
        if naive.tzinfo is None:
            return naive.isoformat() + "Z"
    return iso(utc_value(value))


def _state_maker() -> Callable[[Any], dict[str, Any]]:
    """What makes a change's state, as ``change_state`` gives it (its ``STATE_FIELDS``, in
    order), from a row of _EVERY_COLUMN: where each field is in the row, and how it is made
    (``tests/changes/test_listing_stream.py`` holds the two equal, key order included)."""
    names = _EVERY_COLUMN[0]

    def how(field: str) -> Callable[[Any], Any] | None:
        if field == "id":
            return change_key
        return _json_value if field in _JSON else _time_text if field in STATE_TIMES else None

    plan = tuple((field, names.index(field), how(field)) for field in STATE_FIELDS)

    def state(row: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for field, i, make in plan:
            value = row[i]
            out[field] = value if make is None or value is None else make(value)
        return out

    return state


_STATE = _state_maker()


class _CursorKeys(NamedTuple):
    """A row's cursor keys: what :func:`encode_cursor` reads."""

    id: int
    created_at: dt.datetime | None
    updated_at: dt.datetime | None


_KEYS_AT = tuple(_EVERY_COLUMN[0].index(name) for name in _CursorKeys._fields)


def _cursor_keys(row: Any) -> Any:
    """What :func:`encode_cursor` reads of a row of _EVERY_COLUMN (its id and times), without
    decoding the rest of it."""
    ident, created, updated = (row[i] for i in _KEYS_AT)
    return _CursorKeys(ident, utc_value(created), utc_value(updated))


def list_states(
    session: Session,
    filters: ChangeFilter = ChangeFilter(),
    *,
    sort: str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page:
    """:func:`list_page` with each change as ``Change.audit_state()`` gives it: the page the
    API and the CLI send. Each state is made straight from the row's values, without the
    row object :func:`list_page` makes on the way."""
    sort, limit = check_sort(sort), check_limit(limit)
    rows, more, back = _read(session, filters, sort, limit, cursor, _EVERY_COLUMN[0])
    states = [_STATE(row) for row in rows]
    if not rows:
        return Page([], None, None)
    page = _paged(sort, [_cursor_keys(rows[0]), _cursor_keys(rows[-1])], more, back, bool(cursor))
    return Page(states, page.next, page.prev)


def iter_changes(
    session: Session,
    filters: ChangeFilter = ChangeFilter(),
    *,
    sort: str | None = None,
    page_size: int = MAX_LIMIT,
) -> Iterator[Change]:
    """Every matching change in ``sort`` order, read by one statement ``page_size`` rows at a
    time: through a server-side cursor on PostgreSQL (``yield_per`` makes psycopg declare a
    named cursor), and stepped by SQLite itself, so memory stays that of one batch however
    many changes there are. One statement reads one snapshot: each change once, even while
    another connection inserts.

    Each batch is expunged once yielded so the session does not keep every row it has seen.
    """
    params = _parameters(filters)
    dialect = session.connection().dialect.name
    conditions = (_condition(name, dialect) for name in params)
    stmt = _order(select(Change).where(*conditions), check_sort(sort), False)
    options = {"yield_per": check_limit(page_size)}
    result = session.scalars(stmt, params, execution_options=options)
    for batch in result.partitions():
        yield from batch
        for row in batch:
            session.expunge(row)
