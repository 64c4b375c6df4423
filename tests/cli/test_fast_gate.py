"""`changegate gate` as a process takes a path without Typer; it must behave exactly like the
Typer command (same stdout, stderr and exit code) for every outcome."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from tests.cli_runner import cli, cli_process
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
def test_fast_gate_matches_typer(engine: Engine, db_url: str, args: list[str]) -> None:
    make_team(engine)
    key = make_change(engine)
    typer_run = cli(db_url, "gate", key, *args)
    fast_run = cli_process(db_url, "gate", key, *args)
    assert fast_run.code == typer_run.code
    if "--json" in args:
        a, b = fast_run.json(), typer_run.json()
        a.pop("decision", None), b.pop("decision", None)
        assert a == b
    elif typer_run.code == 2 and "Usage" in typer_run.stderr:
        assert "Usage: changegate gate" in fast_run.stderr
        assert fast_run.stderr.splitlines()[-1] == typer_run.stderr.splitlines()[-1]
    else:
        assert fast_run.stderr == typer_run.stderr
    assert fast_run.code in (1, 2)


def test_gate_process_imports_neither_typer_nor_pydantic_nor_rich(
    engine: Engine, db_url: str
) -> None:
    """The pipeline's hot path: a cached policy snapshot, no CLI framework, plain output."""
    make_team(engine)
    key = make_change(engine)
    cli_process(
        db_url, "gate", key, "--env", "production", "--deployer", "carol"
    )  # fills the cache
    run = cli_process(
        db_url,
        "gate",
        key,
        "--env",
        "production",
        "--deployer",
        "carol",
        python_args=["-X", "importtime"],
    )
    assert run.code == 1 and "CLOSED" in run.stdout
    imported = {line.rsplit("|", 1)[-1].strip() for line in run.stderr.splitlines() if "|" in line}
    assert "changegate.cli.gate_run" in imported
    assert not {m.split(".")[0] for m in imported} & {"typer", "click", "pydantic", "rich"}
