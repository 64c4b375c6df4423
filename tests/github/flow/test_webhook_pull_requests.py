"""A pull request's whole life through signed webhook deliveries, on SQLite and PostgreSQL:
its change created from the PR template and the changed files, approvals by mapped GitHub
reviewers under segregation of duties, a push after approval, withdrawn approvals, the
merge, the push to main, the protection rule answered to GitHub, and the deployment."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from changegate.audit.verify import verify
from changegate.changes.models import Change
from changegate.db import session_scope
from changegate.evidence import service as evidence
from changegate.github.models import CommitLink, GitHubDeployment, PullRequestLink, WebhookDelivery
from changegate.reviews.models import Review
from changegate.scm.models import ChangeClassification
from tests.factories import DEFAULT, JUNIT_PASS, tx
from tests.github.flow.conftest import REPOSITORY, Hub
from tests.github.flow.fake_github import TOKEN

P = DEFAULT.policy


def change(hub: Hub, number: int = 1) -> Change:
    with session_scope(hub.engine, write=False) as s:
        found = s.get(Change, number)
        assert found is not None
        s.expunge(found)
        return found


def reviews(hub: Hub) -> list[tuple[str, str]]:
    with session_scope(hub.engine, write=False) as s:
        return [(r.reviewer, r.verdict) for r in s.scalars(select(Review).order_by(Review.id))]


def ok(response: Any, status: str = "processed") -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["status"] == status, body
    return body


def test_pull_request_from_opened_to_deployed(hub: Hub) -> None:
    repo = hub.repo
    base = repo.commit("Initial import", {"src/app.py": "print('hi')\n", "README.md": "x\n"})
    repo.branch("round-tax")
    first = repo.commit("Round tax per line", {"src/tax.py": "ROUND = True\n"})

    # opened: the change is created from the template and classified from the files
    body = ok(hub.send("pull_request", hub.pull_request("opened", head=first, base=base)))
    assert body["change"] == "CHG-1"
    assert "created CHG-1 from pull request #42" in body["outcome"]
    assert "submitted (submitted)" in body["outcome"]
    c = change(hub)
    assert (c.author, c.change_class, c.state) == ("alice", "normal", "submitted")
    assert c.title == "Round tax per line item"
    assert c.description.startswith("Move OpenAI behind Anthropic")
    assert c.components == ["application"]
    assert c.commits == [first]
    assert c.links == [f"https://github.com/{REPOSITORY}/pull/42"]
    assert c.risk["availability"]["level"] == "medium"
    assert c.risk["availability"]["note"].startswith("routing falls back")
    assert c.risk["data"] == {"level": "low", "note": "both providers hold a current DPA."}
    assert c.rollback_plan.startswith("Revert this PR")
    with session_scope(hub.engine, write=False) as s:
        cls = s.scalars(select(ChangeClassification)).one()
        assert (cls.source, cls.minimum_class, cls.components) == (
            "pull_request",
            "normal",
            ["application"],
        )
        link = s.scalars(select(PullRequestLink)).one()
        assert (link.number, link.head_sha, link.state, link.problems) == (42, first, "open", [])
    # the PR head got a commit status through the REST API
    (status,) = hub.github.statuses()
    assert status.path == f"/repos/{REPOSITORY}/statuses/{first}"
    assert status.body["context"] == "changegate/change"
    assert status.body["state"] == "pending"
    assert status.body["target_url"] == "https://changegate.example.com/changes/CHG-1"

    # a redelivery of any event changes nothing
    events = hub.audit_events()
    again = hub.pull_request("opened", head=first, base=base)
    delivery = "5f1a2c3d-0000-4000-8000-000000000001"
    ok(hub.send("pull_request", again, delivery=delivery))
    events = hub.audit_events()
    assert ok(hub.send("pull_request", again, delivery=delivery), "duplicate")
    assert hub.audit_events() == events
    assert hub.count(WebhookDelivery) == 2

    # the author's own approval is refused (segregation of duties), and recorded as refused
    refused = ok(
        hub.send("pull_request_review", hub.review("approved", reviewer="octocat", commit=first)),
        "refused",
    )
    assert "alice authored CHG-1 and may not approve it" in refused["outcome"]
    assert reviews(hub) == []
    # an unmapped reviewer is ignored
    ignored = ok(
        hub.send("pull_request_review", hub.review("approved", reviewer="stranger", commit=first)),
        "ignored",
    )
    assert "stranger is not mapped" in ignored["outcome"]
    # a mapped peer's approval counts
    body = ok(
        hub.send("pull_request_review", hub.review("approved", reviewer="hubot", commit=first))
    )
    assert body["outcome"] == "bob approved CHG-1 (approved)"
    assert change(hub).state == "approved"

    # a new push invalidates the approval: new commits, new digest, back to submitted
    second = repo.commit("Address review", {"src/tax.py": "ROUND = 'line'\n"})
    body = ok(hub.send("pull_request", hub.pull_request("synchronize", head=second, base=base)))
    assert "updated CHG-1: commits" in body["outcome"]
    assert "1 approval(s) bound to the earlier content are now stale" in body["outcome"]
    c = change(hub)
    assert c.commits == [first, second]
    assert c.state == "submitted"
    gate = hub_gate(hub, second)
    assert not gate["passed"]
    assert any("stale approval" in r["reason"] for r in gate["unmet"])

    # an approval of the earlier head does not count
    stale = ok(
        hub.send("pull_request_review", hub.review("approved", reviewer="hubot", commit=first)),
        "refused",
    )
    assert "approval of earlier code does not count" in stale["outcome"]
    ok(hub.send("pull_request_review", hub.review("approved", reviewer="hubot", commit=second)))
    assert change(hub).state == "approved"

    # dismissing the review withdraws the approval; changes requested does too
    body = ok(
        hub.send("pull_request_review", hub.review("dismissed", reviewer="hubot", commit=second))
    )
    assert "2 approval(s) of CHG-1 withdrawn (submitted)" in body["outcome"]
    ok(hub.send("pull_request_review", hub.review("approved", reviewer="hubot", commit=second)))
    ok(
        hub.send(
            "pull_request_review",
            hub.review("changes_requested", reviewer="hubot", commit=second),
        )
    )
    assert change(hub).state == "submitted"
    ok(hub.send("pull_request_review", hub.review("approved", reviewer="hubot", commit=second)))
    assert reviews(hub) == [
        ("bob", "withdrawn"),
        ("bob", "withdrawn"),
        ("bob", "withdrawn"),
        ("bob", "approve"),
    ]
    assert change(hub).state == "approved"

    # tests and staging validation, then the merge links the merge commit
    tx(
        hub.engine,
        lambda s: evidence.add_junit(
            s, P, change_for(s), content=JUNIT_PASS, filename="junit.xml", actor="ci-bot"
        ),
    )
    tx(
        hub.engine,
        lambda s: evidence.add_validation(
            s, P, change_for(s), name="staging", result="pass", details="smoke ok", actor="ci-bot"
        ),
    )
    repo.checkout("main")
    merge = repo.merge("round-tax", "Merge pull request #42 from octo-org/round-tax")
    body = ok(
        hub.send(
            "pull_request",
            hub.pull_request("closed", head=second, base=base, merge_sha=merge),
        )
    )
    assert body["outcome"] == f"merged: {merge[:12]} linked to CHG-1"
    with session_scope(hub.engine, write=False) as s:
        (link,) = s.scalars(select(CommitLink)).all()
        assert (link.sha, link.kind, link.change_id) == (merge, "merge", 1)
    # the push to main: everything already linked
    body = ok(
        hub.send(
            "push",
            hub.push([(first, "Round tax per line"), (second, "Address review"), (merge, "Merge")]),
        )
    )
    assert "3 already linked" in body["outcome"]

    # GitHub holds the deploy job: changegate evaluates the gate and answers through the API
    hub.github.requests.clear()
    body = ok(hub.send("deployment_protection_rule", hub.protection_rule(merge)))
    assert body["change"] == "CHG-1"
    (answer,) = hub.github.protection_answers()
    assert answer.path == (
        f"/repos/{REPOSITORY}/actions/runs/13914412370/deployment_protection_rule"
    )
    assert answer.headers["Authorization"] == f"Bearer {TOKEN}"
    assert answer.body == {
        "environment_name": "production",
        "state": "approved",
        "comment": "changegate: CHG-1 passed the gate for production.\n"
        "Details: https://changegate.example.com/changes/CHG-1",
    }
    (status,) = hub.github.statuses()
    assert status.path == f"/repos/{REPOSITORY}/statuses/{merge}"
    assert status.body == {
        "state": "success",
        "context": "changegate/gate: production",
        "description": "CHG-1: gate passed for production",
        "target_url": "https://changegate.example.com/changes/CHG-1",
    }

    # the deployment GitHub reports is recorded against the change, through the gate
    ok(hub.send("deployment", hub.deployment(1843002211, merge, creator="monalisa")))
    body = ok(
        hub.send(
            "deployment_status",
            hub.deployment_status(1843002211, merge, "success", creator="monalisa"),
        )
    )
    assert "CHG-1 recorded as deployed by carol (gate passed)" in body["outcome"]
    assert change(hub).state == "deployed"
    with session_scope(hub.engine, write=False) as s:
        deployment = s.scalars(select(GitHubDeployment)).one()
        assert (deployment.state, deployment.gate_passed, deployment.change_id) == (
            "success",
            True,
            1,
        )
        report = verify(s)
        assert report.ok, report.problems
        assert report.rows_checked > 20


def change_for(s: Any) -> Change:
    from changegate.changes.service import get_change

    return get_change(s, "CHG-1", lock=True)


def hub_gate(hub: Hub, sha: str) -> dict[str, Any]:
    from changegate.changes.by_commit import find_change_by_commit
    from changegate.deployments.service import evaluate_gate

    with session_scope(hub.engine, write=False) as s:
        found = find_change_by_commit(s, sha).change
        return evaluate_gate(s, P, found, env="production", deployer="carol").to_dict()
