"""Entry point of the `changegate` command. Each command parses options, calls a service, prints."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from changegate.cli import changes as changes_cmd
from changegate.cli import misc as misc_cmd
from changegate.cli import pipeline as pipeline_cmd

app = typer.Typer(
    name="changegate",
    help="Change management policy as code: change records, approvals with segregation of duties, "
    "a deploy gate and a tamper-evident audit log.\n\nExample: changegate demo",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

changes_cmd.register(app)
pipeline_cmd.register(app)
misc_cmd.register(app)


def run() -> None:
    app()


__all__ = ["Annotated", "Path", "app", "run"]
