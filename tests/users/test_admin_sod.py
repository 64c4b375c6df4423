"""Segregation of duties that holds for administrators (gate integrity §5), on both databases.

Found: an admin granted themselves `engineer`, created a second account with `deployer`,
approved a high-risk change with the first and deployed it with the second; an admin set
another user's password and logged in as them. All audited, nothing prevented. Each test plays
the attack through the real API and web UI and asserts the refusal.
"""

from __future__ import annotations

import re
from typing import Any

from changegate.audit.service import search
from changegate.audit.verify import verify
from changegate.auth import service as auth
from changegate.db import session_scope
from tests.api.support import Org, P
from tests.factories import risk, tx

PASSWORD = "correct horse battery staple"


def _events(org: Org, action: str) -> list[dict[str, Any]]:
    with session_scope(org.engine, write=False) as s:
        return [e.event for e in search(s, action=action, limit=1000)]


def _roles(org: Org, name: str, headers: dict[str, str]) -> dict[str, Any]:
    users = org.client.get("/api/users", headers=headers).json()
    return next(u for u in users if u["name"] == name)


def _login(org: Org, user: str, password: str) -> Any:
    org.client.cookies.clear()
    page = org.client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf is not None
    return org.client.post(
        "/login",
        data={"username": user, "password": password, "csrf": csrf.group(1), "next": "/changes"},
    )


def _session_headers(response: Any) -> dict[str, str]:
    cookie = response.headers["set-cookie"].split(";")[0]
    return {"Cookie": cookie}


def test_an_admin_cannot_grant_roles_to_themselves(org: Org) -> None:
    admin = org.user("admin")
    as_admin = org.bearer(admin)
    r = org.client.put(
        f"/api/users/{admin}/roles", headers=as_admin, json={"roles": ["admin", "engineer"]}
    )
    assert r.status_code == 403 and "themselves" in r.json()["message"], r.text
    # a role that cannot decide the gate is refused to oneself too: nobody grants themselves
    r = org.client.put(
        f"/api/users/{admin}/roles", headers=as_admin, json={"roles": ["admin", "auditor"]}
    )
    assert r.status_code == 403
    assert _roles(org, admin, as_admin)["roles"] == ["admin"]
    # dropping one's own roles is fine
    other = org.user("admin", "auditor")
    r = org.client.put(
        f"/api/users/{other}/roles", headers=org.bearer(other), json={"roles": ["admin"]}
    )
    assert r.status_code == 200 and r.json()["roles"] == ["admin"]


def test_a_second_account_with_a_gate_role_waits_for_another_admin(org: Org) -> None:
    """The whole attack: A makes a second account holding deployer, approves and deploys."""
    a, b = org.user("admin"), org.user("admin")
    author = org.user("engineer")
    as_a = org.bearer(a)
    r = org.client.post(
        "/api/users", headers=as_a, json={"name": org.name("alt"), "roles": ["deployer"]}
    )
    assert r.status_code == 201, r.text
    alt = r.json()["name"]
    assert r.json()["roles"] == [] and r.json()["pending_roles"] == ["deployer"]
    # roles that cannot decide the gate are granted at once, gate roles wait
    r = org.client.post(
        "/api/users", headers=as_a, json={"name": org.name("aud"), "roles": ["auditor", "engineer"]}
    )
    assert r.json()["roles"] == ["auditor"] and r.json()["pending_roles"] == ["engineer"]
    # nor can the request name the other administrator as the one granting
    r = org.client.post(
        "/api/users", headers=as_a, json={"name": org.name("x"), "roles": ["cto"], "by": b}
    )
    assert r.status_code == 403 and r.json()["field"] == "by"

    high = {"risk": risk(availability="high")}
    key = org.change(author, "submitted", **high)
    # A cannot approve (no reviewer role, cannot give themselves one), the alt cannot deploy
    r = org.client.post(f"/api/changes/{key}/approve", headers=as_a, json={})
    assert r.status_code == 403
    as_alt = org.bearer(alt)
    r = org.client.post(
        f"/api/changes/{key}/deploy", headers=as_alt, json={"env": "production", "version": "v9"}
    )
    assert r.status_code == 403, r.text
    assert not [e for e in _events(org, "deployment.*") if e["actor"] == alt]

    grants = org.client.get("/api/users/grants?pending=true", headers=as_a).json()
    grant = next(g for g in grants if g["user"] == alt)
    assert grant["requested_by"] == a and grant["state"] == "pending"
    r = org.client.post(f"/api/users/grants/{grant['id']}/confirm", headers=as_a)
    assert r.status_code == 403 and "second administrator" in r.json()["message"]
    nonadmin = org.user("engineer")
    r = org.client.post(f"/api/users/grants/{grant['id']}/confirm", headers=org.bearer(nonadmin))
    assert r.status_code == 403
    assert _roles(org, alt, as_a)["roles"] == []

    r = org.client.post(f"/api/users/grants/{grant['id']}/confirm", headers=org.bearer(b))
    assert r.status_code == 200 and r.json()["state"] == "confirmed" and r.json()["decided_by"] == b
    assert _roles(org, alt, as_a)["roles"] == ["deployer"]
    r = org.client.post(f"/api/users/grants/{grant['id']}/confirm", headers=org.bearer(b))
    assert r.status_code == 409
    requested = [e for e in _events(org, "user.grant_*") if e["after"]["id"] == grant["id"]]
    assert [e["action"] for e in requested] == ["user.grant_requested", "user.grant_confirmed"]
    with session_scope(org.engine, write=False) as s:
        assert verify(s).ok


def test_an_admin_cannot_confirm_a_grant_to_themselves(org: Org) -> None:
    a, b = org.user("admin"), org.user("admin")
    r = org.client.put(
        f"/api/users/{a}/roles", headers=org.bearer(b), json={"roles": ["admin", "engineer"]}
    )
    assert r.status_code == 200 and r.json()["pending_roles"] == ["engineer"]
    grant = next(
        g
        for g in org.client.get("/api/users/grants?pending=true", headers=org.bearer(a)).json()
        if g["user"] == a
    )
    r = org.client.post(f"/api/users/grants/{grant['id']}/confirm", headers=org.bearer(a))
    assert r.status_code == 403 and "themselves" in r.json()["message"]
    # the grant is superseded when the roles are set again before anyone confirmed it
    r = org.client.put(f"/api/users/{a}/roles", headers=org.bearer(b), json={"roles": ["admin"]})
    assert r.status_code == 200 and r.json()["pending_roles"] == []
    c = org.user("admin")
    r = org.client.post(f"/api/users/grants/{grant['id']}/confirm", headers=org.bearer(c))
    assert r.status_code == 409 and "superseded" in r.json()["message"]


def test_the_local_operator_grants_directly_and_the_policy_can_turn_it_off(org: Org) -> None:
    from changegate.policy.loader import default_policy_text, parse_policy
    from changegate.users import service as users

    # the database's operator (the local CLI without --by) is not an administrator account
    name = org.user("deployer")
    assert _roles(org, name, org.bearer(name))["roles"] == ["deployer"]
    text = default_policy_text().replace(
        "role_grants_need_second_admin: true", "role_grants_need_second_admin: false"
    )
    relaxed = parse_policy(text, "relaxed.yaml").policy
    assert relaxed.segregation_of_duties.role_grants_need_second_admin is False
    admin, other = org.user("admin"), org.user("auditor")

    def grant(s: Any) -> list[str]:
        user = users.set_roles(
            s, relaxed, users.get_user(s, other), roles=["auditor", "deployer"], actor=admin
        )
        return list(user.roles)

    assert tx(org.engine, grant) == ["auditor", "deployer"]

    def self_grant(s: Any) -> None:
        users.set_roles(s, relaxed, users.get_user(s, admin), roles=["admin", "cto"], actor=admin)

    import pytest

    from changegate.errors import PolicyDenied

    with pytest.raises(PolicyDenied, match="themselves"):
        tx(org.engine, self_grant)


def test_an_admin_set_password_is_one_time_and_opens_nothing_else(org: Org) -> None:
    admin, victim, author = org.user("admin"), org.user("engineer"), org.user("engineer")
    tx(
        org.engine,
        lambda s: auth.set_password(s, user=victim, password=PASSWORD, actor=victim),
    )
    before = _login(org, victim, PASSWORD)
    assert before.status_code == 303 and before.headers["location"] == "/changes"
    victim_session = _session_headers(before)
    victim_token = org.bearer(victim)
    key = org.change(author, "submitted")

    chosen = "the admin's chosen one"
    r = org.client.put(
        f"/api/users/{victim}/password", headers=org.bearer(admin), json={"password": chosen}
    )
    assert r.status_code == 200 and r.json()["must_change"] is True
    # the victim's open session ended with the password change
    org.client.cookies.clear()
    assert org.client.get("/changes", headers=victim_session).status_code == 303
    assert (
        org.client.get("/changes", headers=victim_session).headers["location"].startswith("/login")
    )

    # the admin logs in as the victim: only the change-password step opens
    r = _login(org, victim, chosen)
    assert r.status_code == 303 and r.headers["location"].startswith("/password")
    hijacked = _session_headers(r)
    org.client.cookies.clear()
    for url in ("/", "/changes", f"/changes/{key}", "/audit"):
        page = org.client.get(url, headers=hijacked)
        assert page.status_code == 303 and page.headers["location"].startswith("/password"), url
    form = org.client.get("/password", headers=hijacked)
    assert form.status_code == 200 and "administrator set your password" in form.text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert csrf is not None
    r = org.client.post(
        f"/changes/{key}/approve",
        headers=hijacked,
        data={"csrf": csrf.group(1), "comment": "lgtm"},
    )
    assert r.status_code == 303 and r.headers["location"].startswith("/password")
    assert not [e for e in _events(org, "review.*") if e["actor"] == victim]
    # the API refuses the victim's token too, until the password is replaced
    r = org.client.get("/api/changes", headers=victim_token)
    assert r.status_code == 403 and r.json()["field"] == "password"
    r = org.client.post(f"/api/changes/{key}/approve", headers=victim_token, json={})
    assert r.status_code == 403
    # the status read (served from its own cache path) refuses it as well
    r = org.client.get(f"/api/changes/{key}/status", headers=victim_token)
    assert r.status_code == 403 and r.json()["field"] == "password"
    assert org.client.get("/api/me", headers=victim_token).status_code == 200

    # the current password is checked on the web too (a wrong one is a recorded failed login)
    wrong = {"csrf": csrf.group(1), "current": "not it", "password": "x" * 14, "confirm": "x" * 14}
    r = org.client.post("/password", headers=hijacked, data=wrong)
    assert r.status_code == 400 and "current password" in r.text
    # replacing it (as the user does at first login) ends that session and opens a new one
    r = org.client.post(
        "/password",
        headers=hijacked,
        data={
            "csrf": csrf.group(1),
            "current": chosen,
            "password": PASSWORD + "!",
            "confirm": PASSWORD + "!",
            "next": "/changes",
        },
    )
    assert r.status_code == 303 and r.headers["location"] == "/changes", r.text[:300]
    fresh = _session_headers(r)
    org.client.cookies.clear()
    assert org.client.get("/changes", headers=hijacked).headers["location"].startswith("/login")
    assert org.client.get("/changes", headers=fresh).status_code == 200
    assert org.client.get("/api/changes", headers=victim_token).status_code == 200
    ended = [e for e in _events(org, "auth.session_ended") if e["after"]["user"] == victim]
    assert len(ended) >= 2
    org.client.cookies.clear()
    with session_scope(org.engine, write=False) as s:
        assert verify(s).ok


def test_a_token_cannot_change_its_owners_password_without_the_current_one(org: Org) -> None:
    me = org.user("engineer")
    token = org.bearer(me)
    url = f"/api/users/{me}/password"
    # no password yet: the first one needs no current password
    r = org.client.put(url, headers=token, json={"password": PASSWORD})
    assert r.status_code == 200 and r.json()["must_change"] is False
    r = org.client.put(url, headers=token, json={"password": "stolen token's choice"})
    assert r.status_code == 403 and r.json()["field"] == "current_password"
    r = org.client.put(
        url,
        headers=token,
        json={"password": "stolen token's choice", "current_password": "a wrong guess"},
    )
    assert r.status_code == 403
    assert _login(org, me, PASSWORD).status_code == 303  # unchanged
    failed = [
        e["extra"]
        for e in _events(org, "auth.failed")
        if e["extra"]["user"] == me and e["extra"]["via"] == "password-change"
    ]
    assert [f["reason"] for f in failed] == ["wrong current password"] * 2
    r = org.client.put(
        url, headers=token, json={"password": PASSWORD + "2", "current_password": PASSWORD}
    )
    assert r.status_code == 200
    assert _login(org, me, PASSWORD + "2").status_code == 303
    org.client.cookies.clear()
    # guessing the current password through a token is throttled like guessing at the login
    limit = org.app.state.cg.limits.per_user
    codes = [
        org.client.put(
            url, headers=token, json={"password": "guess guess guess", "current_password": f"g{i}"}
        ).status_code
        for i in range(limit + 1)
    ]
    assert codes.count(403) == limit and codes[-1] == 429, codes  # a login cleared the count


def test_grant_rules_are_policy() -> None:
    from changegate.users.service import gate_roles

    sod = P.segregation_of_duties
    assert sod.role_grants_need_second_admin is True
    roles = gate_roles(P)
    for action in ("review.approve", "deploy", "rollback", "emergency.review", "user.manage"):
        assert set(P.permissions[action]) <= roles
    assert "auditor" not in roles


def test_the_cli_applies_the_same_rules_to_an_administrator_named_with_by(db_url: str) -> None:
    from tests.cli_runner import cli

    assert cli(db_url, "init").code == 0
    # the database's operator (no --by) grants directly: that is how a team is set up
    for name in ("root", "root2"):
        assert cli(db_url, "user", "add", name, "--role", "admin").code == 0
    r = cli(db_url, "user", "add", "alt", "--role", "deployer", "--by", "root", "--json")
    assert r.code == 0, r.stderr
    assert r.json()["roles"] == [] and r.json()["pending_roles"] == ["deployer"]
    r = cli(
        db_url, "user", "set-roles", "root", "--role", "admin", "--role", "engineer", "--by", "root"
    )
    assert r.code == 1 and "themselves" in r.stderr
    grants = cli(db_url, "user", "grants", "--pending", "--json").json()
    assert [(g["user"], g["roles"], g["requested_by"]) for g in grants] == [
        ("alt", ["deployer"], "root")
    ]
    gid = str(grants[0]["id"])
    r = cli(db_url, "user", "confirm-grant", gid, "--by", "root")
    assert r.code == 1 and "second administrator" in r.stderr
    r = cli(db_url, "user", "confirm-grant", gid, "--by", "alt")
    assert r.code == 1
    r = cli(db_url, "user", "confirm-grant", gid, "--by", "root2", "--json")
    assert r.code == 0 and r.json()["state"] == "confirmed"
    users = {u["name"]: u for u in cli(db_url, "user", "list", "--json").json()}
    assert users["alt"]["roles"] == ["deployer"]
    r = cli(db_url, "user", "set-password", "alt", "--by", "root", "--json", input=PASSWORD + "\n")
    assert r.code == 0 and r.json()["must_change"] is True
    r = cli(db_url, "user", "set-password", "alt", "--json", input=PASSWORD + "\n")
    assert r.code == 0 and r.json()["must_change"] is False  # the operator's is not one-time
    new = "a brand new passphrase"
    r = cli(db_url, "user", "set-password", "alt", "--current", input=f"wrong\n{new}\n")
    assert r.code == 1 and "current password" in r.stderr
    r = cli(db_url, "user", "set-password", "alt", "--current", input=f"{PASSWORD}\n{new}\n")
    assert r.code == 0, r.stderr
    assert cli(db_url, "audit", "verify").code == 0
