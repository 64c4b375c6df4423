"""NUL bytes and other text a database cannot store get 400/422 with a message, never a 500
(gate integrity §5).

Found: PostgreSQL refuses NUL in text, so a NUL in a web form or a query parameter reached the
database and came back as HTTP 500 (SQLite stored it). Every case runs on both databases, on the
JSON API and on the web pages.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.api.support import CHANGE_BODY, Org


def _ok_refusal(r: Any, *, api: bool) -> None:
    assert r.status_code in (400, 422), (r.status_code, r.text[:300])
    if api:
        body = r.json()
        assert body["error"] in ("BadRequest", "InvalidInput") and body["message"], body
    else:
        assert "text/html" in r.headers["content-type"]
        assert "NUL" in r.text or "cannot" in r.text or "invalid" in r.text.lower()


API_QUERIES = [
    "/api/changes?state=draft%00",
    "/api/audit/events?actor=alice%00",
    "/api/audit/events?action=%00review.*",
    "/api/tokens?user=a%00b",
    "/api/deployments?env=production%00",
    "/api/changes/CHG-1%00",
    "/api/changes/CHG-1%00/status",
    "/api/changes/by-commit/abc%00def",
]


@pytest.mark.parametrize("url", API_QUERIES)
def test_nul_in_query_parameters_and_paths_is_refused(org: Org, url: str) -> None:
    admin = org.user("admin", "engineer", "auditor")
    r = org.client.get(url, headers=org.bearer(admin))
    _ok_refusal(r, api=True)


@pytest.mark.parametrize(
    "text",
    ["Round tax\u0000 per line", "lone surrogate \ud800 here", "\udfff"],
    ids=["nul", "high-surrogate", "low-surrogate"],
)
def test_unstorable_text_in_json_bodies_is_refused(org: Org, text: str) -> None:
    me = org.user("engineer")
    import json

    raw = json.dumps(CHANGE_BODY | {"title": text}).encode()  # escapes: \u0000, \ud800
    r = org.client.post(
        "/api/changes",
        headers=org.bearer(me) | {"Content-Type": "application/json"},
        content=raw,
    )
    _ok_refusal(r, api=True)
    key = org.change(me)
    r = org.client.patch(
        f"/api/changes/{key}",
        headers=org.bearer(me) | {"Content-Type": "application/json"},
        content=json.dumps({"description": text}).encode(),
    )
    _ok_refusal(r, api=True)
    # an escaped backslash before u0000 is plain text, and a surrogate pair is one character
    fine = CHANGE_BODY | {"title": "a literal \\u0000 and \U0001f600"}
    r = org.client.post("/api/changes", headers=org.bearer(me), json=fine)
    assert r.status_code == 201, r.text


WEB_QUERIES = [
    "/changes?state=draft%00",
    "/audit?actor=al%00ice",
    "/audit?change=CHG-1%00",
    "/changes/CHG-1%00",
    "/login?next=/%00",
]


@pytest.mark.parametrize("url", WEB_QUERIES)
def test_nul_in_web_query_parameters_is_a_400_page(org: Org, url: str) -> None:
    me = org.user("engineer")
    headers, _ = org.web(me)
    r = org.client.get(url, headers=headers)
    _ok_refusal(r, api=False)


def test_nul_in_web_forms_is_a_400_page(org: Org) -> None:
    me = org.user("engineer")
    headers, csrf = org.web(me)
    form = {
        "csrf": csrf,
        "title": "Round tax\x00",
        "change_class": "normal",
        "description": "x",
        "rollback_plan": "y",
    }
    r = org.client.post("/changes/new", headers=headers, data=form)
    _ok_refusal(r, api=False)
    key = org.change(me, "submitted")
    r = org.client.post(
        f"/changes/{key}/reject", headers=headers, data={"csrf": csrf, "comment": "no\x00"}
    )
    _ok_refusal(r, api=False)
    page = org.client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token is not None
    r = org.client.post(
        "/login",
        data={"username": "ali\x00ce", "password": "whatever", "csrf": token.group(1)},
    )
    _ok_refusal(r, api=False)
    org.client.cookies.clear()
