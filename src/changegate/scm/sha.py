"""Commit SHAs as people and pipelines give them (no database, no git: the remote CLI uses it)."""

from __future__ import annotations

import re

from changegate.errors import InvalidInput

_HEX = re.compile(r"\A[0-9a-f]{7,64}\Z")


def check_sha(sha: str, *, field: str = "git-sha") -> str:
    """The SHA in lower case; ``InvalidInput`` unless it is 7 to 64 hex digits."""
    value = sha.strip().lower()
    if not _HEX.match(value):
        raise InvalidInput(
            f"--{field} {sha!r} is not a commit SHA; give 7 to 64 hex digits, e.g. $GITHUB_SHA",
            field=field,
        )
    return value
