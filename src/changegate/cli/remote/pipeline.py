"""`changegate gate`, `deploy`, `rollback`, `history` against the server: the server finds,
locks and gates the change in one transaction; the token says who acts (`--deployer`/`--by`
are optional: when given, the server checks they name the token's person)."""

from __future__ import annotations

from typing import Any

from changegate.cli.remote.client import RemoteBackend, error_of, key, urlencode

#: what a deploy refused by the gate answers besides the error (409 GateClosed)
REFUSED_KEYS = ("deployed", "deployment", "gate", "state", "commit", "already_recorded")


def _path(change: str | None, sha: str | None) -> str:
    if sha is not None:
        return f"/api/changes/by-commit/{key(sha)}"
    return f"/api/changes/{key(change or '')}"


class RemotePipeline(RemoteBackend):
    def gate(
        self,
        change: str | None,
        sha: str | None,
        env: str,
        deployer: str | None,
        version: str | None = None,
    ) -> dict[str, Any]:
        body = {"env": env, "deployer": deployer, "version": version}
        out: dict[str, Any] = self.call("POST", f"{_path(change, sha)}/gate", body)
        return out

    def deploy(
        self, change: str | None, sha: str | None, env: str, version: str, by: str | None
    ) -> dict[str, Any]:
        body = {"env": env, "version": version, "by": by}
        answer = self.client.request("POST", f"{_path(change, sha)}/deploy", body)
        if answer.status == 409 and answer.headers.get("content-type") == "application/json":
            refused = answer.json()
            if refused.get("error") == "GateClosed":  # recorded: a verdict, not an error
                return {k: refused[k] for k in REFUSED_KEYS if k in refused}
        if not 200 <= answer.status < 300:
            raise error_of(answer)
        out: dict[str, Any] = answer.json()
        return out

    def rollback(self, change: str, env: str, to: str, reason: str, by: str) -> dict[str, Any]:
        body = {"env": env, "to": to, "reason": reason, "by": by}
        out: dict[str, Any] = self.call("POST", f"/api/changes/{key(change)}/rollback", body)
        return out

    def history(self, env: str | None) -> list[dict[str, Any]]:
        query = f"?{urlencode({'env': env})}" if env else ""
        rows: list[dict[str, Any]] = self.call("GET", f"/api/deployments{query}")
        return rows
