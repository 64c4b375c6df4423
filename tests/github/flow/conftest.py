"""Fixtures for the Git/GitHub flow: real repositories, the real app on both databases, a
fake GitHub REST API, and GitHub's webhook payloads (tests/github/payloads) re-aimed at
the commits of the repository built for the test."""

from __future__ import annotations

import copy
import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from changegate.api.app import create_app
from changegate.api.settings import ServerSettings
from changegate.audit.models import AuditEvent
from changegate.github.settings import GitHubSettings
from changegate.github.signature import compute_signature
from changegate.users.service import add_user
from tests.factories import DEFAULT, tx
from tests.github.flow.fake_github import TOKEN, FakeGitHub, fake_github
from tests.gitrepo import Repo

PAYLOADS = Path(__file__).resolve().parents[1] / "payloads"
WEBHOOK_SECRET = "gitflow-webhook-secret-0123456789"
REPOSITORY = "octo-org/persona-service"
APP_SECRET = "gitflow-app-secret-" + "y" * 40

#: changegate user -> (roles, GitHub login)
TEAM: dict[str, tuple[list[str], str | None]] = {
    "alice": (["engineer"], "octocat"),
    "bob": (["engineer"], "hubot"),
    "sam": (["security", "engineer"], "sam-gh"),
    "artur": (["cto"], "artur-gh"),
    "carol": (["deployer"], "monalisa"),
    "erin": (["engineer"], None),
    "ci-bot": (["ci"], None),
}


def load(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((PAYLOADS / name).read_text())
    return document


COMPLETE_BODY: str = load("pull_request.opened.json")["pull_request"]["body"]


@dataclass
class Hub:
    """The app on a real database with the team mapped to GitHub logins, and helpers that
    send signed deliveries shaped like GitHub's."""

    client: TestClient
    engine: Engine
    github: FakeGitHub
    repo: Repo
    settings: GitHubSettings
    ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def send(
        self,
        event: str,
        payload: dict[str, Any] | bytes,
        *,
        delivery: str | None = None,
        signature: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        sent = {
            "Content-Type": "application/json",
            "User-Agent": "GitHub-Hookshot/044aadd",
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": delivery or f"72d3162e-cc78-11e3-81ab-{next(self.ids):012d}",
            "X-GitHub-Hook-ID": "292430182",
            "X-Hub-Signature-256": signature or compute_signature(WEBHOOK_SECRET, body),
        }
        sent.update(headers or {})
        return self.client.post("/webhooks/github", content=body, headers=sent)

    # -- payloads shaped like GitHub's, aimed at this test's commits ---------------------

    def pull_request(
        self,
        action: str,
        *,
        head: str,
        base: str,
        number: int = 42,
        body: str | None = COMPLETE_BODY,
        title: str = "Round tax per line item",
        author: str = "octocat",
        sender: str | None = None,
        draft: bool = False,
        merge_sha: str | None = None,
    ) -> dict[str, Any]:
        name = {
            "opened": "pull_request.opened.json",
            "edited": "pull_request.edited.json",
            "synchronize": "pull_request.synchronize.json",
            "reopened": "pull_request.reopened.json",
            "closed": "pull_request.closed.merged.json"
            if merge_sha
            else "pull_request.closed.unmerged.json",
        }[action]
        doc = load(name)
        pr = doc["pull_request"]
        doc["number"] = pr["number"] = number
        pr["html_url"] = f"https://github.com/{REPOSITORY}/pull/{number}"
        pr["title"] = title
        pr["body"] = body
        pr["draft"] = draft
        pr["user"] = copy.deepcopy(pr["user"]) | {"login": author}
        pr["head"]["sha"], pr["base"]["sha"] = head, base
        if merge_sha:
            pr["merge_commit_sha"] = merge_sha
        doc["sender"] = doc["sender"] | {"login": sender or author}
        if action == "synchronize":
            doc["after"] = head
        return doc

    def review(
        self, state: str, *, reviewer: str, commit: str, number: int = 42, head: str | None = None
    ) -> dict[str, Any]:
        name = {
            "approved": "pull_request_review.submitted.approved.json",
            "changes_requested": "pull_request_review.submitted.changes_requested.json",
            "dismissed": "pull_request_review.dismissed.json",
        }[state]
        doc = load(name)
        doc["review"]["user"] = doc["review"]["user"] | {"login": reviewer}
        doc["review"]["commit_id"] = commit
        doc["pull_request"]["number"] = number
        doc["pull_request"]["head"]["sha"] = head or commit
        if state != "dismissed":
            doc["sender"] = doc["sender"] | {"login": reviewer}
        return doc

    def push(
        self, commits: list[tuple[str, str]], *, ref: str = "refs/heads/main"
    ) -> dict[str, Any]:
        doc = load("push.default_branch.json")
        template = doc["commits"][0]
        doc["ref"] = ref
        doc["commits"] = [
            copy.deepcopy(template) | {"id": sha, "tree_id": sha, "message": message}
            for sha, message in commits
        ]
        doc["head_commit"] = doc["commits"][-1]
        doc["after"] = commits[-1][0]
        return doc

    def protection_rule(
        self, sha: str, *, environment: str = "production", sender: str = "monalisa"
    ) -> dict[str, Any]:
        doc = load("deployment_protection_rule.requested.json")
        doc["environment"] = environment
        doc["sha"] = doc["deployment"]["sha"] = sha
        doc["deployment"]["environment"] = environment
        doc["deployment_callback_url"] = (
            f"{self.github.base_url}/repos/{REPOSITORY}/actions/runs/13914412370"
            "/deployment_protection_rule"
        )
        doc["sender"] = doc["sender"] | {"login": sender}
        return doc

    def deployment(
        self, github_id: int, sha: str, *, environment: str = "production", creator: str
    ) -> dict[str, Any]:
        doc = load("deployment.created.json")
        doc["deployment"] |= {"id": github_id, "sha": sha, "environment": environment}
        doc["deployment"]["creator"] = doc["deployment"]["creator"] | {"login": creator}
        doc["sender"] = doc["sender"] | {"login": creator}
        return doc

    def deployment_status(
        self,
        github_id: int,
        sha: str,
        state: str,
        *,
        environment: str = "production",
        creator: str,
    ) -> dict[str, Any]:
        doc = load("deployment_status.created.json")
        doc["deployment"] |= {"id": github_id, "sha": sha, "environment": environment}
        doc["deployment"]["creator"] = doc["deployment"]["creator"] | {"login": creator}
        doc["deployment_status"] |= {"state": state, "environment": environment}
        doc["sender"] = doc["sender"] | {"login": creator}
        return doc

    # -- reading the record ---------------------------------------------------------------

    def count(self, model: Any) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(model)).scalar_one())

    def audit_events(self) -> int:
        return self.count(AuditEvent)


def make_team(engine: Engine) -> None:
    for name, (roles, login) in TEAM.items():
        tx(
            engine,
            lambda s, n=name, r=roles, g=login: add_user(
                s, DEFAULT.policy, name=n, roles=r, github_login=g
            ),
        )


@pytest.fixture
def hub(engine: Engine, tmp_path: Path) -> Iterator[Hub]:
    make_team(engine)
    repo = Repo(tmp_path / "persona-service")
    with fake_github() as github:
        settings = GitHubSettings(
            webhook_secret=WEBHOOK_SECRET,
            token=TOKEN,
            api_url=github.base_url,
            repositories={REPOSITORY: repo.path},
            fetch=False,
            public_url="https://changegate.example.com",
        )
        app = create_app(ServerSettings(db=str(engine.url), secret_key=APP_SECRET), engine=engine)
        app.state.cg.extra["github_settings"] = settings
        with TestClient(app) as client:
            yield Hub(client, engine, github, repo, settings)
