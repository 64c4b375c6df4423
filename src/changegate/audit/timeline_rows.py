"""The audit log as rows: what ``audit log --json`` prints and ``GET /api/audit/events``
returns, built in one place so the two cannot drift apart."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from changegate.audit.service import TimelineEntry

#: the keys of a row, in the order they are printed
COLUMNS = ("seq", "ts", "actor", "action", "entity", "summary", "event")


def timeline_rows(entries: Iterable[TimelineEntry]) -> list[dict[str, Any]]:
    """One plain dict per event, with the keys of :data:`COLUMNS`."""
    return [{name: getattr(e, name) for name in COLUMNS} for e in entries]
