"""The change page and the approve endpoint give one answer (issue 11): the page asks
``reviews.service.approval_refusal``, the endpoint runs ``approve``, which enforces the same
function. Whoever the page offers the Approve button can approve; whoever it refuses is
refused by the API with the very reason the page showed. On both databases."""

from __future__ import annotations

import html
import re

from tests.api.support import Org


def page_answer(org: Org, who: str, key: str) -> str | None:
    """None when the page offers the Approve button, else the reason it shows instead."""
    headers, _ = org.web(who)
    page = org.client.get(f"/changes/{key}", headers=headers)
    assert page.status_code == 200, page.text[:300]
    if 'id="approve-button"' in page.text:
        return None
    found = re.search(r'id="approve-unavailable">(.*?)</p>', page.text, re.S)
    assert found is not None, "neither the button nor a reason"
    reason = html.unescape(found.group(1)).strip()
    assert reason.endswith("."), reason
    return reason[:-1]


def api_answer(org: Org, who: str, key: str) -> tuple[int, str]:
    r = org.client.post(f"/api/changes/{key}/approve", headers=org.bearer(who), json={})
    return r.status_code, r.json().get("message", "")


def agree(org: Org, who: str, key: str) -> str | None:
    shown = page_answer(org, who, key)
    status, message = api_answer(org, who, key)
    if shown is None:
        assert status == 201, (status, message)
    else:
        assert status in (403, 409), (status, message)
        assert message == shown
    return shown


def test_page_and_api_agree_on_who_may_approve(org: Org) -> None:
    alice, bob = org.user("engineer"), org.user("engineer")
    deployer, cto = org.user("deployer"), org.user("cto")
    key = org.change(alice, "submitted")

    assert "may not approve it" in (agree(org, alice, key) or "")  # the author
    assert "review.approve" in (agree(org, deployer, key) or "")  # no reviewing role
    assert "ask for role engineer" in (agree(org, cto, key) or "")  # not the role asked for
    assert agree(org, bob, key) is None  # a peer: offered, and the approval is recorded
    assert "already approved this revision" in (agree(org, bob, key) or "")

    draft = org.change(alice)
    assert "cannot approve" in (agree(org, bob, draft) or "")  # not submitted


def _page_error(org: Org, who: str, query: str, field: str) -> str:
    headers, _ = org.web(who)
    page = org.client.get(f"/audit?{query}", headers=headers)
    assert page.status_code == 400, page.text[:300]
    found = re.search(rf'id="err-{field}"[^>]*>(.*?)<', page.text, re.S)
    assert found is not None, page.text[:2000]
    return html.unescape(found.group(1)).strip()


def test_audit_search_refuses_bad_keys_and_times_alike(org: Org) -> None:
    """The audit search of the page and of the API read the change key (changes.keys) and the
    time bounds (audit.timebounds) with the same functions, so they refuse with one message."""
    auditor = org.user("auditor")
    for query, field in (
        ("change=CHG-x1", "change"),
        ("change=CHG-99999999999", "change"),
        ("since=2026-13-45", "since"),
        ("until=2026-02-30T10:00", "until"),
    ):
        api = org.client.get(f"/api/audit/events?{query}", headers=org.bearer(auditor))
        assert api.status_code in (400, 404), (query, api.status_code, api.text)
        assert api.json()["field"] == field
        assert _page_error(org, auditor, query, field) == api.json()["message"], query
