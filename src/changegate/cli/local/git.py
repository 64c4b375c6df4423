"""`classify`, `change from-git` and `audit git` over the local policy file and database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from changegate.cli.local.base import LocalBackend

if TYPE_CHECKING:
    from changegate.scm.history import Lookup
    from changegate.scm.range_read import FromGit, RangeRead


class LocalGit(LocalBackend):
    def from_git(self, read: RangeRead, request: FromGit) -> dict[str, Any]:
        from pydantic import ValidationError

        from changegate.changes.from_git import create_change_from_read
        from changegate.cli.local.changes import invalid_input

        with self.tx() as (session, policy):
            try:
                change, result = create_change_from_read(
                    session,
                    policy,
                    read,
                    author=request.author,
                    requested_class=request.requested_class,
                    fields=request.fields,
                    reported=False,
                )
            except ValidationError as exc:
                raise invalid_input(exc) from exc
            out: dict[str, Any] = change.audit_state() | {"classification": result.to_dict()}
        return out

    @contextmanager
    def lookup(self) -> Iterator[Lookup]:
        """The history audit's lookup over one read-only transaction."""
        from changegate.scm.history_db import DatabaseLookup

        with self.tx(write=False) as (session, policy):
            yield DatabaseLookup(session, policy)
