"""Delivery through the outbox to real local receivers: a webhook that fails (500), times out and
recovers, signed per Standard Webhooks and checked in the receiver with the spec's algorithm;
Slack and JSON targets; dead letters; a lease that outlives a crashed worker."""

from __future__ import annotations

import base64
import datetime as dt
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from changegate.alerts import delivery, service
from changegate.alerts.models import AlertDelivery
from changegate.alerts.worker import tick
from changegate.changes.service import get_change
from changegate.db import session_scope, utcnow
from changegate.deployments.service import gate
from changegate.policy.loader import LoadedPolicy, parse_policy
from tests.alerts.receiver import receiving
from tests.cli_runner import cli
from tests.factories import DEFAULT, make_change, make_team, tx

SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()


def fast(attempts: int = 5) -> LoadedPolicy:
    """The default policy with retries in tens of milliseconds."""
    text = DEFAULT.text.replace("retry_base_seconds: 2 ", "retry_base_seconds: 0.05 ").replace(
        "delivery_attempts: 8 ", f"delivery_attempts: {attempts} "
    )
    assert text != DEFAULT.text
    return parse_policy(text, "fast")


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    for name in list(os.environ):
        if name.startswith("CHANGEGATE_ALERT_"):
            monkeypatch.delenv(name)
    yield monkeypatch


def violation(engine: Engine, policy: LoadedPolicy) -> int:
    """A refused gate: one gate-refused alert; its id."""
    key = make_change(engine, policy)
    tx(
        engine,
        lambda s: gate(s, policy.policy, get_change(s, key), env="production", deployer="carol"),
        policy,
    )
    return tx(engine, lambda s: service.list_alerts(s)[0][0].id, policy)


def deliveries(engine: Engine) -> list[AlertDelivery]:
    with session_scope(engine, write=False) as s:
        return list(s.scalars(select(AlertDelivery).order_by(AlertDelivery.id)))


def drain(engine: Engine, policy: LoadedPolicy, until: float = 20.0) -> None:
    """Run the worker until nothing is pending (waiting out the backoff)."""
    end = time.monotonic() + until
    while time.monotonic() < end:
        tick(engine, policy.policy, worker="test")
        if all(d.state != "pending" for d in deliveries(engine)):
            return
        time.sleep(0.05)
    raise AssertionError("deliveries still pending")


def test_fails_times_out_then_recovers_with_one_webhook_id(
    engine: Engine, env: pytest.MonkeyPatch
) -> None:
    policy = fast()
    with receiving(SECRET, plan=["fail", "stall"]) as rx:
        rx.stall_s = 2.0
        env.setenv("CHANGEGATE_ALERT_WEBHOOK_URL", rx.url)
        env.setenv("CHANGEGATE_ALERT_WEBHOOK_SECRET", SECRET)
        env.setenv("CHANGEGATE_ALERT_WEBHOOK_TIMEOUT", "0.5")
        make_team(engine, policy)
        alert_id = violation(engine, policy)
        drain(engine, policy)
        [row] = deliveries(engine)
        assert (row.state, row.attempts, row.last_status) == ("delivered", 3, 204)
        assert len(rx.received) == 3
        assert {r.msg_id for r in rx.received} == {row.webhook_id}
        assert all(r.verified for r in rx.received)
        [ok] = rx.accepted()
        event = ok.json()
        assert ok.headers["content-type"].startswith("application/cloudevents+json")
        assert event["specversion"] == "1.0" and event["id"] == row.webhook_id
        assert event["type"] == "dev.changegate.alert.gate-refused"
        assert {"source", "time", "datacontenttype"} <= set(event)
        assert event["data"]["id"] == alert_id and event["data"]["state"] == "open"
        # every attempt sent the same bytes: the receiver can compare and de-duplicate
        assert len({r.body for r in rx.received}) == 1


def test_a_forged_signature_is_refused_by_the_receiver(
    engine: Engine, env: pytest.MonkeyPatch
) -> None:
    """The receiver's check is real: signed with another secret, every attempt is refused."""
    policy = fast(attempts=2)
    other = "whsec_" + base64.b64encode(b"another-secret-of-32-bytes-long!").decode()
    with receiving(SECRET) as rx:
        env.setenv("CHANGEGATE_ALERT_WEBHOOK_URL", rx.url)
        env.setenv("CHANGEGATE_ALERT_WEBHOOK_SECRET", other)
        make_team(engine, policy)
        violation(engine, policy)
        drain(engine, policy)
        assert [r.verified for r in rx.received] == [False, False]
        assert [d.state for d in deliveries(engine)] == ["dead"]


def test_dead_letter_after_the_policys_attempts(
    engine: Engine, db_url: str, env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    policy = fast(attempts=3)
    with receiving(plan=["fail"] * 10) as rx:
        env.setenv("CHANGEGATE_ALERT_WEBHOOK_URL", rx.url)
        make_team(engine, policy)
        alert_id = violation(engine, policy)
        drain(engine, policy)
        assert len(rx.received) == 3
        [row] = deliveries(engine)
        assert (row.state, row.attempts, row.last_status) == ("dead", 3, 500)
        dead = tx(engine, lambda s: service.dead_letters(s), policy)
        assert [d.alert_id for d in dead] == [alert_id]
        policy_file = tmp_path / "fast.yaml"
        policy_file.write_text(policy.text)
        out = cli(db_url, "alerts", "list", "--json", policy=str(policy_file)).json()
        assert out["alerts"][0]["deliveries"][0]["state"] == "dead"


def test_slack_and_json_targets_from_the_config_file(
    engine: Engine, env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    policy = fast()
    with receiving() as chat, receiving() as siem:
        config = tmp_path / "alerts.yaml"
        config.write_text(
            "targets:\n"
            f"  - {{name: chat, kind: slack, url: '{chat.url}'}}\n"
            f"  - {{name: siem, kind: json, url: '{siem.url}', timeout_seconds: 2}}\n"
        )
        env.setenv("CHANGEGATE_ALERT_CONFIG", str(config))
        make_team(engine, policy)
        alert_id = violation(engine, policy)
        drain(engine, policy)
        assert sorted(d.target for d in deliveries(engine)) == ["chat", "siem"]
        [msg] = chat.accepted()
        assert "gate-refused" in msg.json()["text"] and msg.json()["blocks"]
        [doc] = siem.accepted()
        assert doc.json()["id"] == alert_id and doc.json()["kind"] == "gate-refused"
        assert doc.headers["webhook-id"].startswith("msg_")


def test_a_crashed_workers_lease_expires_and_the_same_message_is_retried(
    engine: Engine, env: pytest.MonkeyPatch
) -> None:
    policy = fast()
    with receiving(SECRET) as rx:
        env.setenv("CHANGEGATE_ALERT_WEBHOOK_URL", rx.url)
        env.setenv("CHANGEGATE_ALERT_WEBHOOK_SECRET", SECRET)
        env.setenv("CHANGEGATE_ALERT_LEASE_SECONDS", "0.5")
        make_team(engine, policy)
        violation(engine, policy)
        names = ["webhook"]
        # the claims' clock is given, not read: a loaded machine (CI) cannot let the lease run
        # out between A's claim and B's first look
        start = utcnow()
        with session_scope(engine) as s:  # worker A claims, then "dies" before sending
            [held] = delivery.claim(s, worker="A", names=names, now=start)
        with session_scope(engine) as s:  # B finds nothing while A's lease runs
            during = start + dt.timedelta(seconds=0.4)
            assert delivery.claim(s, worker="B", names=names, now=during) == []
        with session_scope(engine) as s:
            after = start + dt.timedelta(seconds=0.6)
            [again] = delivery.claim(s, worker="B", names=names, now=after)
        assert (again.id, again.webhook_id, again.attempt) == (held.id, held.webhook_id, 2)
        out = delivery.send(delivery.targets_mod.by_name()["webhook"], again)
        rule = policy.policy.monitoring
        with session_scope(engine) as s:  # A's late result no longer counts
            assert delivery.settle(s, rule, held, out, worker="A") is None
        with session_scope(engine) as s:
            assert delivery.settle(s, rule, again, out, worker="B") == "delivered"
        assert [r.msg_id for r in rx.accepted()] == [held.webhook_id]


def test_a_bad_secret_is_refused_with_the_fix(env: pytest.MonkeyPatch) -> None:
    from changegate.alerts import targets
    from changegate.errors import InvalidInput

    env.setenv("CHANGEGATE_ALERT_WEBHOOK_URL", "http://127.0.0.1:9/hook")
    env.setenv("CHANGEGATE_ALERT_WEBHOOK_SECRET", "hunter2")
    with pytest.raises(InvalidInput, match="whsec_"):
        targets.configured()


def test_alerts_deliver_once_from_the_cli(
    engine: Engine, db_url: str, env: pytest.MonkeyPatch
) -> None:
    with receiving(SECRET) as rx:
        env.setenv("CHANGEGATE_ALERT_WEBHOOK_URL", rx.url)
        env.setenv("CHANGEGATE_ALERT_WEBHOOK_SECRET", SECRET)
        make_team(engine)
        violation(engine, DEFAULT)
        violation(engine, DEFAULT)
        out = cli(db_url, "alerts", "deliver", "--once", "--json")
        assert out.code == 0, out.stderr
        assert (out.json()["tried"], out.json()["pending"]) == (2, 0)
        assert out.json()["targets"] == [{"name": "webhook", "kind": "webhook", "signed": True}]
        assert len(rx.accepted()) == 2 and all(r.verified for r in rx.received)
