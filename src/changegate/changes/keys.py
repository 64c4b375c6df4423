"""Change ids as people type them (CHG-12, chg-12, 12): parsed and bounded in one place for
the CLI, the API and the web pages."""

from __future__ import annotations

import re

from changegate.errors import InvalidInput, NotFound

#: what a change's key begins with: ``CHG-12`` is change 12
PREFIX = "CHG-"
#: a key as people type it: the prefix in any case, or none, then an ASCII number
_KEY = re.compile(rf"(?:{re.escape(PREFIX)})?([0-9]+)", re.IGNORECASE)
#: a key as changegate writes it: the prefix, then an ASCII number without a leading zero
_WRITTEN = re.compile(rf"{re.escape(PREFIX)}([1-9][0-9]{{0,9}})")

#: longer text is not echoed back whole in the error
MAX_KEY_LENGTH = 30
#: the largest id the ``changes`` table can hold (a 32-bit integer on PostgreSQL)
MAX_CHANGE_ID = 2**31 - 1


def change_key(change_id: int) -> str:
    """The key change ``change_id`` is shown, linked and audited under: ``CHG-12``."""
    return f"{PREFIX}{change_id}"


def written_id(key: str) -> int | None:
    """The number in a key as :func:`change_key` writes it (``CHG-12``: 12); None for any
    other text (a lowercase prefix, a bare number, digits of another script, a leading zero)."""
    m = _WRITTEN.fullmatch(key)
    return int(m.group(1)) if m else None


def parse_key(key: str) -> int:
    """The change number, refused before it reaches the database if it cannot be one:
    malformed text is bad input; a number no change can have is not found."""
    text = key.strip()
    if len(text) > MAX_KEY_LENGTH:
        raise InvalidInput(
            f"{text[:MAX_KEY_LENGTH]!r}... is not a change id; use the form CHG-12",
            field="change",
        )
    m = _KEY.fullmatch(text)
    if not m:
        raise InvalidInput(f"{key!r} is not a change id; use the form CHG-12", field="change")
    number = int(m.group(1))
    if number > MAX_CHANGE_ID:
        raise NotFound(f"no change {text}; `changegate change list` shows them", field="change")
    return number
