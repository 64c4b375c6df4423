"""What the remote-mode parity tests share: a local database and a server on another one with
the same users (on SQLite and PostgreSQL), running a command in either mode, and comparing the
two outputs. A test module takes the module-scoped ``pair`` fixture by importing it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner as ClickRunner

from changegate.cli.main import cli as root
from tests.api.support import database, running_org, serving
from tests.cli_runner import ENTRY, Run, cli

DATA = Path(__file__).parents[1] / "data"
POLICY = Path(__file__).parents[2] / "src" / "changegate" / "policy" / "default.yaml"
TEAM = {
    "alice": ["engineer"],
    "bob": ["engineer"],
    "carol": ["deployer"],
    "ada": ["admin"],
    "ci-bot": ["ci"],
}
TS = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|\+00:00)?( UTC)?")


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def pair(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str, dict[str, str]]]:
    """A local database, and a server on another database with the same users; their tokens."""
    team = TEAM | {"ada2": ["admin"]}  # a second administrator, to confirm grants
    with paired(request, tmp_path_factory.mktemp("remote"), team) as (local_url, base, tokens):
        yield local_url, base, tokens


@contextmanager
def paired(
    request: pytest.FixtureRequest, tmp: Path, team: dict[str, list[str]]
) -> Iterator[tuple[str, str, dict[str, str]]]:
    """On the backend ``request.param`` names: a local database and a server on another one,
    both with ``team``; the server's URL and a token per user."""
    backend = str(request.param)
    with database(backend, request, tmp) as local_url, database(backend, request, tmp) as url:
        with running_org(local_url) as local:
            for name, roles in team.items():
                local.user(*roles, name=name)
        with running_org(url) as org, serving(org.app) as base:
            for name, roles in team.items():
                org.user(*roles, name=name)
            yield local_url, base, {name: org.token(name) for name in team}


def run_remote(base: str, token: str, args: list[str], capsys: pytest.CaptureFixture[str]) -> Run:
    """``changegate ARGS`` with CHANGEGATE_URL and the token, and a local database that does not
    exist: a command that used a local database instead of the server would fail."""
    env = {
        "CHANGEGATE_URL": base,
        "CHANGEGATE_TOKEN": token,
        "CHANGEGATE_DB": "sqlite:////nonexistent/no-local-database.db",
        "COLUMNS": "200",
    }
    result = ClickRunner(env=env).invoke(root, args, catch_exceptions=False, prog_name="changegate")
    return Run(result.exit_code, result.stdout, result.stderr)


def normal(text: str) -> str:
    return TS.sub("<time>", text)


def comparable(run: Run) -> Any:
    try:
        data = json.loads(run.stdout)
    except ValueError:
        return normal(run.stdout)
    return json.loads(normal(json.dumps(data)))


def same(
    local_url: str,
    base: str,
    token: str,
    args: list[str],
    capsys: pytest.CaptureFixture[str],
    code: int | None = None,
) -> Run:
    """Run ``args`` locally and remotely; the same exit code, stderr and output."""
    here = cli(local_url, *args)
    there = run_remote(base, token, args, capsys)
    label = f"changegate {' '.join(args)}"
    assert there.code == here.code, f"{label}\nlocal: {here.stderr}\nremote: {there.stderr}"
    assert normal(there.stderr) == normal(here.stderr), label
    assert comparable(there) == comparable(here), label
    if code is not None:
        assert here.code == code, f"{label}: {here.stderr}"
    return there


#: what a remote command must never load: the database, the web framework, Typer, Rich
HEAVY = frozenset({"sqlalchemy", "fastapi", "starlette", "pydantic", "typer", "alembic", "rich"})


def remote_process(
    base: str, token: str, *args: str
) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """``changegate ARGS`` as a fresh process against the server, with no local database, and
    the top-level packages it loaded (listed at exit by the real entry point)."""
    env = dict(os.environ, CHANGEGATE_URL=base, CHANGEGATE_TOKEN=token)
    env["CHANGEGATE_DB"] = "sqlite:////nonexistent/no-local-database.db"
    run = subprocess.run(
        [sys.executable, "-c", ENTRY, *args], env=env, capture_output=True, text=True, timeout=60
    )
    loaded = {m.split(".")[0] for m in run.stderr.rsplit("MODULES ", 1)[-1].split()}
    return run, loaded
