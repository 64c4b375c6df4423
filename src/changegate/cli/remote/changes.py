"""`changegate change` and `changegate status` against the server (the token's user acts)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from changegate.cli.remote.client import RemoteBackend, error_of, key, urlencode

if TYPE_CHECKING:
    from changegate.cli.changes import RiskEdit


class RemoteChanges(RemoteBackend):
    def create(self, data: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = self.call("POST", "/api/changes", data)
        return out

    def edit(
        self, change: str, data: dict[str, Any], risk: RiskEdit | None, by: str
    ) -> dict[str, Any]:
        from changegate.changes.risk import merge_risk

        path = f"/api/changes/{key(change)}"
        if risk is not None:
            data = data | {"risk": merge_risk(*risk, self.call("GET", path)["risk"])}
        out: dict[str, Any] = self.call("PATCH", path, data | {"by": by})
        return out

    def submit(self, change: str, by: str) -> dict[str, Any]:
        out: dict[str, Any] = self.call("POST", f"/api/changes/{key(change)}/submit", {"by": by})
        return out

    def close(self, change: str, by: str) -> dict[str, Any]:
        out: dict[str, Any] = self.call("POST", f"/api/changes/{key(change)}/close", {"by": by})
        return out

    def show(self, change: str) -> dict[str, Any]:
        out: dict[str, Any] = self.call("GET", f"/api/changes/{key(change)}")
        return out

    def changes(
        self, query: dict[str, str | None], limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        params = {k: v for k, v in query.items() if v} | {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        rows, link = self._page(f"/api/changes?{urlencode(params)}")
        return rows, next_cursor(link)

    def stream(self, query: dict[str, str | None], per_page: int) -> Iterator[dict[str, Any]]:
        """Every page in turn, following each answer's ``Link: <...>; rel="next"``."""
        params = {k: v for k, v in query.items() if v} | {"limit": per_page}
        path: str | None = f"/api/changes?{urlencode(params)}"
        while path is not None:
            rows, path = self._page(path)
            yield from rows

    def _page(self, path: str) -> tuple[list[dict[str, Any]], str | None]:
        answer = self.client.request("GET", path)
        if not 200 <= answer.status < 300:
            raise error_of(answer)
        return answer.json(), next_path(answer.headers.get("link", ""), self.client.base)

    def status(self, change: str) -> dict[str, Any]:
        out: dict[str, Any] = self.call("GET", f"/api/changes/{key(change)}/status")
        return out


def next_path(link: str, base: str) -> str | None:
    """The path and query of the ``rel="next"`` URL in a ``Link`` header, None without one."""
    for part in link.split(","):
        target, _, params = part.partition(";")
        if 'rel="next"' in params.replace(" ", "") and target.strip().startswith("<"):
            url = target.strip()[1:-1]
            path = "/" + url.partition("://")[2].partition("/")[2]
            return path.removeprefix(base) if base else path
    return None


def next_cursor(path: str | None) -> str | None:
    """The ``cursor`` of a next-page path."""
    for pair in (path or "").partition("?")[2].split("&"):
        name, _, value = pair.partition("=")
        if name == "cursor":
            return value
    return None
