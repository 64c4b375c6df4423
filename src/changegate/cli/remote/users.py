"""`changegate user` and `changegate token` against the server (the token's user acts)."""

from __future__ import annotations

from typing import Any

from changegate.cli.remote.client import RemoteBackend, key, urlencode


class RemoteUsers(RemoteBackend):
    def add(
        self,
        name: str,
        roles: list[str],
        github: str | None,
        by: str | None,
        gitlab: str | None = None,
    ) -> dict[str, Any]:
        body = {"name": name, "roles": roles, "github": github, "gitlab": gitlab, "by": by}
        out: dict[str, Any] = self.call("POST", "/api/users", body)
        return out

    def set_roles(self, name: str, roles: list[str], by: str | None) -> dict[str, Any]:
        out: dict[str, Any] = self.call(
            "PUT", f"/api/users/{key(name)}/roles", {"roles": roles, "by": by}
        )
        return out

    def users(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = self.call("GET", "/api/users")
        return rows

    def grants(self, pending: bool) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = self.call(
            "GET", "/api/users/grants" + ("?pending=true" if pending else "")
        )
        return rows

    def confirm_grant(self, grant_id: int, by: str | None) -> dict[str, Any]:
        out: dict[str, Any] = self.call("POST", f"/api/users/grants/{grant_id}/confirm")
        return out

    def set_password(
        self, name: str, password: str, current: str | None, by: str | None
    ) -> dict[str, Any]:
        body = {"password": password}
        if current is not None:
            body["current_password"] = current
        out: dict[str, Any] = self.call("PUT", f"/api/users/{key(name)}/password", body)
        return out

    def token_create(self, user: str, expires: str, label: str, by: str | None) -> dict[str, Any]:
        body = {"user": user, "expires": expires, "label": label}
        out: dict[str, Any] = self.call("POST", "/api/tokens", body)
        return out

    def token_list(self, user: str | None) -> list[dict[str, Any]]:
        query = f"?{urlencode({'user': user})}" if user else ""
        rows: list[dict[str, Any]] = self.call("GET", f"/api/tokens{query}")
        return rows

    def token_revoke(self, token_id: int, by: str | None) -> dict[str, Any]:
        out: dict[str, Any] = self.call("DELETE", f"/api/tokens/{token_id}")
        return out
