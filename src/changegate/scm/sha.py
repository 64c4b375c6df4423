"""Commit SHAs as people and pipelines give them (no database, no git: the remote CLI uses it).

A commit is named by its full object name everywhere changegate decides something: 40 hex
digits (SHA-1) or 64 (SHA-256 repositories). An abbreviated SHA can name another commit that
starts with the same digits (a 4-digit prefix is found in about 65,000 tries), so it never
reaches the record: the CLI expands it in the repository it runs in
(:func:`changegate.scm.gitrepo.expand_commit`), and everything else refuses it.
"""

from __future__ import annotations

import re

from changegate.errors import InvalidInput

_FULL = re.compile(r"\A(?:[0-9a-f]{40}|[0-9a-f]{64})\Z")
_ABBREVIATED = re.compile(r"\A[0-9a-f]{7,64}\Z")
#: git's own floor for an abbreviated object name a person may type
MIN_ABBREVIATED = 7


def is_full_sha(value: str) -> bool:
    return _FULL.match(value) is not None


def is_abbreviated_sha(value: str) -> bool:
    """7 to 64 hex digits (lower case) that are not a full object name."""
    return _ABBREVIATED.match(value) is not None and not is_full_sha(value)


def check_sha(sha: str, *, field: str = "git-sha") -> str:
    """The full commit SHA in lower case; ``InvalidInput`` unless it is 40 or 64 hex digits."""
    value = sha.strip().lower()
    if not is_full_sha(value):
        what = (
            "an abbreviated commit SHA"
            if _ABBREVIATED.match(value) or re.fullmatch(r"[0-9a-f]{1,6}", value)
            else "not a commit SHA"
        )
        raise InvalidInput(
            f"--{field} {sha!r} is {what}; give the full 40 (or 64) hex digits, e.g. "
            "$GITHUB_SHA or $(git rev-parse HEAD)",
            field=field,
        )
    return value
