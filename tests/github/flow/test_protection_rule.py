"""changegate as a GitHub custom deployment protection rule: the gate is evaluated for the
held job's commit and environment, recorded, and answered through the REST API of a local
server that checks the exact requests GitHub documents; GitHub being down leaves the answer
pending until the event is redelivered. SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from changegate.db import session_scope
from changegate.deployments.models import GateDecision
from changegate.github.models import WebhookDelivery
from tests.github.flow.conftest import REPOSITORY, Hub
from tests.github.flow.fake_github import TOKEN

CALLBACK = f"/repos/{REPOSITORY}/actions/runs/13914412370/deployment_protection_rule"


def body(response: Any, code: int = 200) -> dict[str, Any]:
    assert response.status_code == code, response.text
    result: dict[str, Any] = response.json()
    return result


def test_a_commit_without_a_change_is_rejected(hub: Hub) -> None:
    sha = hub.repo.commit("Unreviewed", {"src/app.py": "x\n"})
    result = body(hub.send("deployment_protection_rule", hub.protection_rule(sha)))
    assert result["status"] == "processed"
    assert result["github"] == [
        "protection rule rejected for production",
        "commit status changegate/gate: production: failure",
    ]
    (answer,) = hub.github.protection_answers()
    assert answer.path == CALLBACK
    assert answer.headers["Authorization"] == f"Bearer {TOKEN}"
    assert answer.headers["Accept"] == "application/vnd.github+json"
    assert answer.headers["X-GitHub-Api-Version"] == "2022-11-28"
    assert answer.body == {
        "environment_name": "production",
        "state": "rejected",
        "comment": "changegate: did not pass the gate for production.\n"
        "- no change record is linked to this commit",
    }
    (status,) = hub.github.statuses()
    assert status.body == {
        "state": "failure",
        "context": "changegate/gate: production",
        "description": "no change record is linked to this commit",
    }
    assert hub.github.refused == []


def test_unmet_requirements_are_listed_and_the_decision_recorded(hub: Hub) -> None:
    base = hub.repo.commit("Initial import", {"src/app.py": "x = 1\n"})
    hub.repo.branch("feature")
    head = hub.repo.commit("Feature", {"src/app.py": "x = 2\n"})
    assert body(hub.send("pull_request", hub.pull_request("opened", head=head, base=base)))
    hub.github.requests.clear()
    result = body(hub.send("deployment_protection_rule", hub.protection_rule(head)))
    assert result["change"] == "CHG-1"
    (answer,) = hub.github.protection_answers()
    comment = answer.body["comment"]
    assert answer.body["state"] == "rejected"
    assert comment.startswith("changegate: CHG-1 did not pass the gate for production.\n")
    assert "- lifecycle: state: submitted (needs approval before deployment)" in comment
    assert "- peer-review: approval by role engineer: missing" in comment
    assert "- automated-tests: test results: none attached" in comment
    assert comment.endswith("Details: https://changegate.example.com/changes/CHG-1")
    with session_scope(hub.engine, write=False) as s:
        decision = s.scalars(select(GateDecision)).one()
        assert (decision.deployer, decision.environment, decision.passed) == (
            "carol",
            "production",
            False,
        )
    # an unmapped sender deploys as nobody: the deployer check fails too
    hub.github.requests.clear()
    body(hub.send("deployment_protection_rule", hub.protection_rule(head, sender="ghost")))
    (answer,) = hub.github.protection_answers()
    assert "- deployer-role: deployer github: unknown user" in answer.body["comment"]


def test_github_down_leaves_the_answer_pending_until_redelivery(hub: Hub) -> None:
    sha = hub.repo.commit("Unreviewed", {"src/app.py": "x\n"})
    delivery = "aa7e8f60-0000-4000-8000-00000000dead"
    hub.github.outage = 503
    result = body(
        hub.send("deployment_protection_rule", hub.protection_rule(sha), delivery=delivery), 502
    )
    assert result["status"] == "answer_pending"
    assert "redeliver this event" in result["message"]
    assert "GitHub answered 503" in result["github_errors"][0]
    with session_scope(hub.engine, write=False) as s:
        row = s.scalars(select(WebhookDelivery)).one()
        assert row.status == "answer_pending"
        assert row.answer is not None and row.answer["state"] == "rejected"
    decisions = hub.count(GateDecision)
    hub.github.outage = None
    result = body(
        hub.send("deployment_protection_rule", hub.protection_rule(sha), delivery=delivery)
    )
    assert result["status"] == "processed"
    assert [r.body["state"] for r in hub.github.protection_answers()] == ["rejected"]
    assert hub.count(GateDecision) == decisions  # the stored answer, not a second evaluation
    with session_scope(hub.engine, write=False) as s:
        row = s.scalars(select(WebhookDelivery)).one()
        assert row.status == "processed"
        assert "answered GitHub: protection rule rejected for production" in row.outcome
    # once answered, a redelivery changes nothing
    assert body(
        hub.send("deployment_protection_rule", hub.protection_rule(sha), delivery=delivery)
    )["status"] == ("duplicate")
    assert len(hub.github.protection_answers()) == 1


def test_without_a_token_the_answer_waits(hub: Hub) -> None:
    sha = hub.repo.commit("Unreviewed", {"src/app.py": "x\n"})
    hub.settings.token = None
    result = body(hub.send("deployment_protection_rule", hub.protection_rule(sha)), 502)
    assert "CHANGEGATE_GITHUB_TOKEN is not set" in result["github_errors"][0]
    assert hub.github.requests == []


def test_a_callback_url_off_the_api_host_is_never_sent_the_token(hub: Hub) -> None:
    sha = hub.repo.commit("Unreviewed", {"src/app.py": "x\n"})
    event = hub.protection_rule(sha)
    event["deployment_callback_url"] = (
        f"https://evil.example.com/repos/{REPOSITORY}/actions/runs/1/deployment_protection_rule"
    )
    result = body(hub.send("deployment_protection_rule", event), 502)
    assert "refusing to send the token there" in result["github_errors"][0]
    assert hub.github.protection_answers() == []
