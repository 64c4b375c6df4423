"""Tables that no audit event describes because they are derived from rows that are audited.

``audit verify`` checks audited rows against the last event describing them; a derived table
is checked by recomputing it from those rows. Each entry names every column it checks, so a
column added to a derived table later is reported until it is derived here too (or the table
becomes audited, with events carrying its columns).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from changegate.changes.keys import change_key
from changegate.changes.models import Change
from changegate.scm.models import ChangeCommit, ChangeIndex


@dataclass(frozen=True)
class Derived:
    """A derived table: ``check`` yields a problem for every row that differs from what the
    audited rows say. ``columns`` are the columns ``check`` compares; ``surrogate`` the ones
    that carry no meaning (an autoincrement id)."""

    model: type
    columns: frozenset[str]
    check: Callable[[Session, dict[int, Change]], Iterator[str]]
    surrogate: frozenset[str] = frozenset()


def _commit_index(session: Session, changes: dict[int, Change]) -> Iterator[str]:
    """``change_commits`` is ``Change.commits`` indexed by SHA (``changes.commit_index``):
    one row per change and distinct lower-cased SHA. A row the change's audited ``commits``
    does not list would let ``gate --git-sha`` find the change for a commit nobody reviewed."""
    wanted: Counter[tuple[int, str]] = Counter()
    for change in changes.values():
        for sha in dict.fromkeys(str(s).lower() for s in change.commits or []):
            wanted[(change.id, sha)] += 1
    found: Counter[tuple[int, str]] = Counter()
    ids: dict[tuple[int, str], int] = {}
    for row_id, change_id, sha in session.execute(
        select(ChangeCommit.id, ChangeCommit.change_id, ChangeCommit.sha).order_by(ChangeCommit.id)
    ):
        found[(change_id, sha)] += 1
        ids.setdefault((change_id, sha), row_id)
    for change_id, sha in sorted(found - wanted):
        listed = "lists it once" if (change_id, sha) in wanted else "does not list it"
        yield (
            f"change_commits row #{ids[(change_id, sha)]} links commit {sha} to {change_key(change_id)}; "
            f"the audited change {listed} (written behind the log's back: it would open "
            "`gate --git-sha` for that commit)"
        )
    for change_id, sha in sorted(wanted - found):
        yield (
            f"change_commits lacks commit {sha} of {change_key(change_id)} (deleted behind the log's "
            "back; rebuild the index by editing the change)"
        )


def _digest_cache(session: Session, changes: dict[int, Change]) -> Iterator[str]:
    """``change_index`` caches each change's content digest as of a revision; readers recompute
    it when the cache is behind, so only a row ahead of its change, for no change, or with a
    digest its change's audited content does not give is a problem."""
    for change_id, revision, digest in session.execute(
        select(ChangeIndex.change_id, ChangeIndex.revision, ChangeIndex.content_digest).order_by(
            ChangeIndex.change_id
        )
    ):
        change = changes.get(change_id)
        if change is None:
            yield f"change_index has a row for {change_key(change_id)}, which does not exist"
        elif revision > change.revision:
            yield (
                f"change_index says {change_key(change_id)} is at revision {revision}, its audited row "
                f"at {change.revision}"
            )
        elif revision == change.revision and digest != change.content_digest():
            yield (
                f"change_index digest of {change_key(change_id)} differs from its audited content "
                "(edited behind the log's back: approvals would be counted as current)"
            )


#: table name -> how verify recomputes it
DERIVED: dict[str, Derived] = {
    "change_commits": Derived(
        ChangeCommit, frozenset({"change_id", "sha"}), _commit_index, frozenset({"id"})
    ),
    "change_index": Derived(
        ChangeIndex, frozenset({"change_id", "revision", "content_digest"}), _digest_cache
    ),
}


def check_derived(session: Session) -> Iterator[str]:
    """A problem for every derived row that differs from what the audited rows say, and for
    every column of a derived table that no check covers."""
    changes: dict[int, Change] = {c.id: c for c in session.scalars(select(Change))}
    for name, spec in DERIVED.items():
        table: Any = spec.model.__table__  # type: ignore[attr-defined]
        unchecked = sorted(set(table.columns.keys()) - spec.columns - spec.surrogate)
        if unchecked:
            yield (
                f"{name}.{', '.join(unchecked)} cannot be checked: derive it in "
                "changegate.audit.derived or describe its rows by audit events (models.AUDITED)"
            )
        yield from spec.check(session, changes)
