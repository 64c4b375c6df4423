"""The time bounds of an audit search (``since``/``until``) as people type them, read once
for the API and the web page."""

from __future__ import annotations

import datetime as dt

from changegate.db import iso
from changegate.errors import InvalidInput

#: what the API's query parameters accept before parsing (a date, a time, an optional zone)
ISO_TIME = r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?)?(Z|[+-]\d{2}:\d{2})?$"


def parse_bound(value: str | None, field: str) -> str | None:
    """An ISO 8601 date or time as the log writes it (UTC, ``Z``; UTC when no zone is
    given), None for an empty value, or InvalidInput naming the field and the form."""
    moment = parse_moment(value, field)
    return None if moment is None else iso(moment)


def parse_moment(value: str | None, field: str) -> dt.datetime | None:
    """An ISO 8601 date (its midnight) or time, UTC when no zone is given; None for an
    empty value, or InvalidInput naming the field and the form."""
    text = (value or "").strip()
    if not text:
        return None
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(
            f"{field}: {text!r} is not a date or time; use 2026-11-25 or 2026-11-25T14:00Z",
            field=field,
        ) from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=dt.UTC)
