"""Authentication and abuse: tokens refused for every reason, refusals and denials in the audit
log, mass assignment, acting as someone else, oversized bodies, login throttling, the secret."""

from __future__ import annotations

import datetime as dt
import os
import re
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from changegate.alerts.models import Alert
from changegate.api.app import create_app
from changegate.api.settings import ServerSettings, check_secret, resolve_secret
from changegate.audit.service import search
from changegate.audit.verify import verify
from changegate.auth.models import ApiToken
from changegate.db import session_scope
from changegate.errors import InvalidInput
from tests.api.support import CHANGE_BODY, Org, running_org
from tests.factories import tx


def events(org: Org, action: str) -> list[dict[str, Any]]:
    with session_scope(org.engine, write=False) as s:
        return [e.event for e in search(s, action=action, limit=1000)]


def test_missing_malformed_unknown_expired_and_revoked_tokens_are_refused(
    org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    me = org.user("engineer")
    good = org.token(me)
    assert org.client.get("/api/me", headers={"Authorization": f"Bearer {good}"}).status_code == 200
    public_id = good.split("_")[1]
    refused = {
        "missing": {},
        "not bearer": {"Authorization": f"Basic {good}"},
        "malformed": {"Authorization": "Bearer not-a-token"},
        "truncated": {"Authorization": f"Bearer {good[:-2]}"},
        "unknown": {"Authorization": f"Bearer cg_{'0' * 16}_{'A' * 43}"},
        "wrong secret": {"Authorization": f"Bearer cg_{public_id}_{'B' * 43}"},
    }
    for why, headers in refused.items():
        r = org.client.get("/api/changes", headers=headers)
        assert r.status_code == 401, why
        assert r.json()["error"] == "Unauthenticated" and r.json()["field"] == "Authorization"
        assert r.headers["www-authenticate"].startswith("Bearer")

    expired = org.token(me, expires="1h")
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)
    monkeypatch.setattr("changegate.auth.service.utcnow", lambda: later)
    r = org.client.get("/api/changes", headers={"Authorization": f"Bearer {expired}"})
    assert r.status_code == 401 and "expired" in r.json()["message"]
    monkeypatch.undo()

    revoked = org.token(me)
    mine = org.client.get("/api/tokens", headers={"Authorization": f"Bearer {revoked}"}).json()
    token_id = next(t["id"] for t in mine if revoked.split("_")[1] == t["public_id"])
    r = org.client.delete(f"/api/tokens/{token_id}", headers={"Authorization": f"Bearer {revoked}"})
    assert r.status_code == 200 and r.json()["status"] == "revoked"
    r = org.client.get("/api/changes", headers={"Authorization": f"Bearer {revoked}"})
    assert r.status_code == 401 and "revoked" in r.json()["message"]

    failures = [e for e in events(org, "auth.failed") if e["extra"]["user"] == me]
    reasons = " ".join(e["extra"]["reason"] for e in failures)
    assert "expired" in reasons and "revoked" in reasons
    assert all(e["actor"] == "anonymous" and e["extra"]["via"] == "token" for e in failures)


def test_tokens_are_stored_hashed_and_listed_without_secrets(org: Org) -> None:
    admin = org.user("admin")
    r = org.client.post(
        "/api/tokens",
        headers=org.bearer(admin),
        json={"user": admin, "expires": "2w", "label": "ci"},
    )
    assert r.status_code == 201
    raw = r.json()["token"]
    assert re.fullmatch(r"cg_[0-9a-f]{16}_[A-Za-z0-9_-]{43}", raw)
    listed = org.client.get(f"/api/tokens?user={admin}", headers=org.bearer(admin)).json()
    assert all("token" not in t for t in listed)
    with session_scope(org.engine, write=False) as s:
        stored = s.query(ApiToken).filter(ApiToken.public_id == raw.split("_")[1]).one()
        assert raw.split("_", 2)[2] not in stored.secret_sha256
        assert len(stored.secret_sha256) == 64
    bad = org.client.post("/api/tokens", headers=org.bearer(admin), json={"expires": "soon"})
    assert bad.status_code == 400 and bad.json()["field"] == "expires"


def test_denied_actions_are_audit_events(org: Org) -> None:
    author, auditor = org.user("engineer"), org.user("auditor")
    key = org.change(author, "submitted")
    r = org.client.post(f"/api/changes/{key}/approve", headers=org.bearer(author), json={})
    assert r.status_code == 403 and "may not approve" in r.json()["message"]
    r = org.client.post("/api/changes", headers=org.bearer(auditor), json=CHANGE_BODY)
    assert r.status_code == 403
    admin = org.user("admin")
    r = org.client.put(
        f"/api/users/{admin}/roles", headers=org.bearer(admin), json={"roles": ["admin", "cto"]}
    )
    assert r.status_code == 403 and "nobody grants roles to themselves" in r.json()["message"]
    denied = [e for e in events(org, "access.denied") if e["actor"] in (author, auditor, admin)]
    assert {(e["actor"], e["extra"]["path"]) for e in denied} >= {
        (author, f"/api/changes/{key}/approve"),
        (auditor, "/api/changes"),
        (admin, f"/api/users/{admin}/roles"),
    }
    # segregation-of-duties refusals are marked as such (and alert as sod-refusal), whatever
    # their wording; a missing role is not one
    sod = {e["actor"]: e["extra"].get("sod", False) for e in denied}
    assert sod == {author: True, auditor: False, admin: True}
    with session_scope(org.engine, write=False) as s:
        raised = {(a.kind, a.actor) for a in s.scalars(select(Alert))}
    assert {("sod-refusal", author), ("sod-refusal", admin)} <= raised
    assert ("sod-refusal", auditor) not in raised
    # nothing of the refused actions was written, and the record still verifies
    with session_scope(org.engine, write=False) as s:
        assert verify(s).ok


def test_the_actor_is_always_the_authenticated_user(org: Org) -> None:
    alice, bob, dep = org.user("engineer"), org.user("engineer"), org.user("deployer")
    key = org.change(alice, "submitted")
    cases = [
        ("post", "/api/changes", CHANGE_BODY | {"author": bob}, alice, "author"),
        ("post", f"/api/changes/{key}/approve", {"by": alice}, bob, "by"),
        (
            "post",
            f"/api/changes/{key}/gate",
            {"env": "production", "deployer": "dep"},
            dep,
            "deployer",
        ),
        (
            "post",
            f"/api/changes/{key}/deploy",
            {"env": "production", "version": "1", "by": "dep"},
            dep,
            "by",
        ),
    ]
    for method, url, body, caller, field in cases:
        r = org.client.request(method.upper(), url, headers=org.bearer(caller), json=body)
        assert r.status_code == 403, (url, r.text)
        assert r.json()["field"] == field
    ok = org.client.post(f"/api/changes/{key}/approve", headers=org.bearer(bob), json={"by": bob})
    assert ok.status_code == 201 and ok.json()["reviewer"] == bob


@pytest.mark.parametrize(
    "extra",
    [
        {"state": "approved"},
        {"id": "CHG-999"},
        {"revision": 7},
        {"created_at": "2020-01-01T00:00:00Z"},
        {"submitted_at": "2020-01-01T00:00:00Z"},
        {"reviewer": "someone"},
    ],
)
def test_mass_assignment_is_refused(org: Org, extra: dict[str, Any]) -> None:
    me = org.user("engineer")
    r = org.client.post("/api/changes", headers=org.bearer(me), json=CHANGE_BODY | extra)
    assert r.status_code == 422
    assert r.json()["error"] == "InvalidInput" and r.json()["field"] == next(iter(extra))
    key = org.change(me)
    r = org.client.patch(f"/api/changes/{key}", headers=org.bearer(me), json=extra)
    assert r.status_code == 422
    r = org.client.post(f"/api/changes/{key}/submit", headers=org.bearer(me), json=extra)
    assert r.status_code == 422


def test_oversized_bodies_are_refused(org: Org) -> None:
    me = org.user("engineer")
    big = b'{"title": "' + b"x" * (1024 * 1024 + 10) + b'"}'
    r = org.client.post(
        "/api/changes",
        headers=org.bearer(me) | {"Content-Type": "application/json"},
        content=big,
    )
    assert r.status_code == 413 and r.json()["error"] == "PayloadTooLarge"

    def chunks() -> Any:
        for _ in range(40):
            yield b"y" * 32768

    r = org.client.post(
        "/api/changes",
        headers=org.bearer(me) | {"Content-Type": "application/json"},
        content=chunks(),
    )
    assert r.status_code == 413 and r.json()["field"] in ("body", None)
    # evidence uploads have their own, larger limit
    key = org.change(me, "submitted")
    doc = {"filename": "big.txt", "kind": "design", "content_base64": "QUFB" * 400_000}
    r = org.client.post(f"/api/changes/{key}/evidence/document", headers=org.bearer(me), json=doc)
    assert r.status_code == 201, r.text


def _login(
    org: Org, user: str, password: str, address_headers: dict[str, str] | None = None
) -> Any:
    page = org.client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf is not None
    return org.client.post(
        "/login",
        data={"username": user, "password": password, "csrf": csrf.group(1), "next": "/changes"},
        headers=address_headers or {},
    )


def test_login_logout_and_failed_logins_are_recorded(org: Org) -> None:
    me = org.user("engineer")
    org.client.put(
        f"/api/users/{me}/password",
        headers=org.bearer(me),
        json={"password": "correct horse battery"},
    )
    bad = _login(org, me, "wrong password!")
    assert bad.status_code == 401 and "Wrong user name or password" in bad.text
    ghost = _login(org, "nobody-" + me, "whatever")
    assert ghost.status_code == 401
    good = _login(org, me, "correct horse battery")
    assert good.status_code == 303 and good.headers["location"] == "/changes"
    cookie = good.headers["set-cookie"]
    assert "__Host-changegate=" in cookie and "HttpOnly" in cookie and "Secure" in cookie
    assert "samesite=lax" in cookie.lower()
    page = org.client.get("/")
    assert page.status_code == 200 and me in page.text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf is not None
    assert org.client.post("/logout", data={"csrf": "forged"}).status_code == 403
    out = org.client.post("/logout", data={"csrf": csrf.group(1)})
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert org.client.get("/").status_code == 303  # the session is over
    failed = [e["extra"] for e in events(org, "auth.failed") if e["extra"]["via"] == "password"]
    assert {"user": me, "reason": "wrong password"}.items() <= next(
        f for f in failed if f["user"] == me
    ).items()
    assert any(f["reason"] == "unknown user" for f in failed)
    actions = {e["action"] for e in events(org, "auth.*") if e["actor"] == me}
    assert {"auth.login", "auth.logout"} <= actions
    org.client.cookies.clear()


def test_logins_are_rate_limited_per_user_and_per_address(org: Org) -> None:
    me = org.user("engineer")
    tx(
        org.engine,
        lambda s: __import__("changegate.auth.service", fromlist=["x"]).set_password(
            s, user=me, password="correct horse battery", actor="system"
        ),
    )
    limits = org.app.state.cg.limits
    for _ in range(limits.per_user):
        assert _login(org, me, "guess").status_code == 401
    throttled = _login(org, me, "correct horse battery")
    assert throttled.status_code == 429 and "too many failed logins" in throttled.text
    assert int(throttled.headers["retry-after"]) > 0
    org.client.cookies.clear()


def test_logins_are_rate_limited_per_address(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    from tests.api.support import database

    with (
        database("sqlite", request, tmp_path) as url,
        running_org(url, login_failures_per_address=3, trust_proxy=True) as org,
    ):
        users = [org.user("engineer") for _ in range(4)]
        here = {"X-Forwarded-For": "203.0.113.7"}
        for u in users[:3]:
            assert _login(org, u, "guess", here).status_code == 401
        assert _login(org, users[3], "guess", here).status_code == 429
        assert (
            _login(org, users[3], "guess", {"X-Forwarded-For": "198.51.100.1"}).status_code == 401
        )


def test_forms_refuse_missing_stale_or_cross_site_csrf(org: Org) -> None:
    me = org.user("engineer")
    headers, csrf = org.web(me)
    key = org.change(me)
    url = f"/changes/{key}/submit"
    assert org.client.post(url, headers=headers, data={}).status_code == 403
    assert org.client.post(url, headers=headers, data={"csrf": "x" * 43}).status_code == 403
    evil = headers | {"Origin": "https://evil.example"}
    assert org.client.post(url, headers=evil, data={"csrf": csrf}).status_code == 403
    ok = org.client.post(
        url, headers=headers | {"Origin": "https://testserver"}, data={"csrf": csrf}
    )
    assert ok.status_code == 303
    denied = [e for e in events(org, "access.denied") if e["actor"] == me]
    assert len(denied) == 3 and all(e["extra"]["field"] == "csrf" for e in denied)


def test_every_credential_row_is_covered_by_audit_verify(org: Org) -> None:
    me = org.user("engineer")
    org.token(me)
    org.web(me)
    with session_scope(org.engine, write=False) as s:
        report = verify(s)
    assert report.ok, report.problems
    where = ApiToken.user_name == me
    with session_scope(org.engine) as s:  # swap a token hash behind the log's back
        original = s.query(ApiToken.secret_sha256).filter(where).scalar()
        s.execute(update(ApiToken).where(where).values(secret_sha256="0" * 64))
    with session_scope(org.engine, write=False) as s:
        report = verify(s)
    assert not report.ok and any("api_token" in p for p in report.problems)
    with session_scope(org.engine) as s:  # leave the shared database verifiable for later tests
        s.execute(update(ApiToken).where(where).values(secret_sha256=original))


def test_weak_secrets_are_refused(tmp_path: Path) -> None:
    for weak in ("", "changeme", "secret", "short-but-random-x"):
        with pytest.raises(InvalidInput):
            check_secret(weak)
    with pytest.raises(InvalidInput):
        create_app(ServerSettings(db=f"sqlite:///{tmp_path / 'x.db'}", secret_key="changeme"))
    settings = ServerSettings(data_dir=tmp_path / "data")
    secret, source = resolve_secret(settings)
    assert len(secret) >= 48 and source.endswith("secret_key")
    assert stat.S_IMODE(os.stat(source).st_mode) == 0o600
    assert resolve_secret(settings) == (secret, source)  # kept, not regenerated


def test_serve_refuses_a_default_secret(tmp_path: Path) -> None:
    env = dict(
        os.environ, CHANGEGATE_SECRET_KEY="changeme", CHANGEGATE_DB=f"sqlite:///{tmp_path}/s.db"
    )
    env.pop("CHANGEGATE_URL", None)
    r = subprocess.run(
        [sys.executable, "-m", "changegate", "serve", "--port", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2 and "CHANGEGATE_SECRET_KEY" in r.stderr


def test_healthz_and_metrics(org: Org) -> None:
    health = org.client.get("/healthz").json()
    assert health["status"] == "ok" and health["policy"].endswith("v1.2")
    me, dep = org.user("engineer"), org.user("deployer")
    key = org.change(me, "ready")
    org.client.post(f"/api/changes/{key}/gate", headers=org.bearer(dep), json={"env": "staging"})
    org.client.post(
        f"/api/changes/{key}/deploy",
        headers=org.bearer(dep),
        json={"env": "production", "version": "v9"},
    )
    org.client.post(
        f"/api/changes/{key}/rollback",
        headers=org.bearer(dep),
        json={"env": "production", "to": "v8", "reason": "errors"},
    )
    text = org.client.get("/metrics").text
    for line in (
        'changegate_changes{state="rolled_back"}',
        'changegate_gate_decisions_total{result="open"}',
        'changegate_deployments_total{environment="production"}',
        'changegate_rollbacks_total{environment="production"}',
        "changegate_audit_events_total",
    ):
        assert line in text, line
    value = re.search(r'changegate_rollbacks_total\{environment="production"\} (\S+)', text)
    assert value is not None and float(value.group(1)) >= 1
