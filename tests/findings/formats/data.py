"""The formats tests' own fixtures: small files in ``tests/data/findings`` written for each
structure that matters, so the project's tests stand without the shared corpus."""

from __future__ import annotations

from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "data" / "findings"


def fixture(name: str) -> bytes:
    return (DATA / name).read_bytes()
