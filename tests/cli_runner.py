"""Running the real `changegate` CLI in-process (Click's runner) or as a fresh process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

from click.testing import CliRunner as ClickRunner

from changegate.cli.main import cli as root


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


def cli(db_url: str, *args: str, policy: str | None = None, input: str | None = None) -> Run:
    env = {
        "CHANGEGATE_DB": db_url,
        "CHANGEGATE_POLICY": policy,
        "CHANGEGATE_URL": None,
        "COLUMNS": "200",
    }
    result = ClickRunner(env=env).invoke(
        root, list(args), input=input, catch_exceptions=False, prog_name="changegate"
    )
    return Run(result.exit_code, result.stdout, result.stderr)


def cli_process(
    db_url: str, *args: str, timeout: float = 60, python_args: list[str] | None = None
) -> Run:
    env = dict(os.environ, CHANGEGATE_DB=db_url, COLUMNS="200")
    env.pop("CHANGEGATE_URL", None)
    p = subprocess.run(
        [sys.executable, *(python_args or []), "-m", "changegate", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return Run(p.returncode, p.stdout, p.stderr)


#: runs the real entry point and lists, at exit, every module the process loaded (the backend
#: is loaded through importlib, which ``-X importtime`` does not report)
ENTRY = (
    "import atexit, sys\n"
    "atexit.register(lambda: sys.stderr.write('MODULES ' + ' '.join(sys.modules) + '\\n'))\n"
    "from changegate.cli.main import run\n"
    "run()\n"
)
