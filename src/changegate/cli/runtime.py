"""CLI plumbing without Typer: options object, the transaction, error mapping and output.

Kept free of Typer so the hot path (`changegate gate` in a pipeline) can run without paying
for Typer's import and parameter introspection. Heavy libraries (SQLAlchemy, Pydantic) are
imported inside functions.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session

    from changegate.policy.loader import LoadedPolicy
    from changegate.policy.schema import Policy

T = TypeVar("T")


@dataclass
class Opts:
    json: bool = False
    db: str | None = None
    policy: Path | None = None

    @property
    def db_url(self) -> str:
        if self.db:
            return self.db
        from changegate.paths import default_db_url

        return default_db_url()


_ENGINES: dict[str, Engine] = {}


def engine_for(opts: Opts) -> Engine:
    from changegate.db import make_engine

    url = opts.db_url
    if url not in _ENGINES:
        _ENGINES[url] = make_engine(url)
    return _ENGINES[url]


def dispose_engines() -> None:
    """Close every pooled connection (SQLite checkpoints its WAL) before the process exits."""
    while _ENGINES:
        _ENGINES.popitem()[1].dispose()


def loaded_policy(opts: Opts) -> LoadedPolicy:
    from changegate.policy.loader import load_policy

    return load_policy(opts.policy)


@contextmanager
def transaction(opts: Opts, *, write: bool = True) -> Iterator[tuple[Session, Policy]]:
    """One database transaction for one command: the mutation and its audit events commit together."""
    from changegate.db import ensure_initialised, session_scope
    from changegate.policy.loader import read_policy_text
    from changegate.policy.service import policy_in_force

    engine = engine_for(opts)
    ensure_initialised(engine)
    text, source = read_policy_text(opts.policy)  # refused before any write when unreadable
    with session_scope(engine, write=write) as session:
        loaded = policy_in_force(session, text, source, write=write)
        yield session, loaded.policy


def emit(opts: Opts, data: Any, human: Callable[[], None] | None = None) -> None:
    if opts.json:
        sys.stdout.write(json.dumps(data, indent=2, default=str, ensure_ascii=False) + "\n")
    elif human is not None:
        human()
    else:
        console().print(data)


def console() -> Any:
    from rich.console import Console

    return Console(highlight=False)


def fail(
    opts: Opts, message: str, *, code: int, field: str | None = None, kind: str = "Error"
) -> None:
    sys.stderr.write(f"error: {message}\n")
    if opts.json:
        sys.stdout.write(json.dumps({"error": kind, "message": message, "field": field}) + "\n")
    raise SystemExit(code)


def guarded(opts: Opts, body: Callable[[], T]) -> T:
    """Run a command body, mapping domain errors to one stderr line and an exit code."""
    from changegate.errors import ChangegateError

    try:
        return body()
    except ChangegateError as exc:
        fail(opts, exc.message, code=exc.exit_code, field=exc.field, kind=type(exc).__name__)
    except _db_errors() as exc:
        fail(
            opts,
            f"database error: {str(exc).splitlines()[0]}; check --db / CHANGEGATE_DB",
            code=2,
            field="db",
        )
    except ModuleNotFoundError as exc:
        from changegate.extras import missing_extra

        message = missing_extra(exc)
        if message is None:
            raise
        fail(opts, message, code=2, field="install", kind="MissingExtra")
    raise AssertionError("unreachable")  # pragma: no cover


def _db_errors() -> tuple[type[BaseException], ...]:
    from sqlalchemy.exc import ArgumentError, OperationalError

    return (OperationalError, ArgumentError)


def read_file(path: Path, field: str) -> bytes:
    from changegate.errors import InvalidInput

    try:
        return path.read_bytes()
    except OSError as exc:
        raise InvalidInput(
            f"--{field} {path}: cannot read the file ({exc.strerror})", field=field
        ) from exc


def env_default(name: str) -> str | None:
    return os.environ.get(name)
