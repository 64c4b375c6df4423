"""Shared plumbing of the Typer commands not yet moved to the one-declaration CLI: their common
options, over the new core's options, transaction and error handling (see cli/core.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from changegate.cli.core import Opts, Run, guard, read_file
from changegate.cli.local.base import LocalBackend, engine_for
from changegate.cli.render import console

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from changegate.policy.loader import LoadedPolicy
    from changegate.policy.schema import Policy

__all__ = [
    "DbOpt",
    "JsonOpt",
    "Opts",
    "PolicyOpt",
    "console",
    "emit",
    "engine_for",
    "guarded",
    "loaded_policy",
    "read_file",
    "transaction",
]

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]
DbOpt = Annotated[
    str | None,
    typer.Option(
        "--db", envvar="CHANGEGATE_DB", help="SQLAlchemy URL of the database.", show_envvar=True
    ),
]
PolicyOpt = Annotated[
    Path | None,
    typer.Option(
        "--policy",
        envvar="CHANGEGATE_POLICY",
        help="Policy file (default: the built-in v1.2).",
        show_envvar=True,
    ),
]


@contextmanager
def transaction(opts: Opts, *, write: bool = True) -> Iterator[tuple[Session, Policy]]:
    with LocalBackend(opts).tx(write=write) as pair:
        yield pair


def loaded_policy(opts: Opts) -> LoadedPolicy:
    return LocalBackend(opts).loaded_policy()


def emit(opts: Opts, data: Any, human: Callable[[], None] | None = None) -> None:
    if human is None and not opts.json:
        console().print(data)
        return
    Run(opts, local=True).emit(data, human)


def guarded(opts: Opts, body: Callable[[], None]) -> None:
    """Run a command body; an error becomes one stderr line and its exit code."""
    code = guard(Run(opts, local=True), body)
    if code:
        raise SystemExit(code)
