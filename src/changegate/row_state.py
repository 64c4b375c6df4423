"""A row's audit state built from its column names, the way every model's ``audit_state`` is.

The audit log records each row as a JSON object, and ``audit verify`` compares every row with
the state its last event recorded, so the conversion must stay exactly this: datetimes as
ISO 8601 UTC text (:func:`changegate.db.iso`), dates as ``YYYY-MM-DD``, JSON lists copied,
everything else as stored.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping
from typing import Any, ClassVar

from changegate.changes.keys import change_key
from changegate.db import iso


def _value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return iso(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list):
        return list(value)
    return value


#: the conversion of a value by its exact type (a dict lookup instead of three isinstance
#: calls a value); other types that :func:`_value` converts (subclasses) go through it
_BY_TYPE: dict[type, Any] = {
    str: None,
    int: None,
    bool: None,
    float: None,
    dt.datetime: iso,
    dt.date: dt.date.isoformat,
    list: list,
}


def row_state(row: Any, names: str) -> dict[str, Any]:
    """The named columns of ``row`` (space-separated, in order) as its audit state.

    ``key=column`` records ``column`` under ``key``; ``change_id`` is recorded as ``change``,
    the change's key (``CHG-N``, or None when the row has no change); ``?column`` is recorded
    only when it is not None (a column added later, absent from the events of older rows).
    """
    state: dict[str, Any] = {}
    for key, column, optional, is_change in _plan(names):
        value = getattr(row, column)
        if value is None:
            if not optional:
                state[key] = None
        elif is_change:
            state[key] = change_key(value)
        else:
            convert = _BY_TYPE.get(type(value), _value)
            state[key] = value if convert is None else convert(value)
    return state


@functools.cache
def _plan(names: str) -> tuple[tuple[str, str, bool, bool], ...]:
    """``names`` parsed once per model: (key, column, optional, is the change key) each (an
    import states thousands of rows of one model)."""
    out = []
    for name in names.split():
        key, _, column = name.removeprefix("?").rpartition("=")
        is_change = column == "change_id" and not key
        out.append(
            ("change" if is_change else key or column, column, name.startswith("?"), is_change)
        )
    return tuple(out)


def update_row(row: Any, values: Mapping[str, Any], now: dt.datetime) -> dict[str, Any] | None:
    """Set ``values`` on ``row`` and stamp its ``updated_at`` with ``now``; return the row's
    audit state from before, for the event that records the update, or None (and change
    nothing) when every value is already as given."""
    if all(getattr(row, key) == value for key, value in values.items()):
        return None
    before: dict[str, Any] = row.audit_state()
    for key, value in values.items():
        setattr(row, key, value)
    row.updated_at = now
    return before


class AuditedRow:
    """Mixin for a model whose audit state is its ``audit_columns``, in :func:`row_state`'s
    notation."""

    audit_columns: ClassVar[str]

    def audit_state(self) -> dict[str, Any]:
        return row_state(self, self.audit_columns)
