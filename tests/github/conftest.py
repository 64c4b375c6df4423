"""Payload files and signing helpers for the GitHub tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

PAYLOADS = Path(__file__).parent / "payloads"


@pytest.fixture
def load_payload() -> Callable[[str], bytes]:
    def load(name: str) -> bytes:
        return (PAYLOADS / name).read_bytes()

    return load
