"""The web UI's pages through the app (no browser): what each shows, who sees what, errors."""

from __future__ import annotations

import html
import re

from tests.api.support import Org


def text(page: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def test_change_page_checklist_is_what_status_says(org: Org) -> None:
    alice, bob = org.user("engineer"), org.user("engineer")
    key = org.change(alice, "submitted", security_flag=True)
    status = org.client.get(f"/api/changes/{key}/status", headers=org.bearer(bob)).json()
    headers, _ = org.web(bob)
    page = org.client.get(f"/changes/{key}", headers=headers)
    assert page.status_code == 200
    shown = text(page.text)
    position = 0
    for r in status["requirements"]:
        for part in (r["description"], r["reason"], f"§{r['section']} {r['rule']}"):
            found = shown.find(part, position)
            assert found >= 0, part
        position = shown.find(r["reason"], position)
    assert f"{len(status['unmet'])} unmet of {len(status['requirements'])}" in shown
    assert 'data-gate="closed"' in page.text
    assert 'id="approve-button"' in page.text  # bob may approve


def test_dashboard_lists_what_awaits_my_review(org: Org) -> None:
    alice, bob, carol = org.user("engineer"), org.user("engineer"), org.user("deployer")
    key = org.change(alice, "submitted")
    pages = {}
    for who in (alice, bob, carol):
        headers, _ = org.web(who)
        page = org.client.get("/", headers=headers)
        assert page.status_code == 200
        section = page.text.split('id="awaiting-review"', 1)[1].split("</section>", 1)[0]
        pages[who] = section
    assert f"/changes/{key}" in pages[bob]
    assert f"/changes/{key}" not in pages[alice]  # the author
    assert f"/changes/{key}" not in pages[carol]  # no reviewing role


def test_pages_need_a_session_and_keep_the_target(org: Org) -> None:
    r = org.client.get("/changes/CHG-1?done=approved")
    assert r.status_code == 303
    assert r.headers["location"] == "/login?next=/changes/CHG-1%3Fdone%3Dapproved"
    login = org.client.get("/login?next=//evil.example/x")
    assert 'name="next" value="/"' in login.text  # only local targets


def test_security_headers(org: Org) -> None:
    headers, _ = org.web(org.user("engineer"))
    page = org.client.get("/", headers=headers)
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["cache-control"] == "no-store"
    assert "content-security-policy" not in org.client.get("/docs").headers


def test_audit_search_and_verify(org: Org) -> None:
    auditor, alice = org.user("auditor"), org.user("engineer")
    key = org.change(alice, "submitted")
    headers, _ = org.web(auditor)
    page = org.client.get(f"/audit?change={key}&action=change.submitted", headers=headers)
    assert page.status_code == 200
    rows = page.text.split('id="results"', 1)[1]
    assert rows.count("<code>change.submitted</code>") == 1
    assert "change.created" not in rows.split("</table>")[0]
    bad = org.client.get("/audit?since=yesterday", headers=headers)
    assert bad.status_code == 400 and "is not a date or time" in bad.text
    fragment = org.client.get("/audit/verify", headers=headers | {"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert "Audit record intact" in fragment.text
    full = org.client.get("/audit/verify", headers=headers)
    assert "<html" in full.text and "Audit record intact" in full.text


def test_policy_page(org: Org) -> None:
    headers, _ = org.web(org.user("auditor"))
    page = text(org.client.get("/policy", headers=headers).text)
    for expected in ("Change Management Policy", "v1.2", "Artur Ventura", "system-prompt-change"):
        assert expected in page


def test_a_refused_form_comes_back_with_input_and_errors(org: Org) -> None:
    alice = org.user("engineer")
    headers, csrf = org.web(alice)
    form = {
        "csrf": csrf,
        "title": "Rotate <the> TLS certificate",
        "change_class": "normal",
        "description": "Yearly rotation.",
        "commits": "zzz",
        "action": "submit",
    }
    r = org.client.post("/changes/new", headers=headers, data=form)
    assert r.status_code == 400
    assert 'value="Rotate &lt;the&gt; TLS certificate"' in r.text
    assert 'id="err-commits"' in r.text and "is not a full commit SHA" in r.text
    r = org.client.post(
        "/changes/new",
        headers=headers,
        data=form | {"commits": "3f2a9c1d5e7b4a6c8d0e2f4a6b8c0d2e4f6a8b0c"},
    )
    assert r.status_code == 400
    for field in ("risk", "rollback_plan"):
        assert f'id="err-{field}"' in r.text
    # nothing was written by either attempt
    mine = org.client.get("/api/changes", headers=org.bearer(alice)).json()
    assert not [c for c in mine if c["author"] == alice]


def test_submitting_an_incomplete_draft_shows_what_is_missing(org: Org) -> None:
    alice = org.user("engineer")
    key = org.change(alice, rollback_plan="")
    headers, csrf = org.web(alice)
    r = org.client.post(f"/changes/{key}/submit", headers=headers, data={"csrf": csrf})
    assert r.status_code == 400 and 'id="err-rollback_plan"' in r.text
    state = org.client.get(f"/api/changes/{key}", headers=org.bearer(alice)).json()["state"]
    assert state == "draft"


def test_api_docs_load_swagger_ui_from_the_package_not_a_cdn(org: Org) -> None:
    """/docs must work offline: every script and style it names is served by this app."""
    page = org.client.get("/docs")
    assert page.status_code == 200
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert assets and all(a.startswith("/docs/assets/") for a in assets), assets
    for asset in assets:
        got = org.client.get(asset)
        assert got.status_code == 200 and len(got.content) > 100, asset
    assert "swagger-ui" in org.client.get("/docs/assets/swagger-ui-bundle.js").text[:5000].lower()
