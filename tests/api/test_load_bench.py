"""bench/load.py runs against a real server through the API alone: it prepares its changes with
the tokens' users, stays within --max-requests, and prints a row per endpoint (no speed checked)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.api.support import Org, serving

LOAD = Path(__file__).resolve().parents[2] / "bench" / "load.py"


def test_load_bench_drives_pipelines_and_reviewers(org: Org) -> None:
    pipeline = org.user("deployer", "ci")
    reviewer = org.user("engineer")
    with serving(org.app) as base:
        args = ["--url", base, "--token", org.token(pipeline)]
        args += ["--reviewer-token", org.token(reviewer), "--seconds", "20"]
        args += ["--connections", "4", "--max-requests", "40", "--approvals", "3", "--changes", "3"]
        out = subprocess.run(
            [sys.executable, str(LOAD), *args], capture_output=True, text=True, timeout=300
        )
    assert out.returncode == 0, out.stderr
    table = out.stdout.split("endpoint", 1)[1]
    for name in ("status", "evidence upload", "gate", "deploy", "change list", "approve"):
        assert f"\n{name} " in table, out.stdout
    sent = int(out.stdout.split(" requests\n")[0].rsplit(", ", 1)[1])
    assert sent <= 40
    assert "500" not in table and "409" not in table, out.stdout  # the gates open


def test_load_bench_refuses_a_bad_url() -> None:
    out = subprocess.run(
        [sys.executable, str(LOAD), "--url", "ftp://x", "--token", "t"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2 and "--url" in out.stderr
