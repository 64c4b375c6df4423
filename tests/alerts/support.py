"""Raising a real alert for tests: a gate refused for a fresh draft change."""

from __future__ import annotations

from sqlalchemy import Engine

from changegate.alerts import service
from changegate.changes.service import get_change
from changegate.deployments.service import gate
from tests.factories import DEFAULT, make_change, tx


def make_alert(engine: Engine, author: str = "alice", deployer: str = "carol") -> int:
    """The id of a new open `gate-refused` alert (the gate refused a draft change)."""
    key = make_change(engine, author=author)
    tx(
        engine,
        lambda s: gate(s, DEFAULT.policy, get_change(s, key), env="production", deployer=deployer),
    )
    return tx(engine, lambda s: service.list_alerts(s, limit=1)[0][0].id)
