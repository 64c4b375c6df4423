"""Entry point of the `changegate` command. Each command parses options, calls a service, prints."""

from __future__ import annotations

import os
import sys
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import typer

SETTINGS: dict[str, object] = {
    "name": "changegate",
    "help": "Change management policy as code: change records, approvals with segregation of "
    "duties, a deploy gate and a tamper-evident audit log.\n\nExample: changegate demo",
    "no_args_is_help": True,
    "rich_markup_mode": None,
    "pretty_exceptions_enable": False,
    "context_settings": {"help_option_names": ["-h", "--help"]},
}


@cache
def build_app() -> typer.Typer:
    """Every command, registered on first use: remote mode (CHANGEGATE_URL) never imports Typer."""
    import typer

    from changegate.cli import legacy_changes as changes_cmd
    from changegate.cli import legacy_server as server_cmd

    app = typer.Typer(**SETTINGS)  # type: ignore[arg-type]
    changes_cmd.register(app)
    server_cmd.register(app)
    return app


def __getattr__(name: str) -> Any:
    """`from changegate.cli.main import app` still works; the app is built then."""
    if name == "app":
        return build_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _command_name(info: typer.models.CommandInfo) -> str:
    if info.name:
        return info.name
    callback = info.callback
    return "" if callback is None else callback.__name__.replace("_", "-")


def only(command: str) -> typer.Typer | None:
    """The app narrowed to one top-level command, so Typer introspects only what runs.

    Building every command's parameters costs tens of milliseconds per invocation; a pipeline
    calling `changegate gate` should not pay for the other thirty commands.
    """
    import typer

    app = build_app()
    commands = [c for c in app.registered_commands if _command_name(c) == command]
    groups = [g for g in app.registered_groups if g.name == command]
    if not commands and not groups:
        return None
    narrowed = typer.Typer(**SETTINGS)  # type: ignore[arg-type]
    narrowed.registered_commands = commands
    narrowed.registered_groups = groups
    narrowed.registered_callback = app.registered_callback
    if commands and not groups:
        # a single command would become the whole app; keep the name in the usage line
        narrowed.callback(invoke_without_command=False)(lambda: None)
    return narrowed


def run() -> None:
    """Run one command and exit.

    The process ends right after, so the final garbage collection is spared: `gc.freeze()`
    moves every object out of the collector's reach (reference counting still frees them; the
    database engines are closed explicitly first). For `gate`, the pipeline's hot path, cycle
    collection is off for the whole short run. Together this saves a third of the gate's wall
    time (bench/gate_latency.py).
    """
    import gc

    if sys.argv[1:2] == ["gate"]:
        gc.disable()
    try:
        _dispatch()
    finally:
        runtime = sys.modules.get("changegate.cli.local.base")
        if runtime is not None:
            runtime.dispose_engines()
        gc.freeze()


def _dispatch() -> None:
    if os.environ.get("CHANGEGATE_URL"):
        from changegate.cli.legacy_remote import main as remote_main

        code = remote_main(sys.argv[1:])
        if code is not None:  # None: a command that runs locally (serve, demo, --help, ...)
            sys.exit(code)
    args = sys.argv[1:]
    first = next((a for a in args if not a.startswith("-")), None)
    target = only(first) if first and "--help" not in args and "-h" not in args else None
    (target or build_app())()
