"""The delivery worker's loop, as `changegate alerts deliver` and `changegate serve` run it:
deliver what is due, and now and then record the violations that time alone causes (an
emergency review going overdue), which raise their own alerts."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from sqlalchemy import Engine, func, select

from changegate.alerts import delivery
from changegate.alerts.models import AlertDelivery
from changegate.alerts.raising import POLICY_KEY
from changegate.db import session_scope

if TYPE_CHECKING:
    from changegate.policy.schema import Policy

log = logging.getLogger("changegate.alerts.worker")


def sweep(engine: Engine, policy: Policy) -> int:
    from changegate.alerts.service import sweep_overdue

    with session_scope(engine) as s:
        s.info[POLICY_KEY] = policy
        return sweep_overdue(s, policy)


def tick(engine: Engine, policy: Policy, *, worker: str) -> int:
    """One batch of deliveries (the number tried)."""
    return delivery.run_once(engine, policy.monitoring, worker=worker)


def pending_count(engine: Engine) -> int:
    with session_scope(engine, write=False) as s:
        n = s.scalar(
            select(func.count()).select_from(AlertDelivery).where(AlertDelivery.state == "pending")
        )
    return n or 0


def run(
    engine: Engine,
    policy: Policy,
    *,
    worker: str,
    stop: threading.Event,
    idle_seconds: float = 0.2,
    sweep_seconds: float = 60.0,
) -> None:
    """Deliver until ``stop`` is set; a failing database or target is retried, never fatal."""
    swept = time.monotonic()  # the first sweep after sweep_seconds: a start stays light
    while not stop.is_set():
        busy = 0
        try:
            if time.monotonic() - swept >= sweep_seconds:
                swept = time.monotonic()
                sweep(engine, policy)
            busy = tick(engine, policy, worker=worker)
        except Exception:  # the worker outlives a database restart or a bad target
            log.exception("alert delivery worker: batch failed; retrying")
        if not busy:
            stop.wait(idle_seconds)


class Background:
    """The worker as a daemon thread of a server process (started and stopped by its lifespan)."""

    def __init__(self, engine: Engine, policy: Policy) -> None:
        self.stop = threading.Event()
        self.thread = threading.Thread(
            target=run,
            args=(engine, policy),
            kwargs={"worker": delivery.worker_name(), "stop": self.stop},
            name="changegate-alerts",
            daemon=True,
        )

    def start(self) -> Background:
        self.thread.start()
        return self

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=15)


@contextmanager
def running(engine: Engine, policy: Policy) -> Iterator[None]:
    """The worker in the background for as long as the block runs (a server's lifespan);
    ``CHANGEGATE_ALERT_WORKER=0`` turns it off (e.g. for a server that must only serve)."""
    if os.environ.get("CHANGEGATE_ALERT_WORKER", "1") == "0":
        yield
        return
    worker = Background(engine, policy).start()
    try:
        yield
    finally:
        worker.close()
