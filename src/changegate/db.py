"""Engine and session handling.

SQLite runs in WAL mode and every write transaction starts with ``BEGIN IMMEDIATE`` so that
concurrent writers queue for the lock instead of failing halfway. PostgreSQL uses row locks
taken by the services (``SELECT ... FOR UPDATE``).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from contextvars import ContextVar
from typing import Any

import orjson
from sqlalchemy import (
    Connection,
    DateTime,
    Engine,
    MetaData,
    create_engine,
    event,
    insert,
    inspect,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Session, make_transient_to_detached
from sqlalchemy.sql.dml import Insert
from sqlalchemy.types import TypeDecorator

from changegate.errors import DatabaseBusy, NotInitialised
from changegate.sqlite_writers import lock_path, turn

#: Alembic head revision this code expects. Checked without importing Alembic.
SCHEMA_REVISION = "0018"

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use changegate.db.utcnow()")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        return utc_value(value)


def utc_value(value: str | dt.datetime | None) -> dt.datetime | None:
    """A ``UTCDateTime`` column's value, also as the driver hands it over without the type's
    processing (``type_coerce(column, Text)``): SQLite's naive UTC text or PostgreSQL's
    aware datetime."""
    if value is None:
        return None
    if isinstance(value, str):
        try:  # SQLite's naive UTC text, parsed as UTC in one call (three times faster)
            fast = dt.datetime.fromisoformat(value + "+00:00")
            if fast.tzinfo is dt.UTC:
                return fast
        except ValueError:  # text with an offset of its own (or not a time): the long way
            pass
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def iso(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is not dt.UTC:  # already UTC (utc_value's): no conversion to make
        value = value.astimezone(dt.UTC)
    return value.isoformat().replace("+00:00", "Z")


#: a run of digits long enough to be an integer beyond 64 bits, which orjson reads as a float,
#: found with every digit turned into 0 (translate) and one substring search: a tenth of the
#: time of a regular expression's search for ``\d{19}`` (5.7 µs on a 700-byte audit event)
_ZEROS = b"0" * 19
_ZEROS_TEXT = "0" * 19
_DIGITS_TO_ZERO = bytes.maketrans(b"123456789", b"000000000")
_DIGITS_TO_ZERO_TEXT = str.maketrans("123456789", "000000000")


def json_loads(text: str | bytes) -> Any:
    """A JSON column's value, exactly as the json module reads it: orjson (four times faster on
    the small documents the tables hold) unless the text has what orjson reads differently
    (an integer beyond 64 bits, which it makes a float) or refuses (NaN, a lone surrogate).
    Only ASCII digits make a JSON number; other digits sit in strings, read alike by both."""
    if isinstance(text, str):
        long_digits = _ZEROS_TEXT in text.translate(_DIGITS_TO_ZERO_TEXT)
    else:
        long_digits = _ZEROS in text.translate(_DIGITS_TO_ZERO)
    if not long_digits:
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
    return json.loads(text)


def make_engine(url: str, **kwargs: Any) -> Engine:
    kwargs.setdefault("json_deserializer", json_loads)
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 60}, **kwargs)
        _configure_sqlite(engine)
    else:
        engine = create_engine(url, **kwargs)
    return engine


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=60000")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        if conn.get_execution_options().get("changegate_write"):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")


#: SQLite engine -> the lock its writers in this process queue on (see session_scope)
_WRITERS: weakref.WeakKeyDictionary[Engine, threading.Lock] = weakref.WeakKeyDictionary()
_WRITERS_GUARD = threading.Lock()
#: as long as SQLite's own busy timeout (make_engine): a writer waits no longer in the queue
WRITER_WAIT_SECONDS = 60.0
#: when this request began waiting for its turn to write, if it waited in the event loop
#: first (changegate.write_queue): writer_lock's budget counts from then, not again
WRITE_QUEUED_AT: ContextVar[float | None] = ContextVar("changegate_write_queued_at", default=None)
#: the SQLite write transaction this call shares with the writers queued with it
#: (changegate.write_batch): its engine and connection; a write session_scope of that engine
#: opens a savepoint in it instead of a transaction of its own
SHARED_WRITE: ContextVar[tuple[Engine, Connection] | None] = ContextVar(
    "changegate_shared_write", default=None
)


def writers_busy(budget: float) -> DatabaseBusy:
    """What a writer gets when its turn did not come within ``budget`` seconds."""
    return DatabaseBusy(f"the database stayed busy for {budget:.0f} s; try again", field="db")


@contextmanager
def writer_lock(engine: Engine) -> Iterator[None]:
    """What a write transaction on ``engine`` waits for before it begins: on SQLite, one lock
    per engine in this process, so concurrent writers queue in the process instead of each
    sleep-polling SQLite's busy handler (which made waits long and unfair: bench/
    api_throughput.py); then the writers of every process take turns on a file beside the
    database (:mod:`changegate.sqlite_writers`). Nothing on PostgreSQL, where writers lock
    only the rows they change. The two waits share one budget, ``WRITER_WAIT_SECONDS``: after
    it, DatabaseBusy and nothing written.

    A plain lock, not an RLock: FastAPI may open a request's transaction on one worker thread
    and commit it on another, so the lock cannot belong to a thread."""
    if engine.dialect.name != "sqlite":
        yield
        return
    with _WRITERS_GUARD:
        lock = _WRITERS.get(engine)
        if lock is None:
            lock = _WRITERS[engine] = threading.Lock()
    budget = WRITER_WAIT_SECONDS
    queued = WRITE_QUEUED_AT.get()
    if queued is not None:
        WRITE_QUEUED_AT.set(None)  # the request's first write transaction used it
    deadline = (time.monotonic() if queued is None else queued) + budget
    if not lock.acquire(timeout=max(0.0, deadline - time.monotonic())):
        raise writers_busy(budget)
    try:
        path = lock_path(engine)  # and other processes' writers: changegate/sqlite_writers.py
        # one wait in all: the file's turn gets what the queue here left of it
        left = max(0.0, deadline - time.monotonic())
        with turn(path, left, budget=budget) if path else nullcontext():
            yield
    finally:
        lock.release()


@contextmanager
def session_scope(engine: Engine, *, write: bool = True) -> Iterator[Session]:
    """One transaction: commits on success, rolls back on any exception.

    ``write=True`` takes SQLite's write lock up front (``BEGIN IMMEDIATE``), so a
    read-check-write sequence inside the block cannot interleave with another writer; within
    one process, writers queue for it on :func:`writer_lock` first.
    """
    shared = SHARED_WRITE.get() if write else None
    if shared is not None and shared[0] is engine:
        with (
            Session(
                bind=shared[1], expire_on_commit=False, join_transaction_mode="create_savepoint"
            ) as session,
            session.begin(),  # SAVEPOINT; released on success, rolled back to on any exception
        ):
            yield session
        return
    bind = engine.execution_options(changegate_write=True) if write else engine
    with (
        writer_lock(engine) if write else nullcontext(),
        Session(bind=bind, expire_on_commit=False) as session,
        session.begin(),
    ):
        yield session


def current_revision(engine: Engine) -> str | None:
    from sqlalchemy.exc import DBAPIError

    with engine.connect() as conn:
        try:
            row = conn.execute(text("SELECT version_num FROM alembic_version")).first()
        except DBAPIError:
            conn.rollback()
            if inspect(conn).has_table("alembic_version"):
                raise
            return None
        return None if row is None else str(row[0])


def ensure_initialised(engine: Engine) -> None:
    rev = current_revision(engine)
    if rev is None:
        raise NotInitialised(
            f"no changegate database at {engine.url.render_as_string(hide_password=True)}: "
            "run `changegate init` first",
            field="db",
        )
    if rev != SCHEMA_REVISION:
        raise NotInitialised(
            f"database schema is at revision {rev}, this changegate expects {SCHEMA_REVISION}: "
            "run `changegate init` to upgrade it",
            field="db",
        )


def insert_now(session: Session, row: Base) -> None:
    """``row``, new with every column but its generated primary key set, written at once with
    one Core INSERT on the session's connection and made persistent in the session, as
    ``session.add`` and a flush would make it. The flush's unit of work cost 90 µs more than
    the statement for one row, a twentieth of an approval (bench/api_throughput.py)."""
    state = inspect(row)
    if not state.transient:
        raise ValueError(f"insert_now takes a new row, not a {state!r}")
    mapper = state.mapper
    [pk] = mapper.primary_key
    values: dict[str, Any] = {}
    for prop in mapper.column_attrs:
        [column] = prop.columns
        if column is pk:
            continue
        if prop.key not in state.dict:  # the ORM would apply a default: say it here instead
            raise ValueError(f"{type(row).__name__}.{prop.key} is not set")
        values[column.key] = state.dict[prop.key]
    result = session.connection().execute(_insert_of(type(row)), values)
    key = result.inserted_primary_key
    if key is None:  # pragma: no cover - both drivers return it
        raise ValueError(f"{type(row).__name__}: the database returned no key")
    setattr(row, mapper.get_property_by_column(pk).key, key[0])
    make_transient_to_detached(row)
    session.add(row)


@functools.cache
def _insert_of(model: type[Base]) -> Insert:
    return insert(model)  # built once per table: building costs more than running it
