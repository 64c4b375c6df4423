"""Test support for the server: an app on a real database, users, tokens, sessions, changes.

Every object is made through the services, one committed transaction each, as in production.
"""

from __future__ import annotations

import base64
import datetime as dt
import itertools
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from changegate.api.app import create_app
from changegate.api.settings import ServerSettings
from changegate.auth import service as auth
from changegate.changes import service as changes
from changegate.db import make_engine
from changegate.deployments import service as deployments
from changegate.evidence import service as evidence
from changegate.reviews import service as reviews
from changegate.users import service as users
from tests.factories import DEFAULT, JUNIT_PASS, risk, tx

P = DEFAULT.policy
#: GitHub deliveries are authenticated by this secret's signature (changegate.github)
os.environ.setdefault("CHANGEGATE_GITHUB_WEBHOOK_SECRET", "test-webhook-secret-" + "w" * 24)
SECRET = "test-secret-" + "x" * 40
ROLES = ("engineer", "security", "cto", "deployer", "auditor", "admin")
COOKIE = "__Host-changegate"
JUNIT_B64 = base64.b64encode(JUNIT_PASS).decode()
CHANGE_BODY: dict[str, Any] = {
    "title": "Round tax per line item",
    "change_class": "normal",
    "description": "Round VAT per line, as finance asked.",
    "components": ["application"],
    "risk": risk(),
    "rollback_plan": "Redeploy the previous version.",
}


@contextmanager
def database(backend: str, request: pytest.FixtureRequest, tmp: Path) -> Iterator[str]:
    """A fresh migrated database on the backend (the same templates as tests/conftest.py)."""
    if backend == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        path = tmp / f"{uuid.uuid4().hex[:8]}.db"
        shutil.copy(template, path)
        yield f"sqlite:///{path}"
        return
    server = request.getfixturevalue("pg_server")
    name = f"a_{uuid.uuid4().hex[:12]}"
    admin = make_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name} TEMPLATE cg_template"))
    try:
        yield server.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def settings(db_url: str, **overrides: Any) -> ServerSettings:
    return ServerSettings(db=db_url, secret_key=SECRET, **overrides)


@dataclass
class Org:
    """A running app plus helpers that make users, credentials and changes in given states."""

    app: FastAPI
    engine: Engine
    client: TestClient
    seq: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def name(self, prefix: str = "u") -> str:
        return f"{prefix}{next(self.seq)}"

    def user(self, *roles: str, name: str | None = None) -> str:
        name = name or self.name()
        tx(self.engine, lambda s: users.add_user(s, P, name=name, roles=list(roles)))
        return name

    def set_roles(self, name: str, *roles: str) -> None:
        tx(
            self.engine,
            lambda s: users.set_roles(
                s, P, users.get_user(s, name), roles=list(roles), actor="system"
            ),
        )

    def pending_grant(self, name: str) -> int:
        """A grant of a gate role ``name`` lacks, by a fresh administrator, waiting for a
        second one; returns the grant's id."""
        admin = self.user("admin")

        def grant(s: Any) -> int:
            user = users.get_user(s, name)
            role = sorted(users.gate_roles(P) - set(user.roles))[0]
            wanted = sorted({*user.roles, role})
            users.set_roles(s, P, user, roles=wanted, actor=admin)
            return users.pending_grants(s, user=name)[-1].id

        return tx(self.engine, grant)

    def token(self, name: str, expires: str = "90d") -> str:
        return tx(
            self.engine, lambda s: auth.create_token(s, user=name, actor="system", expires=expires)
        )[1]

    def bearer(self, name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(name)}"}

    def web(self, name: str) -> tuple[dict[str, str], str]:
        """Headers carrying a fresh session cookie for ``name``, and the session's CSRF token."""

        def open_(s: Any) -> tuple[str, str]:
            web, raw = auth.open_session(
                s, users.get_user(s, name), address="testclient", ttl=dt.timedelta(hours=1)
            )
            return raw, web.csrf_token

        raw, csrf = tx(self.engine, open_)
        return {"Cookie": f"{COOKIE}={raw}"}, csrf

    def change(self, author: str, state: str = "draft", **overrides: Any) -> str:
        """A change by ``author`` in ``state``: draft, submitted, ready (approved with evidence),
        deployed, or emergency (an emergency change deployed by bypass)."""
        from changegate.changes.schemas import ChangeCreate

        fields = {**CHANGE_BODY, "author": author, **overrides}
        if state == "emergency":
            fields |= {"change_class": "emergency", "justification": "checkout is down"}
        key = tx(self.engine, lambda s: changes.create_change(s, P, ChangeCreate(**fields)).key)
        if state == "draft":
            return key
        tx(
            self.engine,
            lambda s: changes.submit_change(s, P, changes.get_change(s, key), actor=author),
        )
        if state == "submitted":
            return key
        if state == "emergency":
            self.deploy(key)
            return key
        reviewer, _ = self.helpers()
        ci = self.ci()
        tx(self.engine, lambda s: reviews.approve(s, P, changes.get_change(s, key), actor=reviewer))
        tx(
            self.engine,
            lambda s: evidence.add_junit(
                s,
                P,
                changes.get_change(s, key),
                content=JUNIT_PASS,
                filename="j.xml",
                actor=ci,
            ),
        )
        tx(
            self.engine,
            lambda s: evidence.add_validation(
                s, P, changes.get_change(s, key), name="staging", result="pass", actor=ci
            ),
        )
        if state == "ready":
            return key
        assert state == "deployed", state
        self.deploy(key)
        return key

    def deploy(self, key: str) -> None:
        _, deployer = self.helpers()
        result = tx(
            self.engine,
            lambda s: deployments.deploy(
                s,
                P,
                changes.get_change(s, key, lock=True),
                env="production",
                version="v1",
                actor=deployer,
            ),
        )
        assert result.deployment is not None, [r.reason for r in result.gate.unmet]

    _helpers: tuple[str, str] | None = None
    _ci: str | None = None

    def ci(self) -> str:
        """The pipelines' service account (role ci): test results and validations count when
        it attaches them."""
        if self._ci is None:
            self._ci = self.user("ci", name="ci-bot")
        return self._ci

    def helpers(self) -> tuple[str, str]:
        """A reviewer (engineer) and a deployer shared by the setups."""
        if self._helpers is None:
            self._helpers = (self.user("engineer", name="rev"), self.user("deployer", name="dep"))
        return self._helpers


@contextmanager
def running_org(db_url: str, **overrides: Any) -> Iterator[Org]:
    engine = make_engine(db_url)
    app = create_app(settings(db_url, **overrides), engine=engine)
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as client:
        yield Org(app, engine, client)
    engine.dispose()


def post_approval(base: str, key: str, token: str) -> int:
    """``POST /api/changes/{key}/approve`` over HTTP to a served app (:func:`serving`) with
    ``token``: its status."""
    import httpx

    r = httpx.post(
        f"{base}/api/changes/{key}/approve",
        json={"comment": "ok"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=120,
    )
    return r.status_code


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """The app behind uvicorn on a free 127.0.0.1 port, in a thread; yields its base URL."""
    import socket
    import threading
    import time

    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the test server did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
