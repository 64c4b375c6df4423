"""A GitHub REST API on 127.0.0.1 that accepts exactly what GitHub documents.

"Review custom deployment protection rules for a workflow run" (POST .../actions/runs/
{run_id}/deployment_protection_rule: ``environment_name``, ``state`` approved|rejected,
``comment``; 204 No Content) and "Create a commit status" (POST /repos/{owner}/{repo}/
statuses/{sha}: ``state``, ``target_url``, ``description`` of at most 140 characters,
``context``; 201 Created). Every request must carry the bearer token, GitHub's media type
and API version, a User-Agent and a JSON body; anything else gets GitHub's error shape.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TOKEN = "ghs_gitflowInstallationToken0123456789"
PROTECTION = re.compile(r"\A/repos/([^/]+)/([^/]+)/actions/runs/(\d+)/deployment_protection_rule\Z")
STATUSES = re.compile(r"\A/repos/([^/]+)/([^/]+)/statuses/([0-9a-f]{40})\Z")


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class FakeGitHub:
    base_url: str = ""
    requests: list[Request] = field(default_factory=list)
    refused: list[tuple[int, str]] = field(default_factory=list)
    #: answer every request with this status (GitHub down) while set
    outage: int | None = None

    def protection_answers(self) -> list[Request]:
        return [r for r in self.requests if PROTECTION.match(r.path)]

    def statuses(self) -> list[Request]:
        return [r for r in self.requests if STATUSES.match(r.path)]


def _handler(state: FakeGitHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(self, status: int, body: dict[str, Any] | None = None) -> None:
            data = b"" if body is None else json.dumps(body).encode()
            self.send_response(status)
            if body is not None:
                self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _refuse(self, status: int, message: str) -> None:
            state.refused.append((status, message))
            self._send(
                status, {"message": message, "documentation_url": "https://docs.github.com/rest"}
            )

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if state.outage is not None:
                return self._refuse(state.outage, "Service unavailable")
            try:
                body = json.loads(raw)
            except ValueError:
                return self._refuse(400, "Problems parsing JSON")
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                return self._refuse(401, "Bad credentials")
            if self.headers.get("Accept") != "application/vnd.github+json":
                return self._refuse(415, "Unsupported Accept header")
            if self.headers.get("X-GitHub-Api-Version") != "2022-11-28":
                return self._refuse(400, "Invalid API version")
            if not self.headers.get("User-Agent"):
                return self._refuse(403, "Request forbidden by administrative rules")
            if not self.headers.get("Content-Type", "").startswith("application/json"):
                return self._refuse(415, "Content-Type must be application/json")
            if not isinstance(body, dict):
                return self._refuse(400, "Problems parsing JSON")
            if PROTECTION.match(self.path):
                if set(body) != {"environment_name", "state", "comment"}:
                    return self._refuse(422, f"Invalid request: properties {sorted(body)}")
                if not isinstance(body["environment_name"], str) or not isinstance(
                    body["comment"], str
                ):
                    return self._refuse(422, "environment_name and comment must be strings")
                if body["state"] not in ("approved", "rejected"):
                    return self._refuse(422, "state must be approved or rejected")
                state.requests.append(Request(self.path, dict(self.headers), body))
                return self._send(204)
            if STATUSES.match(self.path):
                if set(body) - {"state", "target_url", "description", "context"}:
                    return self._refuse(422, "Invalid request: unexpected property")
                if body.get("state") not in ("error", "failure", "pending", "success"):
                    return self._refuse(422, "state is not included in the list")
                if len(body.get("description") or "") > 140:
                    return self._refuse(422, "description is too long (maximum is 140)")
                state.requests.append(Request(self.path, dict(self.headers), body))
                return self._send(201, {"id": len(state.requests), **body})
            return self._refuse(404, "Not Found")

    return Handler


@contextmanager
def fake_github() -> Iterator[FakeGitHub]:
    state = FakeGitHub()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
