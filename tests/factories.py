"""Plain factory functions for tests: each call is one committed transaction, like a CLI call."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from changegate.changes import service as changes
from changegate.changes.schemas import ChangeCreate
from changegate.db import session_scope
from changegate.policy.loader import LoadedPolicy, load_policy
from changegate.policy.service import ensure_recorded
from changegate.users.service import add_user

T = TypeVar("T")

DEFAULT = load_policy()

JUNIT_PASS = (Path(__file__).parent / "data" / "junit_pass.xml").read_bytes()
JUNIT_FAIL = (Path(__file__).parent / "data" / "junit_fail.xml").read_bytes()

TEAM = {
    "alice": ["engineer"],
    "bob": ["engineer"],
    "erin": ["engineer"],
    "sam": ["security", "engineer"],
    "carol": ["deployer"],
    "dave": ["deployer", "engineer"],
    "artur": ["cto"],
    "ada": ["admin"],
    "audrey": ["auditor"],
    #: the pipelines' service account: test results and validations count when it attaches them
    "ci-bot": ["ci"],
}


def tx(engine: Engine, fn: Callable[[Session], T], policy: LoadedPolicy = DEFAULT) -> T:
    with session_scope(engine) as s:
        ensure_recorded(s, policy)
        return fn(s)


def make_team(engine: Engine, policy: LoadedPolicy = DEFAULT) -> None:
    for name, roles in TEAM.items():
        tx(engine, lambda s, n=name, r=roles: add_user(s, policy.policy, name=n, roles=r), policy)


def risk(availability: str = "low", security: str = "low", data: str = "low") -> dict[str, Any]:
    return {
        "availability": {"level": availability, "note": ""},
        "security": {"level": security, "note": ""},
        "data": {"level": data, "note": ""},
    }


def make_change(engine: Engine, policy: LoadedPolicy = DEFAULT, **overrides: Any) -> str:
    fields: dict[str, Any] = {
        "title": "Round tax per line item",
        "change_class": "normal",
        "author": "alice",
        "description": "Round VAT per line, as finance asked.",
        "components": ["application"],
        "risk": risk(),
        "rollback_plan": "Redeploy the previous version.",
    }
    fields.update(overrides)
    return tx(
        engine,
        lambda s: changes.create_change(s, policy.policy, ChangeCreate(**fields)).key,
        policy,
    )
