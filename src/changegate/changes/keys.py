"""Change ids as people type them (CHG-12, chg-12, 12): parsed and bounded in one place for
the CLI, the API and the web pages."""

from __future__ import annotations

import re

from changegate.errors import InvalidInput, NotFound

_KEY = re.compile(r"^(?:CHG-)?(\d+)$", re.IGNORECASE)

#: longer text is not echoed back whole in the error
MAX_KEY_LENGTH = 30
#: the largest id the ``changes`` table can hold (a 32-bit integer on PostgreSQL)
MAX_CHANGE_ID = 2**31 - 1


def parse_key(key: str) -> int:
    """The change number, refused before it reaches the database if it cannot be one:
    malformed text is bad input; a number no change can have is not found."""
    text = key.strip()
    if len(text) > MAX_KEY_LENGTH:
        raise InvalidInput(
            f"{text[:MAX_KEY_LENGTH]!r}... is not a change id; use the form CHG-12",
            field="change",
        )
    m = _KEY.match(text)
    if not m:
        raise InvalidInput(f"{key!r} is not a change id; use the form CHG-12", field="change")
    number = int(m.group(1))
    if number > MAX_CHANGE_ID:
        raise NotFound(f"no change {text}; `changegate change list` shows them", field="change")
    return number
