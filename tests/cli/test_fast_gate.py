"""`changegate gate` as a process (the pipeline's hot path) loads only Click, the CLI core, the
gate's command module and its backend: no Typer, Pydantic or Rich. It behaves exactly like the
same command run in-process (same stdout, stderr and exit code) for every outcome; local against
remote is the parity test's (tests/api/test_remote_cli.py)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from sqlalchemy import Engine

from tests.cli_runner import ENTRY, cli, cli_process
from tests.factories import make_change, make_team


@pytest.mark.parametrize(
    "args",
    [
        ["--env", "production", "--deployer", "carol"],
        ["--env", "production", "--deployer", "carol", "--json"],
        ["--env=production", "--deployer=erin", "--json"],
        ["--env", "moon", "--deployer", "carol"],
        ["--deployer", "carol"],
        ["--env", "production", "--deployer", "carol", "--bogus"],
    ],
)
def test_gate_process_matches_the_command_in_process(
    engine: Engine, db_url: str, args: list[str]
) -> None:
    make_team(engine)
    key = make_change(engine)
    in_process = cli(db_url, "gate", key, *args)
    process = cli_process(db_url, "gate", key, *args)
    assert process.code == in_process.code
    if "--json" in args:
        a, b = process.json(), in_process.json()
        a.pop("decision", None), b.pop("decision", None)
        assert a == b
    else:
        assert process.stderr == in_process.stderr
    if "Usage" in in_process.stderr:
        assert "Usage: changegate gate" in process.stderr and process.code == 2
    assert process.code in (1, 2)


def test_gate_process_imports_neither_typer_nor_pydantic_nor_rich(
    engine: Engine, db_url: str
) -> None:
    """The pipeline's hot path: a cached policy snapshot, Click, plain output."""
    make_team(engine)
    key = make_change(engine)
    args = ["gate", key, "--env", "production", "--deployer", "carol"]
    cli_process(db_url, *args)  # fills the policy snapshot cache
    env = dict(os.environ, CHANGEGATE_DB=db_url)
    env.pop("CHANGEGATE_URL", None)
    run = subprocess.run(
        [sys.executable, "-c", ENTRY, *args], env=env, capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 1 and "CLOSED" in run.stdout, run.stderr
    loaded = set(run.stderr.rsplit("MODULES ", 1)[1].split())
    assert {"click", "changegate.cli.pipeline", "changegate.cli.local.pipeline"} <= loaded
    assert not {m.split(".")[0] for m in loaded} & {"typer", "pydantic", "rich"}
    assert not {m for m in loaded if m.startswith("changegate.cli.legacy")}
