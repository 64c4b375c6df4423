"""Two `changegate serve` processes on one PostgreSQL share the outbox (FOR UPDATE SKIP LOCKED)
and a local receiver counts: one is killed with SIGKILL mid-delivery; every alert still arrives,
and the only duplicates are retries under the same webhook-id."""

from __future__ import annotations

import base64
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from changegate.alerts.models import AlertDelivery
from changegate.db import session_scope
from tests.alerts import servers
from tests.alerts.receiver import receiving
from tests.alerts.support import make_alert
from tests.factories import make_team

SECRET = "whsec_" + base64.b64encode(b"two-servers-one-database-secret!").decode()
N = 150


def claimed_by(engine: Engine, server: servers.Server, timeout: float) -> set[int]:
    """The deliveries ``server`` holds a lease on, as soon as it holds some."""
    mark = f":{server.proc.pid}:"
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        with session_scope(engine, write=False) as s:
            rows = s.execute(
                select(AlertDelivery.id, AlertDelivery.claimed_by).where(
                    AlertDelivery.claimed_by.is_not(None)
                )
            ).all()
        held = {i for i, who in rows if mark in str(who)}
        if held:
            return held
        time.sleep(0.01)
    return set()


def settled(engine: Engine, timeout: float) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        with session_scope(engine, write=False) as s:
            if not s.scalar(select(AlertDelivery.id).where(AlertDelivery.state == "pending")):
                return
        time.sleep(0.1)


@pytest.mark.parametrize("backend", ["postgres"])
def test_kill_one_of_two_servers_mid_delivery(
    db_url: str, engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with receiving(SECRET) as rx:
        rx.delay_s = 0.2  # slow answers: deliveries are in flight when the kill comes
        env = {
            "CHANGEGATE_ALERT_WEBHOOK_URL": rx.url,
            "CHANGEGATE_ALERT_WEBHOOK_SECRET": SECRET,
            "CHANGEGATE_ALERT_LEASE_SECONDS": "3",
        }
        for name, value in env.items():  # this process raises the alerts: same targets
            monkeypatch.setenv(name, value)
        make_team(engine)
        a = servers.start(db_url, tmp_path / "a.log", env)
        b = servers.start(db_url, tmp_path / "b.log", env)
        try:
            for _ in range(N):
                make_alert(engine)
            held = claimed_by(engine, a, timeout=30)  # A is mid-delivery...
            a.kill()  # ...and dies holding these leases
            assert held, "server a never claimed a delivery"
            assert rx.wait_for(N, timeout=90), f"delivered {len(rx.ids())} of {N}"
            settled(engine, timeout=30)  # B re-sends what A sent but never recorded
        finally:
            a.stop()
            b.stop()
    with session_scope(engine, write=False) as s:
        rows = list(s.scalars(select(AlertDelivery)))
    unsettled = [
        (r.id, r.state, r.attempts, r.last_error, r.claimed_by)
        for r in rows
        if r.state != "delivered"
    ]
    assert len(rows) == N and not unsettled, unsettled
    # what A held when it died was taken over by B after the lease (or A had just settled it)
    assert {r.id for r in rows if r.attempts >= 2} <= held
    received = Counter(rx.answered)
    assert set(received) == {r.webhook_id for r in rows}  # every alert, nothing unknown
    assert all(r.verified for r in rx.received)
    # both servers delivered: the work was shared
    workers = {
        name: {x["webhook_id"] for x in srv.lines() if x.get("kind") == "delivery" and x["ok"]}
        for name, srv in (("a", a), ("b", b))
    }
    assert workers["a"] and workers["b"], workers
    duplicates = sum(n - 1 for n in received.values())
    print(f"{N} alerts, {len(received)} delivered, {duplicates} duplicate receipts (same id)")
