"""The outbox worker: claim due deliveries, send them, settle them.

Each claim is a lease: the row is stamped ``claimed_by``/``claimed_until`` in a short
transaction, sent outside any transaction, and settled in another one, only by the worker that
still holds it. On PostgreSQL the claim reads with ``FOR UPDATE SKIP LOCKED``, so several
server instances share the work without waiting on one another or taking the same row; on
SQLite the write transaction (``BEGIN IMMEDIATE``) serialises claims. A worker killed between
claim and settle leaves the row to whoever comes after the lease expires: the receiver may
then see the message twice, with the same ``webhook-id``; nothing is lost.

Attempts count at claim time, so a message that crashes its worker still reaches the dead
letters after ``monitoring.delivery_attempts``; failures back off exponentially with jitter.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import random
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, or_, select
from sqlalchemy.orm import Session

from changegate.alerts import targets as targets_mod
from changegate.alerts.formats import cloudevents, slack, standard_webhooks
from changegate.alerts.models import Alert, AlertDelivery
from changegate.db import iso, session_scope, utcnow

if TYPE_CHECKING:
    from changegate.policy.schema import Monitoring

log = logging.getLogger("changegate.alerts.delivery")

BATCH = 10


@dataclass(frozen=True)
class Claimed:
    id: int
    target: str
    webhook_id: str
    attempt: int
    alert: dict[str, Any]


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status: int | None
    error: str
    ms: float


def lease_seconds(target: targets_mod.Target) -> float:
    raw = os.environ.get("CHANGEGATE_ALERT_LEASE_SECONDS")
    return float(raw) if raw else target.timeout_seconds + 10.0


def claim(
    session: Session, *, worker: str, names: list[str], now: dt.datetime, limit: int = BATCH
) -> list[Claimed]:
    """Lease up to ``limit`` due deliveries to the targets ``names`` for ``worker``."""
    rows = session.scalars(
        select(AlertDelivery)
        .where(
            AlertDelivery.state == "pending",
            AlertDelivery.target.in_(names),
            AlertDelivery.next_attempt_at <= now,
            or_(AlertDelivery.claimed_until.is_(None), AlertDelivery.claimed_until < now),
        )
        .order_by(AlertDelivery.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    if not rows:
        return []
    alerts = {
        a.id: a
        for a in session.scalars(select(Alert).where(Alert.id.in_({r.alert_id for r in rows})))
    }
    by_name = targets_mod.by_name()
    out = []
    for row in rows:
        row.claimed_by = worker
        row.claimed_until = now + dt.timedelta(seconds=lease_seconds(by_name[row.target]))
        row.attempts += 1
        state = alerts[row.alert_id].audit_state()
        out.append(Claimed(row.id, row.target, row.webhook_id, row.attempts, state))
    session.flush()
    return out


def payload(target: targets_mod.Target, c: Claimed) -> tuple[bytes, dict[str, str]]:
    """The body and headers of one delivery (the body is the same bytes on every attempt)."""
    public = os.environ.get("CHANGEGATE_PUBLIC_URL", "").rstrip("/")
    link = f"{public}/alerts/{c.alert['id']}" if public else None
    if target.kind == "slack":
        return slack.body(c.alert, link=link), {"content-type": "application/json"}
    if target.kind == "webhook":
        source = public or "urn:changegate"
        body = cloudevents.body(c.alert, event_id=c.webhook_id, source=source)
        ctype = cloudevents.CONTENT_TYPE
    else:
        body = json.dumps(c.alert | {"link": link}, sort_keys=True).encode()
        ctype = "application/json"
    key = target.key() if target.secret else None
    sent = standard_webhooks.headers(key, c.webhook_id, int(time.time()), body)
    return body, sent | {"content-type": ctype}


def send(target: targets_mod.Target, c: Claimed) -> Outcome:
    body, headers = payload(target, c)
    request = urllib.request.Request(target.url, data=body, headers=headers, method="POST")
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=target.timeout_seconds) as resp:
            status = int(resp.status)
        error = ""
    except urllib.error.HTTPError as exc:
        status, error = exc.code, f"HTTP {exc.code}"
    except (OSError, ValueError) as exc:  # refused, timed out, reset, bad URL
        status, error = None, f"{type(exc).__name__}: {exc}"[:500]
    ms = (time.perf_counter() - start) * 1000
    return Outcome(status is not None and 200 <= status < 300, status, error, ms)


def backoff(rule: Monitoring, attempt: int) -> float:
    """Seconds before attempt ``attempt + 1``: exponential, capped, with jitter (0.5-1x)."""
    delay = min(rule.retry_max_seconds, rule.retry_base_seconds * 2 ** max(attempt - 1, 0))
    return float(delay * random.uniform(0.5, 1.0))


def settle(
    session: Session, rule: Monitoring, c: Claimed, out: Outcome, *, worker: str
) -> str | None:
    """Record what one attempt did; None when the lease was lost (another worker has it)."""
    row = session.scalar(select(AlertDelivery).where(AlertDelivery.id == c.id).with_for_update())
    if row is None or row.state != "pending" or row.claimed_by != worker:
        return None
    now = utcnow()
    row.last_status, row.last_error = out.status, out.error
    row.claimed_by, row.claimed_until = None, None
    if out.ok:
        row.state, row.delivered_at = "delivered", now
    elif row.attempts >= rule.delivery_attempts:
        row.state = "dead"
    else:
        row.next_attempt_at = now + dt.timedelta(seconds=backoff(rule, row.attempts))
    return row.state


def run_once(engine: Engine, rule: Monitoring, *, worker: str) -> int:
    """Claim one batch, send it concurrently, settle each; the number of deliveries tried."""
    configured = targets_mod.by_name()
    if not configured:
        return 0
    with session_scope(engine) as s:
        batch = claim(s, worker=worker, names=list(configured), now=utcnow())
    if not batch:
        return 0
    with ThreadPoolExecutor(max_workers=len(batch)) as pool:
        outcomes = list(pool.map(lambda c: send(configured[c.target], c), batch))
    for c, out in zip(batch, outcomes, strict=True):
        with session_scope(engine) as s:
            state = settle(s, rule, c, out, worker=worker)
        _log(c, out, state, worker)
    return len(batch)


def _log(c: Claimed, out: Outcome, state: str | None, worker: str) -> None:
    log.info(
        "alert delivery",
        extra={
            "cg": {
                "kind": "delivery",
                "alert": c.alert["id"],
                "target": c.target,
                "webhook_id": c.webhook_id,
                "attempt": c.attempt,
                "status": out.status,
                "ok": out.ok,
                "state": state or "lease-lost",
                "error": out.error,
                "ms": round(out.ms, 1),
                "worker": worker,
                "at": iso(utcnow()),
            }
        },
    )


def worker_name() -> str:
    import socket

    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident() % 100000}"
