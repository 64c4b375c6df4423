"""The REST client against a real HTTP server on 127.0.0.1 that checks what GitHub documents.

The fake API accepts exactly the requests GitHub's REST reference describes (method, path,
headers, JSON body fields and types) and answers with GitHub's documented status codes:
204 No Content for a protection rule review, 201 Created with the status for a commit
status, 4xx with GitHub's ``{"message", "documentation_url"}`` body otherwise.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from changegate.github.client import GitHubClient, format_gate_comment
from changegate.github.errors import GitHubApiError, GitHubError
from changegate.github.payloads import DeploymentProtectionRuleEvent, parse_event

TOKEN = "ghs_16C7e42F292c6912E7710c838347Ae178B4a"
SHA = "14091a9f2461267ee7e02525b4f1f2923f1c9849"
PROTECTION = re.compile(r"\A/repos/([^/]+)/([^/]+)/actions/runs/(\d+)/deployment_protection_rule\Z")
STATUSES = re.compile(r"\A/repos/([^/]+)/([^/]+)/statuses/([0-9a-f]{40})\Z")


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class FakeGitHub:
    """State shared with the handler: what arrived, and canned failures to answer with."""

    requests: list[Recorded] = field(default_factory=list)
    fail_with: tuple[int, dict[str, Any]] | None = None
    base_url: str = ""


def _problem(handler: BaseHTTPRequestHandler, status: int, message: str) -> None:
    body = json.dumps(
        {"message": message, "documentation_url": "https://docs.github.com/rest"}
    ).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json; charset=utf-8")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def make_handler(state: FakeGitHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
            pass

        def do_GET(self) -> None:
            _problem(self, 404, "Not Found")

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length)
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
            state.requests.append(
                Recorded("POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            )
            # Headers every REST call must carry.
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                return _problem(self, 401, "Bad credentials")
            if self.headers.get("Accept") != "application/vnd.github+json":
                return _problem(self, 415, "Unsupported Accept header")
            if self.headers.get("X-GitHub-Api-Version") != "2022-11-28":
                return _problem(self, 400, "Invalid API version")
            if not self.headers.get("User-Agent"):
                return _problem(self, 403, "Request forbidden by administrative rules")
            if not self.headers.get("Content-Type", "").startswith("application/json"):
                return _problem(self, 415, "Content-Type must be application/json")
            if not isinstance(body, dict):
                return _problem(self, 400, "Problems parsing JSON")
            if state.fail_with is not None:
                status, payload = state.fail_with
                encoded = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(encoded)))
                self.end_headers()
                self.wfile.write(encoded)
                return None
            if PROTECTION.match(self.path):
                return self._protection_rule(body)
            if STATUSES.match(self.path):
                return self._status(body)
            return _problem(self, 404, "Not Found")

        def _protection_rule(self, body: dict[str, Any]) -> None:
            # Body of "Review custom deployment protection rules for a workflow run".
            if set(body) - {"environment_name", "state", "comment"}:
                return _problem(self, 422, "Invalid request: unexpected property")
            if not isinstance(body.get("environment_name"), str):
                return _problem(self, 422, "environment_name is required")
            if body.get("state") not in ("approved", "rejected"):
                return _problem(self, 422, "state must be approved or rejected")
            if not isinstance(body.get("comment"), str):
                return _problem(self, 422, "comment must be a string")
            self.send_response(204)
            self.end_headers()
            return None

        def _status(self, body: dict[str, Any]) -> None:
            # Body of "Create a commit status".
            if set(body) - {"state", "target_url", "description", "context"}:
                return _problem(self, 422, "Invalid request: unexpected property")
            if body.get("state") not in ("error", "failure", "pending", "success"):
                return _problem(self, 422, "state is not included in the list")
            if len(body.get("description") or "") > 140:
                return _problem(self, 422, "description is too long (maximum is 140 characters)")
            match = STATUSES.match(self.path)
            assert match is not None
            created = {
                "url": f"{state.base_url}/repos/{match[1]}/{match[2]}/statuses/{match[3]}",
                "id": 1,
                "node_id": "MDY6U3RhdHVzMQ==",
                "state": body["state"],
                "description": body.get("description"),
                "target_url": body.get("target_url"),
                "context": body.get("context", "default"),
                "created_at": "2026-03-23T12:00:00Z",
                "updated_at": "2026-03-23T12:00:00Z",
            }
            encoded = json.dumps(created).encode()
            self.send_response(201)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(encoded)))
            self.end_headers()
            self.wfile.write(encoded)
            return None

    return Handler


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    state = FakeGitHub()
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(state))
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def client(github: FakeGitHub) -> Iterator[GitHubClient]:
    with GitHubClient(TOKEN, base_url=github.base_url, timeout=5) as c:
        yield c


def test_review_deployment_protection_rule(github: FakeGitHub, client: GitHubClient) -> None:
    client.review_deployment_protection_rule(
        "octo-org",
        "persona-service",
        13914412370,
        environment_name="production",
        state="rejected",
        comment="changegate: CHG-12 did not pass the gate for production.",
    )
    (request,) = github.requests
    assert request.method == "POST"
    assert request.path == (
        "/repos/octo-org/persona-service/actions/runs/13914412370/deployment_protection_rule"
    )
    assert request.headers["accept"] == "application/vnd.github+json"
    assert request.headers["x-github-api-version"] == "2022-11-28"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["user-agent"].startswith("changegate/")
    assert request.body == {
        "environment_name": "production",
        "state": "rejected",
        "comment": "changegate: CHG-12 did not pass the gate for production.",
    }


def test_answer_at_the_callback_url_from_the_event(
    github: FakeGitHub, client: GitHubClient, load_payload: Any
) -> None:
    document = json.loads(load_payload("deployment_protection_rule.requested.json"))
    document["deployment_callback_url"] = document["deployment_callback_url"].replace(
        "https://api.github.com", github.base_url
    )
    event = parse_event("deployment_protection_rule", json.dumps(document).encode())
    assert isinstance(event, DeploymentProtectionRuleEvent)
    client.answer_deployment_callback(
        event.deployment_callback_url,
        environment_name=event.environment,
        state="approved",
        comment=format_gate_comment(passed=True, environment="production", change_id="CHG-12"),
    )
    (request,) = github.requests
    assert request.path == (
        "/repos/octo-org/persona-service/actions/runs/13914412370/deployment_protection_rule"
    )
    assert request.body == {
        "environment_name": "production",
        "state": "approved",
        "comment": "changegate: CHG-12 passed the gate for production.",
    }


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example/repos/o/r/actions/runs/1/deployment_protection_rule",
        "{base}/repos/o/r/actions/runs/1/approve",
        "{base}/repos/o/r/actions/runs/x/deployment_protection_rule",
        "{base}/repos/o/r/actions/runs/1/deployment_protection_rule?redirect=1",
        "https://127.0.0.1/repos/o/r/actions/runs/1/deployment_protection_rule",
    ],
)
def test_callback_urls_elsewhere_are_refused(
    github: FakeGitHub, client: GitHubClient, url: str
) -> None:
    with pytest.raises(GitHubError, match="refusing to send the token there"):
        client.answer_deployment_callback(
            url.format(base=github.base_url),
            environment_name="production",
            state="approved",
            comment="",
        )
    assert github.requests == []


def test_callback_under_an_enterprise_api_path(github: FakeGitHub) -> None:
    with GitHubClient(TOKEN, base_url=f"{github.base_url}/api/v3") as enterprise:
        with pytest.raises(GitHubError):
            enterprise.answer_deployment_callback(
                f"{github.base_url}/repos/o/r/actions/runs/1/deployment_protection_rule",
                environment_name="production",
                state="approved",
                comment="",
            )
        with pytest.raises(GitHubApiError) as excinfo:
            enterprise.answer_deployment_callback(
                f"{github.base_url}/api/v3/repos/o/r/actions/runs/1/deployment_protection_rule",
                environment_name="production",
                state="approved",
                comment="",
            )
    # Accepted by the client and sent: the fake API has no /api/v3 prefix, so it says 404.
    assert excinfo.value.status_code == 404
    assert github.requests[0].path == "/api/v3/repos/o/r/actions/runs/1/deployment_protection_rule"


def test_create_commit_status(github: FakeGitHub, client: GitHubClient) -> None:
    created = client.create_commit_status(
        "octo-org",
        "persona-service",
        SHA.upper(),
        state="failure",
        context="changegate/gate: production",
        description="CHG-12: 2 requirements unmet: approval by role cto; test results " + "x" * 200,
        target_url="https://changegate.example.com/changes/CHG-12",
    )
    (request,) = github.requests
    assert request.path == f"/repos/octo-org/persona-service/statuses/{SHA}"
    assert request.headers["accept"] == "application/vnd.github+json"
    assert request.headers["x-github-api-version"] == "2022-11-28"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.body["state"] == "failure"
    assert request.body["context"] == "changegate/gate: production"
    assert request.body["target_url"] == "https://changegate.example.com/changes/CHG-12"
    assert len(request.body["description"]) == 140
    assert request.body["description"].endswith("…")
    assert created["state"] == "failure" and created["context"] == "changegate/gate: production"


def test_minimal_commit_status(github: FakeGitHub, client: GitHubClient) -> None:
    client.create_commit_status("octo-org", "persona-service", SHA, state="success")
    assert github.requests[0].body == {"state": "success", "context": "changegate/gate"}


def test_github_errors_carry_status_and_message(github: FakeGitHub, client: GitHubClient) -> None:
    github.fail_with = (
        422,
        {
            "message": "Validation Failed",
            "errors": [{"resource": "Status", "code": "custom"}],
            "documentation_url": "https://docs.github.com/rest",
        },
    )
    with pytest.raises(GitHubApiError) as excinfo:
        client.create_commit_status("octo-org", "persona-service", SHA, state="success")
    assert excinfo.value.status_code == 422
    assert "GitHub answered 422 (Validation Failed" in str(excinfo.value)
    assert excinfo.value.http_status == 502 and excinfo.value.exit_code == 1
    github.fail_with = (403, {"message": "Resource not accessible by integration"})
    with pytest.raises(GitHubApiError, match="lacks the permission"):
        client.review_deployment_protection_rule(
            "o", "r", 1, environment_name="production", state="approved", comment=""
        )


def test_bad_token_is_a_401(github: FakeGitHub) -> None:
    with (
        GitHubClient("ghs_wrong", base_url=github.base_url) as wrong,
        pytest.raises(GitHubApiError, match="token is invalid or expired") as excinfo,
    ):
        wrong.create_commit_status("o", "r", SHA, state="pending")
    assert excinfo.value.status_code == 401


def test_unreachable_api() -> None:
    with (
        GitHubClient(TOKEN, base_url="http://127.0.0.1:9", timeout=2) as nowhere,
        pytest.raises(GitHubApiError, match="could not reach GitHub"),
    ):
        nowhere.create_commit_status("o", "r", SHA, state="pending")


@pytest.mark.parametrize(
    ("call", "fragment"),
    [
        (lambda c: c.create_commit_status("o", "r", "abc", state="success"), "sha: 'abc'"),
        (lambda c: c.create_commit_status("o", "r", SHA, state="ok"), "state: 'ok'"),
        (lambda c: c.create_commit_status("o/x", "r", SHA, state="success"), "owner: 'o/x'"),
        (lambda c: c.create_commit_status("o", "", SHA, state="success"), "repo: ''"),
        (
            lambda c: c.review_deployment_protection_rule(
                "o", "r", 0, environment_name="p", state="approved", comment=""
            ),
            "run_id: 0",
        ),
        (
            lambda c: c.review_deployment_protection_rule(
                "o", "r", 1, environment_name="p", state="maybe", comment=""
            ),
            "state: 'maybe'",
        ),
        (
            lambda c: c.review_deployment_protection_rule(
                "o", "r", 1, environment_name="", state="approved", comment=""
            ),
            "environment_name: empty",
        ),
    ],
)
def test_bad_arguments_are_refused_before_sending(
    github: FakeGitHub, client: GitHubClient, call: Any, fragment: str
) -> None:
    with pytest.raises(GitHubError, match=re.escape(fragment)):
        call(client)
    assert github.requests == []


def test_client_construction_errors() -> None:
    with pytest.raises(GitHubError, match="token: empty"):
        GitHubClient("  ")
    with pytest.raises(GitHubError, match=re.escape("base_url: 'api.github.com' is not an http")):
        GitHubClient(TOKEN, base_url="api.github.com")


def test_gate_comment() -> None:
    assert format_gate_comment(
        passed=False,
        environment="production",
        change_id="CHG-3",
        unmet=["approval by role cto: missing", "test results: 2 of 140 failed"],
        details_url="https://changegate.example.com/changes/CHG-3",
    ) == (
        "changegate: CHG-3 did not pass the gate for production.\n"
        "- approval by role cto: missing\n"
        "- test results: 2 of 140 failed\n"
        "Details: https://changegate.example.com/changes/CHG-3"
    )
    assert format_gate_comment(passed=False, environment="staging") == (
        "changegate: did not pass the gate for staging.\n"
        "- no change record is linked to this commit"
    )
    long = format_gate_comment(
        passed=False,
        environment="production",
        change_id="CHG-3",
        unmet=[f"requirement {i}: unmet because of a long reason" for i in range(100)],
        details_url="https://changegate.example.com/changes/CHG-3",
    )
    assert len(long) <= 1024
    assert long.endswith("… and more: https://changegate.example.com/changes/CHG-3")
