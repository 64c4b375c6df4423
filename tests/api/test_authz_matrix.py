"""Authorization matrix: every route × every role × (own object, someone else's object).

The routes come from the app itself: a route without an entry here fails
``test_every_route_has_a_matrix_entry``, so a new endpoint cannot ship unreviewed. Each case
gets fresh users and a fresh object in the state the route needs, made through the services.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.routing import Mount, Route

from changegate.ai.providers import add_provider
from tests.access import support as access_reviews
from tests.ai.flow import bodies as ai_bodies
from tests.alerts import support as alert_support
from tests.api.support import CHANGE_BODY, JUNIT_B64, ROLES, Org
from tests.factories import DEFAULT, tx
from tests.findings import support as finding_bodies

Expect = dict[str, tuple[int, int]]  # role -> (status on own object, on someone else's)
Vars = dict[str, Any]


def every(own: int, other: int | None = None, **roles: tuple[int, int]) -> Expect:
    base = {r: (own, own if other is None else other) for r in ROLES}
    return base | roles


def only(allowed: set[str], ok: int, denied: int = 403) -> Expect:
    return {r: (ok, ok) if r in allowed else (denied, denied) for r in ROLES}


def owner_or(allowed: set[str], ok: int, denied: int = 403, own_ok: int | None = None) -> Expect:
    """The object's owner may; of the others, only ``allowed`` roles."""
    own = ok if own_ok is None else own_ok
    return {r: (own, ok if r in allowed else denied) for r in ROLES}


def never_own(allowed: set[str], ok: int) -> Expect:
    """Never on your own object (segregation of duties); on others', only ``allowed`` roles."""
    return {r: (403, ok if r in allowed else 403) for r in ROLES}


@dataclass(frozen=True)
class Entry:
    expect: Expect
    anon: int
    #: none | draft | linked (a draft listing a commit of its own) | ready-linked (a ready change
    #: listing one) | submitted | ready | deployed | emergency | user | token | provider
    setup: str = "none"
    body: Callable[[Vars], dict[str, Any]] | None = None
    url: str | None = None  # the URL to request, when it differs from the route's path
    web: bool = False  # session cookie and CSRF instead of a bearer token


REVIEWERS = {"engineer", "security", "cto"}
VERIFIERS = {"auditor", "admin", "security", "cto"}
AUTHORS = set(ROLES) - {"auditor"}
PROVIDER_MANAGERS = {"cto", "security", "admin"}  # ai.provider.manage
HOLDERS = {"admin", "security", "cto"}  # retention.hold
ALERT_READERS = set(ROLES)  # alerts.read
ALERT_MANAGERS = {"security", "cto", "admin", "deployer"}  # alerts.manage
ACCESS_READERS = {"auditor", "admin", "security", "cto"}  # access.read
ACCESS_MANAGERS = {"admin", "security", "cto"}  # access.manage, access_review.reviewer_roles
ACCESS = "/api/access/reviews/{review_id}"
FINDING_READERS = set(ROLES)  # findings.read
FINDING_IMPORTERS = {"security", "engineer", "ci", "admin"}  # findings.import


def change_form(v: Vars) -> dict[str, Any]:
    return {
        "csrf": v["csrf"],
        "title": "Rotate the TLS certificate",
        "change_class": "normal",
        "description": "Yearly rotation.",
        "components": ["application"],
        "risk_availability": "low",
        "risk_security": "low",
        "risk_data": "low",
        "rollback_plan": "Put the old certificate back.",
        "action": "save",
    }


#: `change from-git` against a server: a range the client read, of one application file
FROM_GIT = {
    "range": {
        "git_range": "main..feature",
        "base": "1" * 40,
        "head": "2" * 40,
        "files": [{"status": "M", "path": "src/app.py"}],
        "commit_paths": [],
        "commits": ["2" * 40],
        "identities": [["2" * 40, "Alice", "alice@example.com", "Alice", "alice@example.com"]],
    },
    "title": "Round tax",
    "description": "Round half up.",
    "rollback_plan": "Redeploy the previous release.",
}

PUBLIC = every(200)
MATRIX: dict[tuple[str, str], Entry] = {
    # --- access reviews (§7): access.read / access.manage; items are decided by
    # access_review.reviewer_roles, never about one's own access ("own": the item is about the
    # caller); sign-off by access_review.signoff_roles. One campaign per database
    # (tests/access/support.py), first, while the database is small ---
    ("GET", "/api/access/reviews"): Entry(only(ACCESS_READERS, 200), 401),
    ("POST", "/api/access/reviews"): Entry(
        only(ACCESS_MANAGERS, 201), 401, body=lambda v: {"name": "Q4"}
    ),
    ("GET", ACCESS): Entry(only(ACCESS_READERS, 200), 401, "access"),
    ("GET", ACCESS + "/export"): Entry(only(ACCESS_READERS, 200), 401, "access"),
    ("POST", ACCESS + "/items/{item_id}/decision"): Entry(
        never_own(ACCESS_MANAGERS, 200), 401, "access", body=lambda v: {"decision": "revoke"}
    ),
    ("POST", ACCESS + "/items/{item_id}/apply"): Entry(
        only(ACCESS_MANAGERS, 200), 401, "access-modify", body=lambda v: {"reference": "T-1"}
    ),
    # sign-off roles reach the check: the campaign still has undecided items
    ("POST", ACCESS + "/close"): Entry(
        only({"cto", "security"}, 409), 401, "access", body=lambda v: {}
    ),
    ("GET", "/api/access/overdue"): Entry(only(ACCESS_READERS, 200), 401),
    ("GET", "/access"): Entry(only(ACCESS_READERS, 200), 303, web=True),
    ("GET", "/access/{review_id}"): Entry(only(ACCESS_READERS, 200), 303, "access", web=True),
    ("POST", "/access/{review_id}/items/{item_id}"): Entry(
        never_own(ACCESS_MANAGERS, 303),
        303,
        "access",
        web=True,
        body=lambda v: {"csrf": v["csrf"], "decision": "revoke"},
    ),
    # --- JSON API ---
    ("GET", "/api/changes"): Entry(every(200), 401),
    ("POST", "/api/changes"): Entry(only(AUTHORS, 201), 401, body=lambda v: CHANGE_BODY),
    ("POST", "/api/git/changes"): Entry(only(AUTHORS, 201), 401, body=lambda v: FROM_GIT),
    ("GET", "/api/changes/{key}"): Entry(every(200), 401, "draft"),
    ("GET", "/api/changes/by-commit/{sha}"): Entry(every(200), 401, "linked"),
    ("PATCH", "/api/changes/{key}"): Entry(
        owner_or({"admin"}, 200), 401, "draft", body=lambda v: {"title": "Round tax per invoice"}
    ),
    ("POST", "/api/changes/{key}/submit"): Entry(owner_or({"admin"}, 200), 401, "draft"),
    ("POST", "/api/changes/{key}/close"): Entry(
        owner_or({"deployer", "admin"}, 200), 401, "deployed"
    ),
    ("GET", "/api/changes/{key}/status"): Entry(every(200), 401, "draft"),
    ("POST", "/api/changes/{key}/approve"): Entry(
        never_own({"engineer"}, 201), 401, "submitted", body=lambda v: {"comment": "ok"}
    ),
    ("POST", "/api/changes/{key}/reject"): Entry(
        never_own(REVIEWERS, 201), 401, "submitted", body=lambda v: {"comment": "no tests"}
    ),
    ("POST", "/api/changes/{key}/evidence/junit"): Entry(
        only(AUTHORS, 201),
        401,
        "submitted",
        body=lambda v: {"filename": "junit.xml", "content_base64": JUNIT_B64},
    ),
    ("POST", "/api/changes/{key}/evidence/validation"): Entry(
        only(AUTHORS, 201), 401, "submitted", body=lambda v: {"name": "staging", "result": "pass"}
    ),
    ("POST", "/api/changes/{key}/evidence/document"): Entry(
        only(AUTHORS, 201),
        401,
        "submitted",
        body=lambda v: {
            "filename": "design.md",
            "kind": "design",
            "content_base64": "IyBkZXNpZ24K",
        },
    ),
    ("POST", "/api/changes/{key}/gate"): Entry(
        only({"deployer"}, 200), 401, "ready", body=lambda v: {"env": "production"}
    ),
    ("POST", "/api/changes/{key}/deploy"): Entry(
        only({"deployer"}, 201), 401, "ready", body=lambda v: {"env": "production", "version": "v2"}
    ),
    ("POST", "/api/changes/by-commit/{sha}/gate"): Entry(
        only({"deployer"}, 200), 401, "ready-linked", body=lambda v: {"env": "production"}
    ),
    ("POST", "/api/changes/by-commit/{sha}/deploy"): Entry(
        only({"deployer"}, 201),
        401,
        "ready-linked",
        body=lambda v: {"env": "production", "version": "v2"},
    ),
    ("POST", "/api/changes/{key}/rollback"): Entry(
        only({"deployer"}, 201),
        401,
        "deployed",
        body=lambda v: {"env": "production", "to": "v0", "reason": "errors"},
    ),
    ("POST", "/api/changes/{key}/emergency-review"): Entry(
        never_own(REVIEWERS, 201),
        401,
        "emergency",
        body=lambda v: {"root_cause": "bad config", "actions": "reverted", "preventive": "lint"},
    ),
    ("GET", "/api/deployments"): Entry(every(200), 401),
    ("GET", "/api/overdue"): Entry(every(200), 401),
    ("GET", "/api/audit/events"): Entry(every(200), 401),
    ("GET", "/api/audit/verify"): Entry(only(VERIFIERS, 200), 401),
    ("POST", "/api/audit/commit-lookup"): Entry(every(200), 401, body=lambda v: {"shas": []}),
    ("GET", "/api/audit/export"): Entry(only(VERIFIERS, 200), 401),
    # the latest signed checkpoint is public (none signed in this setup: 404 for everyone)
    ("GET", "/api/audit/checkpoint"): Entry(every(404), 404),
    # a checkpoint signed by the caller: verifiers reach the check (this one is no signed note)
    ("POST", "/api/audit/checkpoint"): Entry(
        only(VERIFIERS, 400), 401, body=lambda v: {"note": "x", "vkey": "y"}
    ),
    ("GET", "/api/audit/proof/inclusion"): Entry(
        every(200), 401, url="/api/audit/proof/inclusion?seq=1"
    ),
    ("GET", "/api/audit/proof/consistency"): Entry(
        every(200), 401, url="/api/audit/proof/consistency?old=1"
    ),
    # --- retention (§6, §10.3): retention.hold / retention.read / retention.purge ---
    ("POST", "/api/changes/{key}/hold"): Entry(
        only(HOLDERS, 201), 401, "draft", body=lambda v: {"reason": "litigation 2027-14"}
    ),
    # permitted roles reach the check: a draft is not on hold
    ("POST", "/api/changes/{key}/release"): Entry(
        only(HOLDERS, 409), 401, "draft", body=lambda v: {"reason": "closed"}
    ),
    ("GET", "/api/audit/retention"): Entry(only(VERIFIERS, 200), 401),
    # the test server has no signing key: a verifier is told so (409), others are refused
    ("GET", "/api/audit/package"): Entry(
        only(VERIFIERS, 409), 401, url="/api/audit/package?from=2026-01-01&to=2026-01-02"
    ),
    ("POST", "/api/audit/purge"): Entry(only({"admin"}, 200), 401, body=lambda v: {}),
    # --- alerts and investigations (§8): alerts.read / alerts.manage ---
    ("GET", "/api/alerts"): Entry(only(ALERT_READERS, 200), 401),
    ("GET", "/api/alerts/overdue"): Entry(only(ALERT_READERS, 200), 401),
    ("GET", "/api/alerts/{alert_id}"): Entry(only(ALERT_READERS, 200), 401, "alert"),
    ("POST", "/api/alerts/{alert_id}/ack"): Entry(
        only(ALERT_MANAGERS, 200), 401, "alert", body=lambda v: {}
    ),
    ("POST", "/api/alerts/{alert_id}/resolve"): Entry(
        only(ALERT_MANAGERS, 200), 401, "alert", body=lambda v: {"notes": "false alarm"}
    ),
    ("GET", "/alerts"): Entry(only(ALERT_READERS, 200), 303, web=True),
    ("POST", "/alerts/{alert_id}/ack"): Entry(
        only(ALERT_MANAGERS, 303), 303, "alert", web=True, body=lambda v: {"csrf": v["csrf"]}
    ),
    ("POST", "/alerts/{alert_id}/resolve"): Entry(
        only(ALERT_MANAGERS, 303),
        303,
        "alert",
        web=True,
        body=lambda v: {"csrf": v["csrf"], "notes": "false alarm"},
    ),
    ("GET", "/api/policy"): Entry(every(200), 401),
    ("POST", "/api/policy/check"): Entry(every(200), 401, body=lambda v: {"text": "x: 1"}),
    # --- findings (§6): findings.read / findings.import; a risk is accepted by findings.accept
    # roles, never by the finding's owner (who imported it) ---
    ("GET", "/api/findings"): Entry(only(FINDING_READERS, 200), 401),
    ("GET", "/api/findings/overdue"): Entry(only(FINDING_READERS, 200), 401),
    ("GET", "/api/findings/{finding}"): Entry(only(FINDING_READERS, 200), 401, "finding"),
    ("POST", "/api/findings/import"): Entry(
        only(FINDING_IMPORTERS, 201), 401, body=lambda v: finding_bodies.trivy_import()
    ),
    ("POST", "/api/findings/{finding}/accept"): Entry(
        never_own({"security", "cto"}, 201), 401, "finding", body=lambda v: finding_bodies.accept()
    ),
    ("GET", "/findings"): Entry(only(FINDING_READERS, 200), 303, web=True),
    ("GET", "/findings/{finding}"): Entry(only(FINDING_READERS, 200), 303, "finding", web=True),
    # §9: only policy_review.reviewer_roles record a review; policy.read reads when it is due
    ("POST", "/api/policy/review"): Entry(
        only({"cto", "security"}, 201), 401, body=lambda v: {"notes": "annual review"}
    ),
    ("GET", "/api/policy/status"): Entry(every(200), 401),
    ("GET", "/api/dora"): Entry(every(200), 401),
    ("GET", "/api/obligations"): Entry(every(200), 401),
    # --- AI governance (§10.2): evidence by evidence.add, the assessment by the security role,
    # the provider register by ai.provider.manage ---
    ("POST", "/api/changes/{key}/ai/preflight"): Entry(
        only(AUTHORS, 200), 401, "submitted", body=lambda v: {}
    ),
    ("POST", "/api/changes/{key}/ai/regress"): Entry(
        only(AUTHORS, 201), 401, "submitted", body=lambda v: ai_bodies.regress()
    ),
    ("POST", "/api/changes/{key}/ai/isolation"): Entry(
        only(AUTHORS, 201), 401, "submitted", body=lambda v: ai_bodies.isolation()
    ),
    ("POST", "/api/changes/{key}/ai/injection"): Entry(
        only(AUTHORS, 201), 401, "submitted", body=lambda v: ai_bodies.injection()
    ),
    ("POST", "/api/changes/{key}/ai/import"): Entry(
        only(AUTHORS, 201), 401, "submitted", body=lambda v: ai_bodies.imported()
    ),
    ("POST", "/api/changes/{key}/ai/assess"): Entry(
        only({"security"}, 201), 401, "submitted", body=lambda v: ai_bodies.assessment()
    ),
    ("GET", "/api/ai/providers"): Entry(every(200), 401),
    ("POST", "/api/ai/providers"): Entry(
        only(PROVIDER_MANAGERS, 201), 401, body=lambda v: {"name": v["fresh"]}
    ),
    ("POST", "/api/ai/providers/{name}/dpa"): Entry(
        only(PROVIDER_MANAGERS, 200), 401, "provider", body=lambda v: {"status": "pending"}
    ),
    ("GET", "/api/me"): Entry(every(200), 401),
    ("GET", "/api/users"): Entry(every(200), 401),
    ("POST", "/api/users"): Entry(
        only({"admin"}, 201), 401, body=lambda v: {"name": v["fresh"], "roles": ["engineer"]}
    ),
    ("PUT", "/api/users/{name}/roles"): Entry(
        only({"admin"}, 200), 401, "user", body=lambda v: {"roles": v["roles"]}
    ),
    ("PUT", "/api/users/{name}/password"): Entry(
        owner_or({"admin"}, 200), 401, "user", body=lambda v: {"password": "a long passphrase"}
    ),
    ("GET", "/api/users/grants"): Entry(every(200), 401),
    # own: a grant to the caller (nobody confirms grants to themselves)
    ("POST", "/api/users/grants/{grant_id}/confirm"): Entry(
        never_own({"admin"}, 200), 401, "grant"
    ),
    ("GET", "/api/tokens"): Entry(
        owner_or({"admin"}, 200), 401, "user", url="/api/tokens?user={name}"
    ),
    ("POST", "/api/tokens"): Entry(
        owner_or({"admin"}, 201), 401, "user", body=lambda v: {"user": v["name"]}
    ),
    ("DELETE", "/api/tokens/{token_id}"): Entry(owner_or({"admin"}, 200, denied=404), 401, "token"),
    # --- public ---
    ("GET", "/healthz"): Entry(PUBLIC, 200),
    ("GET", "/metrics"): Entry(PUBLIC, 200),
    ("GET", "/openapi.json"): Entry(PUBLIC, 200),
    ("GET", "/docs"): Entry(PUBLIC, 200),
    ("GET", "/docs/oauth2-redirect"): Entry(PUBLIC, 200),
    ("MOUNT", "/static"): Entry(PUBLIC, 200, url="/static/style.css"),
    ("MOUNT", "/docs/assets"): Entry(PUBLIC, 200, url="/docs/assets/swagger-ui-bundle.js"),
    # GitHub deliveries: the webhook signature is the only credential; tokens do not count
    ("POST", "/webhooks/github"): Entry(every(401), 401, body=lambda v: {"zen": "hi"}),
    # --- web UI (session cookie; a missing session redirects to the login page) ---
    ("GET", "/login"): Entry(every(200), 200, web=True),
    ("POST", "/login"): Entry(
        every(400), 400, web=True, body=lambda v: {"username": "x", "password": "y"}
    ),
    ("POST", "/logout"): Entry(every(303), 303, web=True, body=lambda v: {"csrf": v["csrf"]}),
    ("GET", "/"): Entry(every(200), 303, web=True),
    ("GET", "/changes"): Entry(every(200), 303, web=True),
    ("GET", "/changes/new"): Entry(only(AUTHORS, 200), 303, web=True),
    ("POST", "/changes/new"): Entry(only(AUTHORS, 303), 303, web=True, body=change_form),
    ("GET", "/changes/{key}"): Entry(every(200), 303, "draft", web=True),
    ("GET", "/changes/{key}/edit"): Entry(owner_or({"admin"}, 200), 303, "draft", web=True),
    ("POST", "/changes/{key}/edit"): Entry(
        owner_or({"admin"}, 303), 303, "draft", web=True, body=change_form
    ),
    ("POST", "/changes/{key}/submit"): Entry(
        owner_or({"admin"}, 303), 303, "draft", web=True, body=lambda v: {"csrf": v["csrf"]}
    ),
    ("POST", "/changes/{key}/approve"): Entry(
        never_own({"engineer"}, 303),
        303,
        "submitted",
        web=True,
        body=lambda v: {"csrf": v["csrf"], "comment": "ok"},
    ),
    ("POST", "/changes/{key}/reject"): Entry(
        never_own(REVIEWERS, 303),
        303,
        "submitted",
        web=True,
        body=lambda v: {"csrf": v["csrf"], "comment": "needs tests"},
    ),
    ("POST", "/changes/{key}/ai/assess"): Entry(
        only({"security"}, 303),
        303,
        "submitted",
        web=True,
        body=lambda v: {"csrf": v["csrf"], **ai_bodies.assessment()["ratings"]},
    ),
    ("GET", "/ai/providers"): Entry(every(200), 303, web=True),
    ("POST", "/ai/providers"): Entry(
        only(PROVIDER_MANAGERS, 303),
        303,
        web=True,
        body=lambda v: {"csrf": v["csrf"], "name": v["fresh"]},
    ),
    ("POST", "/ai/providers/dpa"): Entry(
        only(PROVIDER_MANAGERS, 303),
        303,
        "provider",
        web=True,
        body=lambda v: {"csrf": v["csrf"], "provider": v["name"], "status": "pending"},
    ),
    ("GET", "/policy"): Entry(every(200), 303, web=True),
    ("GET", "/audit"): Entry(every(200), 303, web=True),
    ("GET", "/dora"): Entry(every(200), 303, web=True),
    # the auditor's area; the matrix's server has no signing key, so a package is a 409
    ("GET", "/auditor"): Entry(only(VERIFIERS, 200), 303, web=True),
    ("POST", "/auditor/package"): Entry(
        only(VERIFIERS, 409),
        303,
        web=True,
        body=lambda v: {"csrf": v["csrf"], "from": "2026-01-01", "to": "2026-01-02"},
    ),
    ("GET", "/dora/chart/{name}.svg"): Entry(
        every(200), 303, url="/dora/chart/deployments.svg", web=True
    ),
    ("GET", "/audit/verify"): Entry(only(VERIFIERS, 200), 303, web=True),
    ("GET", "/password"): Entry(every(200), 303, web=True),
    ("POST", "/password"): Entry(
        every(303),
        303,
        web=True,
        body=lambda v: {
            "csrf": v["csrf"],
            "password": "a long passphrase",
            "confirm": "a long passphrase",
        },
    ),
}


def app_routes(org: Org) -> set[tuple[str, str]]:
    """(method, path) of every route the app serves, included routers flattened."""
    found: set[tuple[str, str]] = set()
    for context in iter_route_contexts(org.app.routes):
        route = context.original_route
        if isinstance(route, Mount):
            found.add(("MOUNT", route.path))
        elif isinstance(route, APIRoute | Route):
            for method in context.methods or ():
                if method != "HEAD":  # as documented: {finding:finding_id} is {finding}
                    found.add((method, re.sub(r"\{(\w+):\w+\}", r"{\1}", str(context.path))))
        else:  # pragma: no cover - a kind of route this test does not know how to check
            found.add(("UNKNOWN", repr(route)))
    return found


def test_every_route_has_a_matrix_entry(org: Org) -> None:
    routes = app_routes(org)
    missing = sorted(routes - MATRIX.keys())
    assert not missing, f"routes without an authorization matrix entry: {missing}"
    stale = sorted(MATRIX.keys() - routes)
    assert not stale, f"matrix entries for routes that no longer exist: {stale}"


@dataclass
class Case:
    route: tuple[str, str]
    role: str  # a policy role, or "anonymous"
    own: bool
    id: str = field(init=False)

    def __post_init__(self) -> None:
        who = (
            "anonymous"
            if self.role == "anonymous"
            else f"{self.role}-{'own' if self.own else 'other'}"
        )
        self.id = f"{self.route[0]} {self.route[1]} {who}"


CASES = [
    Case(route, role, own)
    for route in MATRIX
    for role in (*ROLES, "anonymous")
    for own in ((True, False) if role != "anonymous" else (False,))
]


def arrange(org: Org, entry: Entry, case: Case) -> tuple[str | None, Vars]:
    """Users and the target object; returns the caller's name and the URL/body variables."""
    if case.role == "anonymous":
        me, owner = None, org.user("engineer")
    elif case.own:
        me = owner = org.user("engineer")
    else:
        me, owner = org.user(case.role), org.user("engineer")
    v: Vars = {"name": owner, "fresh": org.name("new"), "roles": ["engineer"]}
    if entry.setup in ("draft", "submitted", "ready", "deployed", "emergency"):
        v["key"] = org.change(owner, entry.setup)
    elif entry.setup in ("linked", "ready-linked"):
        v["sha"] = uuid.uuid4().hex + uuid.uuid4().hex[:8]  # a full 40-hex SHA
        state = "ready" if entry.setup == "ready-linked" else "draft"
        v["key"] = org.change(owner, state, commits=[v["sha"]])
    elif entry.setup == "provider":  # an LLM provider named like the owner
        tx(org.engine, lambda s: add_provider(s, DEFAULT.policy, name=owner, actor=None))
    elif entry.setup == "finding":  # a finding the owner imported (an engineer may)
        v["finding"] = finding_bodies.make_finding(org.engine, owner)
    elif entry.setup == "alert":  # an open alert: a gate refused for the owner's draft
        v["alert_id"] = alert_support.make_alert(org.engine, author=owner, deployer=owner)
    elif entry.setup == "token":
        org.token(owner)
        v["token_id"] = org.client.get("/api/tokens", headers=org.bearer(owner)).json()[0]["id"]
    if case.own and me is not None:
        org.set_roles(me, case.role)
        v["roles"] = [case.role]
    if entry.setup == "grant":  # after the roles above, which would supersede it
        v["grant_id"] = org.pending_grant(owner)
    if entry.setup.startswith("access"):  # an open campaign; "own": an item about the caller
        role = None if case.role == "anonymous" else case.role
        me, found = access_reviews.matrix_case(org.engine, entry.setup, role, case.own, me)
        v |= found
    return me, v


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_route_role_ownership(org: Org, case: Case) -> None:
    entry = MATRIX[case.route]
    method, path = case.route
    me, v = arrange(org, entry, case)
    headers: dict[str, str] = {}
    v["csrf"] = ""
    if me is not None:
        if entry.web:
            headers, v["csrf"] = org.web(me)
        else:
            headers = org.bearer(me)
    url = (entry.url or path).format(**v)
    body = entry.body(v) if entry.body else None
    kwargs: dict[str, Any] = {"headers": headers}
    if body is not None:
        kwargs["data" if entry.web else "json"] = body
    response = org.client.request("GET" if method == "MOUNT" else method, url, **kwargs)
    org.client.cookies.clear()  # a response may open a session (POST /password): not for later
    own, other = entry.expect.get(case.role, (entry.anon, entry.anon))
    expected = entry.anon if me is None else (own if case.own else other)
    assert response.status_code == expected, f"{case.id}: {response.text[:500]}"
    if url.startswith("/api/") and response.status_code >= 400:
        assert set(response.json()) >= {"error", "message", "field"}
    if entry.web and expected == 303 and me is None:
        assert response.headers["location"].startswith("/login")
