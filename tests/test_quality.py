"""ruff and mypy are part of the test suite: the code base stays lint-clean and strictly typed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PATHS = [p for p in ("src", "tests", "bench", "examples", "scripts") if (ROOT / p).exists()]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=600
    )


def test_ruff_check() -> None:
    r = run("ruff", "check", *PATHS)
    assert r.returncode == 0, r.stdout[-4000:]


def test_ruff_format() -> None:
    r = run("ruff", "format", "--check", *PATHS)
    assert r.returncode == 0, r.stdout[-4000:]


def test_mypy_strict() -> None:
    r = run("mypy", "src/changegate")
    assert r.returncode == 0, r.stdout[-4000:]
