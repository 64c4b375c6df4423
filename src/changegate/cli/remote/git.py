"""`change from-git` and `audit git` against the server: the repository is read here, the
record is the server's."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from changegate.cli.remote.client import RemoteBackend

if TYPE_CHECKING:
    from changegate.scm.history import LinkedChange, Lookup
    from changegate.scm.range_read import FromGit, RangeRead


class RemoteGit(RemoteBackend):
    def from_git(self, read: RangeRead, request: FromGit) -> dict[str, Any]:
        body = request.fields | {"range": read.to_dict(), "author": request.author}
        if request.requested_class is not None:
            body["change_class"] = request.requested_class
        out: dict[str, Any] = self.call("POST", "/api/git/changes", body)
        return out

    @contextmanager
    def lookup(self) -> Iterator[Lookup]:
        yield self._lookup

    def _lookup(self, shas: Sequence[str]) -> Mapping[str, LinkedChange]:
        from changegate.scm.history_wire import MAX_LOOKUP, links_from_json

        out: dict[str, LinkedChange] = {}
        batch = list(shas)
        for start in range(0, len(batch), MAX_LOOKUP):
            chunk = batch[start : start + MAX_LOOKUP]
            answer = self.call("POST", "/api/audit/commit-lookup", {"shas": chunk})
            out.update(links_from_json(answer))
        return out
