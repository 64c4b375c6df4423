from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import pytest

from changegate.github.errors import PayloadError
from changegate.github.payloads import (
    EVENT_MODELS,
    HANDLED_ACTIONS,
    DeploymentEvent,
    DeploymentProtectionRuleEvent,
    DeploymentStatusEvent,
    PingEvent,
    PullRequestEvent,
    PullRequestReviewEvent,
    PushEvent,
    parse_event,
)

PAYLOADS = Path(__file__).parent / "payloads"


def payload_files() -> list[Path]:
    return sorted(PAYLOADS.glob("*.json"))


def event_name(path: Path) -> str:
    """``pull_request.closed.merged.json`` is a ``pull_request`` event."""
    return path.name.split(".", 1)[0]


MERGE_SHA = "14091a9f2461267ee7e02525b4f1f2923f1c9849"
HEAD1 = "febdd4dee1aef790a73c332ca77638e89c515ede"
HEAD2 = "178c040fb76195151aba3d9f4ab33804b03b96c8"


@pytest.mark.parametrize("path", payload_files(), ids=lambda p: p.name)
def test_every_payload_file_parses_to_its_model(path: Path) -> None:
    event = parse_event(event_name(path), path.read_bytes())
    assert isinstance(event, EVENT_MODELS[event_name(path)])


def test_every_handled_event_has_a_payload_file() -> None:
    assert {event_name(p) for p in payload_files()} == set(EVENT_MODELS)


def test_pull_request_actions(load_payload: Callable[[str], bytes]) -> None:
    opened = parse_event("pull_request", load_payload("pull_request.opened.json"))
    assert isinstance(opened, PullRequestEvent)
    assert opened.action in HANDLED_ACTIONS["pull_request"]
    pr = opened.pull_request
    assert (pr.number, pr.title, pr.user.login) == (42, "Reorder LLM Shuffle providers", "octocat")
    assert pr.head.sha == HEAD1 and pr.base.ref == "main"
    assert pr.body is not None and pr.body.startswith("## Description")
    assert opened.repository.full_name == "octo-org/persona-service"
    assert opened.repository.owner_login == "octo-org"
    assert opened.installation is not None and opened.installation.id == 51234567
    assert not opened.is_merged

    sync = parse_event("pull_request", load_payload("pull_request.synchronize.json"))
    assert isinstance(sync, PullRequestEvent)
    assert (sync.before, sync.after, sync.pull_request.head.sha) == (HEAD1, HEAD2, HEAD2)

    edited = parse_event("pull_request", load_payload("pull_request.edited.json"))
    assert isinstance(edited, PullRequestEvent) and edited.changes == {"body": {"from": "WIP"}}

    merged = parse_event("pull_request", load_payload("pull_request.closed.merged.json"))
    assert isinstance(merged, PullRequestEvent) and merged.is_merged
    assert merged.pull_request.merge_commit_sha == MERGE_SHA
    assert merged.pull_request.merged_by is not None
    assert merged.pull_request.merged_by.login == "monalisa"

    closed = parse_event("pull_request", load_payload("pull_request.closed.unmerged.json"))
    assert isinstance(closed, PullRequestEvent) and not closed.is_merged

    labeled = parse_event("pull_request", load_payload("pull_request.labeled.json"))
    assert isinstance(labeled, PullRequestEvent)
    assert labeled.action not in HANDLED_ACTIONS["pull_request"]


def test_reviews(load_payload: Callable[[str], bytes]) -> None:
    approved = parse_event(
        "pull_request_review", load_payload("pull_request_review.submitted.approved.json")
    )
    assert isinstance(approved, PullRequestReviewEvent)
    assert approved.is_approval and not approved.is_dismissal
    assert approved.review.user is not None and approved.review.user.login == "hubot"
    assert approved.review.commit_id == HEAD1
    assert approved.pull_request.merged is None  # review events carry the simple PR shape

    changes = parse_event(
        "pull_request_review",
        load_payload("pull_request_review.submitted.changes_requested.json"),
    )
    assert isinstance(changes, PullRequestReviewEvent)
    assert changes.review.state == "changes_requested" and not changes.is_approval

    dismissed = parse_event(
        "pull_request_review", load_payload("pull_request_review.dismissed.json")
    )
    assert isinstance(dismissed, PullRequestReviewEvent)
    assert dismissed.is_dismissal and dismissed.review.state == "dismissed"


def test_review_state_is_normalised(load_payload: Callable[[str], bytes]) -> None:
    document = json.loads(load_payload("pull_request_review.submitted.approved.json"))
    document["review"]["state"] = "APPROVED"  # the REST API's spelling
    event = parse_event("pull_request_review", json.dumps(document).encode())
    assert isinstance(event, PullRequestReviewEvent) and event.is_approval


def test_push(load_payload: Callable[[str], bytes]) -> None:
    push = parse_event("push", load_payload("push.default_branch.json"))
    assert isinstance(push, PushEvent)
    assert push.branch == "main" and push.to_default_branch
    assert push.after == MERGE_SHA and len(push.commits) == 3
    assert push.head_commit is not None and push.head_commit.id == MERGE_SHA
    assert push.commits[0].modified == ["config/litellm.yaml"]
    assert push.pusher.name == "monalisa"
    feature = parse_event("push", load_payload("push.feature_branch.json"))
    assert isinstance(feature, PushEvent)
    assert feature.branch == "llm-shuffle-order" and not feature.to_default_branch
    document = json.loads(load_payload("push.feature_branch.json"))
    document["ref"] = "refs/tags/v1.4.2"
    tag = parse_event("push", json.dumps(document).encode())
    assert isinstance(tag, PushEvent) and tag.branch is None and not tag.to_default_branch


def test_deployments(load_payload: Callable[[str], bytes]) -> None:
    created = parse_event("deployment", load_payload("deployment.created.json"))
    assert isinstance(created, DeploymentEvent)
    assert created.deployment.sha == MERGE_SHA
    assert created.deployment.environment == "production"
    assert created.workflow_run is not None and created.workflow_run.id == 13914412370

    status = parse_event("deployment_status", load_payload("deployment_status.created.json"))
    assert isinstance(status, DeploymentStatusEvent)
    assert status.deployment_status.state == "success"
    assert status.deployment.id == created.deployment.id


def test_deployment_protection_rule(load_payload: Callable[[str], bytes]) -> None:
    event = parse_event(
        "deployment_protection_rule", load_payload("deployment_protection_rule.requested.json")
    )
    assert isinstance(event, DeploymentProtectionRuleEvent)
    assert event.environment == "production" and event.event == "push"
    assert event.commit_sha == MERGE_SHA
    assert (event.owner, event.repo, event.run_id) == ("octo-org", "persona-service", 13914412370)
    assert event.installation is not None


def test_protection_rule_without_a_commit_or_a_proper_callback(
    load_payload: Callable[[str], bytes],
) -> None:
    document = json.loads(load_payload("deployment_protection_rule.requested.json"))
    del document["deployment"]
    event = parse_event("deployment_protection_rule", json.dumps(document).encode())
    assert isinstance(event, DeploymentProtectionRuleEvent)
    assert event.commit_sha == MERGE_SHA  # falls back to the top-level sha
    del document["sha"]
    with pytest.raises(PayloadError) as excinfo:
        parse_event("deployment_protection_rule", json.dumps(document).encode())
    assert "deployment.sha: missing" in str(excinfo.value)
    assert excinfo.value.field == "deployment.sha"
    document = json.loads(load_payload("deployment_protection_rule.requested.json"))
    document["deployment_callback_url"] = "https://api.github.com/elsewhere"
    with pytest.raises(PayloadError, match="deployment_callback_url: expected"):
        parse_event("deployment_protection_rule", json.dumps(document).encode())


def test_ping(load_payload: Callable[[str], bytes]) -> None:
    ping = parse_event("ping", load_payload("ping.json"))
    assert isinstance(ping, PingEvent) and ping.hook_id == 500123456


@pytest.mark.parametrize("name", ["issues", "check_run", "star", "workflow_job", ""])
def test_unknown_events_return_none_without_reading_the_body(name: str) -> None:
    assert parse_event(name, b"not even json") is None


def test_unknown_fields_are_kept(load_payload: Callable[[str], bytes]) -> None:
    document = json.loads(load_payload("pull_request.opened.json"))
    document["brand_new_field"] = {"x": 1}
    document["pull_request"]["head"]["another"] = True
    event = parse_event("pull_request", json.dumps(document).encode())
    assert isinstance(event, PullRequestEvent)
    assert event.model_extra is not None and event.model_extra["brand_new_field"] == {"x": 1}


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: d["pull_request"]["head"].pop("sha"), "pull_request.head.sha: Field required"),
        (lambda d: d.pop("action"), "action: Field required"),
        (
            lambda d: d["pull_request"].update(number="forty-two"),
            "pull_request.number: Input should",
        ),
        (lambda d: d.pop("repository"), "repository: Field required"),
    ],
)
def test_missing_required_fields_are_named(
    load_payload: Callable[[str], bytes],
    mutate: Callable[[dict[str, object]], object],
    expected: str,
) -> None:
    document = json.loads(load_payload("pull_request.opened.json"))
    mutate(document)
    with pytest.raises(PayloadError) as excinfo:
        parse_event("pull_request", json.dumps(document).encode())
    assert expected in str(excinfo.value)
    assert str(excinfo.value).startswith("pull_request payload: ")
    assert isinstance(excinfo.value, ValueError) and excinfo.value.http_status == 400


def test_every_missing_field_is_listed(load_payload: Callable[[str], bytes]) -> None:
    document = json.loads(load_payload("push.default_branch.json"))
    del document["ref"], document["after"], document["pusher"]["name"]
    with pytest.raises(PayloadError) as excinfo:
        parse_event("push", json.dumps(document).encode())
    message = str(excinfo.value)
    for field in ("ref: Field required", "after: Field required", "pusher.name: Field required"):
        assert field in message
    assert excinfo.value.field == "ref"


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"", "not valid JSON"),
        (b"{", "not valid JSON"),
        (b"[1, 2]", "expected a JSON object for a push event, got list"),
        (b'"text"', "got str"),
        (b"\xff\xfe{}", "not UTF-8"),
    ],
)
def test_malformed_bodies(body: bytes, fragment: str) -> None:
    with pytest.raises(PayloadError) as excinfo:
        parse_event("push", body)
    assert fragment in str(excinfo.value)
    assert excinfo.value.field == "body"


def test_form_encoded_deliveries(load_payload: Callable[[str], bytes]) -> None:
    raw = load_payload("push.default_branch.json").decode()
    body = ("payload=" + quote(raw, safe="")).encode()
    event = parse_event("push", body)
    assert isinstance(event, PushEvent) and event.after == MERGE_SHA
    with pytest.raises(PayloadError, match="'payload' form field is empty"):
        parse_event("push", b"payload=")
