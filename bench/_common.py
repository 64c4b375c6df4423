"""Helpers for the benchmark scripts: fresh-process timing."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time


def wall_times(
    cmd: list[str], runs: int, env: dict[str, str] | None = None, ok_codes: tuple[int, ...] = (0,)
) -> list[float]:
    times = []
    full_env = dict(os.environ, **(env or {}))
    for _ in range(runs):
        t0 = time.perf_counter()
        p = subprocess.run(cmd, env=full_env, capture_output=True)
        times.append(time.perf_counter() - t0)
        if p.returncode not in ok_codes:
            sys.exit(f"{' '.join(cmd)} exited {p.returncode}: {p.stderr.decode()[:500]}")
    return times


def median_ms(times: list[float]) -> float:
    return statistics.median(times) * 1000
