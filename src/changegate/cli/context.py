"""Shared CLI plumbing for Typer commands: the common options, plus (re-exported from
``runtime``) the transaction, error mapping and JSON output."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from changegate.cli.runtime import (
    Opts,
    console,
    emit,
    engine_for,
    env_default,
    fail,
    guarded,
    loaded_policy,
    read_file,
    transaction,
)

__all__ = [
    "DbOpt",
    "JsonOpt",
    "Opts",
    "PolicyOpt",
    "console",
    "emit",
    "engine_for",
    "env_default",
    "fail",
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
