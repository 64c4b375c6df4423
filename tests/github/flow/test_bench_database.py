"""The history benchmark's database mode still runs: the audit over changegate's tables finds
exactly what the in-memory lookup finds on the same generated repository."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import changegate

BENCH = Path(__file__).resolve().parents[3] / "bench" / "history_audit.py"
SRC = Path(changegate.__file__).resolve().parents[1]


def test_bench_history_audit_database_lookup() -> None:
    result = subprocess.run(
        [
            sys.executable,
            str(BENCH),
            "--commits",
            "2000",
            "--runs",
            "1",
            "--lookup",
            "database",
            "--json",
        ],
        capture_output=True,
        text=True,
        env={
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
        },
        timeout=300,
    )
    assert result.returncode in (0, 1), result.stderr  # 1: the ratio missed on a tiny repo
    report = json.loads(result.stdout)
    assert report["lookup"] == "database"
    assert report["first_parent_commits"] == 2000
    assert report["audit_findings"] == 200  # 5 + 3 + 2 in every 100 commits, as in memory
