"""The shared corpus of real tools' output (``<repo>/../shared/testdata/realworld``).

Third-party files, read where they are and never copied into the project (see the corpus's
README and SOURCES.txt). CI has the folder, so a missing folder fails there; elsewhere the
tests that need it skip with a message naming it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REALWORLD = Path(__file__).resolve().parents[1] / ".." / "shared" / "testdata" / "realworld"


def require(folder: Path, what: str) -> None:
    """Fail (in CI) or skip (elsewhere) unless ``folder`` of the corpus holds files."""
    if folder.is_dir() and any(folder.iterdir()):
        return
    message = (
        f"{what} needs ../shared/testdata/realworld (the shared test corpus): {folder} is missing"
    )
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)
