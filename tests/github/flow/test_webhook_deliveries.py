"""What reaches POST /webhooks/github before anything is acted on: signatures, malformed
payloads, unknown events; and the deliveries that tell changegate about pushes, closed pull
requests and deployments outside the process. SQLite and PostgreSQL."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from changegate.changes.models import Change
from changegate.db import session_scope
from changegate.github.models import CommitLink, GitHubDeployment, PullRequestLink, WebhookDelivery
from changegate.github.signature import compute_signature
from tests.github.flow.conftest import COMPLETE_BODY, Hub, load


def stored(hub: Hub) -> tuple[int, int]:
    return hub.count(WebhookDelivery), hub.audit_events()


def ok(response: Any, status: str = "processed") -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["status"] == status, body
    return body


def opened(hub: Hub) -> tuple[str, str]:
    base = hub.repo.commit("Initial import", {"src/app.py": "x = 1\n"})
    hub.repo.branch("feature")
    head = hub.repo.commit("Feature", {"src/app.py": "x = 2\n"})
    ok(hub.send("pull_request", hub.pull_request("opened", head=head, base=base)))
    return base, head


def test_unsigned_or_wrongly_signed_deliveries_are_refused_and_nothing_is_stored(
    hub: Hub,
) -> None:
    before = stored(hub)
    payload = json.dumps(hub.pull_request("opened", head="a" * 40, base="b" * 40)).encode()
    cases = {
        "missing": {"X-Hub-Signature-256": ""},
        "wrong secret": {"X-Hub-Signature-256": compute_signature("not-the-secret", payload)},
        "sha1 header only": {"X-Hub-Signature-256": "sha1=" + "0" * 40},
        "truncated": {"X-Hub-Signature-256": compute_signature("x", payload)[:-2]},
    }
    for name, headers in cases.items():
        response = hub.send("pull_request", payload, headers=headers)
        assert response.status_code == 401, name
        assert response.json()["error"] == "SignatureError", name
        assert response.json()["field"] == "X-Hub-Signature-256"
    # a body changed after signing
    signature = compute_signature("gitflow-webhook-secret-0123456789", payload)
    response = hub.send("pull_request", payload + b" ", signature=signature)
    assert response.status_code == 401
    assert stored(hub) == before
    assert hub.count(Change) == 0


def test_a_server_without_a_webhook_secret_refuses_every_delivery(hub: Hub) -> None:
    before = stored(hub)
    app = hub.client.app
    unconfigured = hub.settings.model_copy(update={"webhook_secret": None})
    app.state.cg.extra["github_settings"] = unconfigured  # type: ignore[attr-defined]
    response = hub.send("pull_request", hub.pull_request("opened", head="a" * 40, base="b" * 40))
    assert response.status_code == 503
    assert response.json()["error"] == "WebhookSecretMissing"
    assert "CHANGEGATE_GITHUB_WEBHOOK_SECRET" in response.json()["message"]
    assert stored(hub) == before and hub.count(Change) == 0


def test_malformed_deliveries_get_400_and_store_nothing(hub: Hub) -> None:
    before = stored(hub)
    bad_json = hub.send("pull_request", b'{"action": "opened", ')
    assert bad_json.status_code == 400
    assert "not valid JSON" in bad_json.json()["message"]
    missing = hub.pull_request("opened", head="a" * 40, base="b" * 40)
    del missing["pull_request"]["head"]["sha"]
    response = hub.send("pull_request", missing)
    assert response.status_code == 400
    assert "pull_request.head.sha: Field required" in response.json()["message"]
    not_object = hub.send("push", b"[1, 2]")
    assert not_object.status_code == 400
    no_delivery = hub.send("push", hub.push([("c" * 40, "x")]), headers={"X-GitHub-Delivery": ""})
    assert no_delivery.status_code == 400
    assert no_delivery.json()["field"] == "X-GitHub-Delivery"
    assert stored(hub) == before


def test_unknown_events_and_actions_are_acknowledged_and_ignored(hub: Hub) -> None:
    before = stored(hub)
    assert ok(hub.send("ping", load("ping.json")), "pong")
    assert ok(hub.send("issues", {"action": "opened", "issue": {"number": 1}}), "ignored")
    labeled = load("pull_request.labeled.json")
    assert ok(hub.send("pull_request", labeled), "ignored")
    assert stored(hub) == before


def test_a_pull_request_with_missing_sections_stays_a_draft_listing_what_is_missing(
    hub: Hub,
) -> None:
    base = hub.repo.commit("Initial import", {"src/app.py": "x = 1\n"})
    hub.repo.branch("tls")
    head = hub.repo.commit("Rotate certificate", {"infra/tls/chain.pem": "-----BEGIN-----\n"})
    body = (
        "## Description\n\nRotate the TLS chain before it expires.\n\n"
        "## Class\n\n- [x] standard: low-risk\n- [ ] normal\n- [ ] emergency\n\n"
        "## Risk\n\n### Availability\n\n- [ ] low\n- [x] medium\n- [ ] high\n\nNotes:\n\n"
        "## Rollback plan\n\n"
    )
    result = ok(
        hub.send("pull_request", hub.pull_request("opened", head=head, base=base, body=body))
    )
    outcome = result["outcome"]
    assert "left as a draft until the pull request is complete" in outcome
    for expected in (
        "Risk, Availability: notes are required for a medium risk",
        "Risk, Security: section missing",
        "Risk, Data impact: section missing",
        "Rollback plan: empty; say how to undo this change",
        "Class: 'standard' is below 'normal', the minimum the changed files require; "
        "the change is normal",
    ):
        assert expected in outcome, expected
    with session_scope(hub.engine, write=False) as s:
        change = s.scalars(select(Change)).one()
        assert (change.state, change.change_class) == ("draft", "normal")
        assert change.components == ["infrastructure", "tls"]
        assert change.category == "infrastructure"
        assert change.security_flag is True
        assert change.rollback_plan == ""
        link = s.scalars(select(PullRequestLink)).one()
        assert link.template_missing == [
            "risk.availability.notes",
            "risk.security",
            "risk.data_impact",
            "rollback_plan",
        ]
    (status,) = hub.github.statuses()
    assert status.body["state"] == "failure"
    assert status.body["description"].startswith("CHG-1: Risk, Availability: notes are")

    # the author fills the template in: the change is complete and submitted
    result = ok(
        hub.send(
            "pull_request",
            hub.pull_request("edited", head=head, base=base, body=COMPLETE_BODY),
        )
    )
    assert "submitted (submitted)" in result["outcome"]
    with session_scope(hub.engine, write=False) as s:
        change = s.scalars(select(Change)).one()
        assert change.state == "submitted"
        assert change.rollback_plan.startswith("Revert this PR")
        assert s.scalars(select(PullRequestLink)).one().problems == []


def test_pull_requests_of_unmapped_authors_are_not_recorded(hub: Hub) -> None:
    result = ok(
        hub.send(
            "pull_request",
            hub.pull_request("opened", head="a" * 40, base="b" * 40, author="dependabot[bot]"),
        ),
        "ignored",
    )
    assert "pull request author dependabot[bot] is not mapped" in result["outcome"]
    assert hub.count(Change) == 0


def test_pushed_commits_that_name_their_pull_request_or_change_are_references(hub: Hub) -> None:
    _base, head = opened(hub)
    hub.repo.checkout("main")
    squash = hub.repo.commit("Feature (#42)", {"src/app.py": "x = 2\n"})
    named = hub.repo.commit("Fix typo\n\nPart of CHG-1.", {"src/app.py": "x = 3\n"})
    direct = hub.repo.commit("Hotfix straight to main", {"src/app.py": "x = 4\n"})
    result = ok(
        hub.send(
            "push",
            hub.push(
                [
                    (squash, "Feature (#42)"),
                    (named, "Fix typo\n\nPart of CHG-1."),
                    (direct, "Hotfix straight to main"),
                ]
            ),
        )
    )
    assert (
        "recorded as reference(s), not covered by any change's review: "
        f"{squash[:12]} to CHG-1, {named[:12]} to CHG-1" in result["outcome"]
    )
    assert f"1 without a change record ({direct[:12]})" in result["outcome"]
    with session_scope(hub.engine, write=False) as s:
        links = {(c.sha, c.kind) for c in s.scalars(select(CommitLink))}
        assert links == {(squash, "reference"), (named, "reference")}
    # a push to another branch links nothing; who wrote and pushed a change's own commits
    # is recorded (they are its authors for segregation of duties)
    feature = ok(hub.send("push", hub.push([(head, "x")], ref="refs/heads/feature")))
    assert "recorded 2 commit author(s) or pusher(s)" in feature["outcome"]
    with session_scope(hub.engine, write=False) as s:
        from changegate.scm.authors import commit_authors

        assert set(commit_authors(s, s.get(Change, 1))) == {"carol"}  # type: ignore[arg-type]
    other = ok(hub.send("push", hub.push([(direct, "x")], ref="refs/heads/feature")), "ignored")
    assert "not the default branch" in other["outcome"]


def test_a_closed_unmerged_pull_request_leaves_its_change(hub: Hub) -> None:
    base, head = opened(hub)
    result = ok(hub.send("pull_request", hub.pull_request("closed", head=head, base=base)))
    assert result["outcome"] == "closed without merging; CHG-1 left as is"
    with session_scope(hub.engine, write=False) as s:
        assert s.scalars(select(PullRequestLink)).one().state == "closed"
        assert s.scalars(select(CommitLink)).all() == []


def test_a_deployment_without_a_passing_gate_is_recorded_as_such(hub: Hub) -> None:
    _base, head = opened(hub)  # submitted, not approved
    ok(hub.send("deployment", hub.deployment(7, head, creator="monalisa")))
    result = ok(
        hub.send("deployment_status", hub.deployment_status(7, head, "success", creator="monalisa"))
    )
    assert (
        "policy violation: deployed by carol WITHOUT a passing gate for CHG-1"
        in (result["outcome"])
    )
    assert "lifecycle: state: submitted (needs approval before deployment)" in result["outcome"]
    # an unknown commit deployed: recorded, no change
    result = ok(
        hub.send(
            "deployment_status", hub.deployment_status(8, "d" * 40, "success", creator="monalisa")
        )
    )
    assert "deployed without a change record" in result["outcome"]
    with session_scope(hub.engine, write=False) as s:
        rows = {r.github_id: r for r in s.scalars(select(GitHubDeployment))}
        assert (rows[7].gate_passed, rows[7].change_id, rows[7].state) == (False, 1, "success")
        assert (rows[8].gate_passed, rows[8].change_id) == (False, None)
        assert s.get(Change, 1).state == "submitted"  # type: ignore[union-attr]


def test_an_llm_routing_pull_request_is_a_model_provider_switch(hub: Hub) -> None:
    base = hub.repo.commit("Initial import", {"config/litellm.yaml": "model_list: [openai]\n"})
    hub.repo.branch("llm-shuffle-order")
    head = hub.repo.commit("Reorder", {"config/litellm.yaml": "model_list: [anthropic, openai]\n"})
    event = hub.pull_request("opened", head=head, base=base, title="Reorder LLM Shuffle providers")
    result = ok(hub.send("pull_request", event))
    assert "the policy requires for a normal change: providers" in result["outcome"]
    with session_scope(hub.engine, write=False) as s:
        change = s.scalars(select(Change)).one()
        assert (change.state, change.category, change.ai_component) == (
            "draft",
            "model-provider-switch",
            "llm-shuffle",
        )
        assert change.components == ["llm-shuffle"]
    named = COMPLETE_BODY + "\nProviders: Anthropic, OpenAI\n"
    event = hub.pull_request("edited", head=head, base=base, body=named)
    assert "submitted (submitted)" in ok(hub.send("pull_request", event))["outcome"]
    with session_scope(hub.engine, write=False) as s:
        change = s.scalars(select(Change)).one()
        assert change.providers == ["anthropic", "openai"]
    # the CTO signs off, a peer reviews: both approvals count
    ok(hub.send("pull_request_review", hub.review("approved", reviewer="artur-gh", commit=head)))
    result = ok(
        hub.send("pull_request_review", hub.review("approved", reviewer="hubot", commit=head))
    )
    assert result["outcome"] == "bob approved CHG-1 (approved)"


def test_a_draft_pull_request_is_submitted_when_marked_ready(hub: Hub) -> None:
    base = hub.repo.commit("Initial import", {"src/app.py": "x = 1\n"})
    hub.repo.branch("wip")
    head = hub.repo.commit("Work in progress", {"src/app.py": "x = 2\n"})
    result = ok(
        hub.send("pull_request", hub.pull_request("opened", head=head, base=base, draft=True))
    )
    assert "left as a draft while the pull request is a draft" in result["outcome"]
    ready = hub.pull_request("opened", head=head, base=base)
    ready["action"] = "ready_for_review"
    assert "submitted (submitted)" in ok(hub.send("pull_request", ready))["outcome"]
