"""The review flow in a real browser (Debian's Chromium driven by Playwright), against the
server on a real socket: an engineer creates and submits a change, CI attaches evidence, a
reviewer finds it under "awaiting my review" and approves, and the gate opens; the author
cannot approve their own change. Screenshots of each step go to the pytest temp dir."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest

from tests.browser.support import Site, login, person, shot
from tests.factories import JUNIT_PASS

pytestmark = pytest.mark.browser


def test_create_submit_review_approve_and_the_gate_opens(browser: Any, site: Site) -> None:
    base = site.base
    # the engineer creates a change and submits it
    alice = login(browser, site, "alice")
    shot(alice, site, "01-alice-dashboard")
    alice.click("text=New change")
    alice.fill("#title", "Round VAT per line item")
    alice.select_option("#change_class", "normal")
    alice.fill("#description", "Finance asked for per-line rounding.")
    alice.check("input[name=components][value=application]")
    for dim in ("availability", "security", "data"):
        alice.select_option(f"#risk_{dim}", "low")
    alice.fill("#rollback_plan", "Redeploy the previous release.")
    shot(alice, site, "02-alice-new-change")
    alice.click("button[value=submit]")
    alice.wait_for_selector(".badge.state-submitted")
    key = alice.url.rsplit("/", 1)[-1].split("?")[0]
    assert key.startswith("CHG-")
    assert "Submitted for review." in alice.inner_text("main")
    shot(alice, site, "03-alice-submitted")

    # the author cannot approve: no button, and the endpoint refuses
    assert alice.locator("#approve-button").count() == 0
    assert "alice authored" in alice.inner_text("#review")
    assert "may not approve it" in alice.inner_text("#review")
    csrf = alice.locator("input[name=csrf]").first.get_attribute("value")
    refused = alice.request.post(
        f"{base}/changes/{key}/approve",
        form={"csrf": csrf, "comment": "self-approval"},
        headers={"Origin": base},
        max_redirects=0,
    )
    assert refused.status == 403
    assert "may not approve" in refused.text()

    # CI attaches the evidence the policy asks for
    ci = {"Authorization": f"Bearer {site.ci_token}"}
    junit = {"filename": "junit.xml", "content_base64": base64.b64encode(JUNIT_PASS).decode()}
    staging = {"name": "staging", "result": "pass", "details": "smoke tests green"}
    with httpx.Client(base_url=base, headers=ci) as client:
        assert client.post(f"/api/changes/{key}/evidence/junit", json=junit).status_code == 201
        assert (
            client.post(f"/api/changes/{key}/evidence/validation", json=staging).status_code == 201
        )
    alice.reload()
    assert alice.get_attribute("#gate", "data-gate") == "closed"
    assert "approval by role engineer: missing" in alice.inner_text("#requirements")

    # the reviewer sees it waiting and approves
    bob = login(browser, site, "bob")
    awaiting = bob.locator("#awaiting-review")
    assert key in awaiting.inner_text()
    shot(bob, site, "04-bob-awaiting-review")
    awaiting.locator(f"a[href='/changes/{key}']").click()
    bob.wait_for_selector("#approve-button")
    bob.fill("#approve-comment", "Looks right; tests and staging are green.")
    shot(bob, site, "05-bob-change-before-approval")
    bob.click("#approve-button")
    bob.wait_for_selector(".badge.state-approved")
    assert bob.get_attribute("#gate", "data-gate") == "open"
    assert "Gate open" in bob.inner_text("#gate")
    assert "approval by role engineer: bob" in bob.inner_text("#requirements")
    assert "review.approved" in bob.inner_text("#timeline")
    shot(bob, site, "06-bob-gate-open")
    bob.goto(f"{base}/")
    assert key not in bob.inner_text("#awaiting-review")

    # the same page at phone width, and the author's view after the approval
    phone = login(browser, site, "alice", width=390)
    phone.goto(f"{base}/changes/{key}")
    assert phone.get_attribute("#gate", "data-gate") == "open"
    shot(phone, site, "07-alice-phone-gate-open")
    for page in (alice, bob, phone):
        page.context.close()


def test_refused_form_keeps_the_input_and_marks_the_fields(browser: Any, site: Site) -> None:
    page = login(browser, site, "alice")
    page.goto(f"{site.base}/changes/new")
    page.fill("#title", "Rotate the TLS certificate")
    page.fill("#description", "Yearly rotation before expiry.")
    page.fill("#commits", "not-a-sha")
    page.click("button[value=submit]")
    page.wait_for_selector("#form-errors")
    assert page.input_value("#title") == "Rotate the TLS certificate"
    assert page.input_value("#description") == "Yearly rotation before expiry."
    assert page.input_value("#commits") == "not-a-sha"
    assert "is not a full commit SHA" in page.inner_text("#err-commits")
    shot(page, site, "08-form-errors")
    page.fill("#commits", "3f2a9c1d" * 5)  # a full SHA: only the missing fields remain
    page.click("button[value=submit]")
    page.wait_for_selector("#form-errors")
    errors = page.inner_text("form.form")
    assert "required by the policy before submitting" in errors
    assert (
        page.locator("#err-rollback_plan").count() == 1 and page.locator("#err-risk").count() == 1
    )
    page.context.close()


def test_audit_page_searches_and_verifies_the_chain(browser: Any, site: Site) -> None:
    person(site.org, "audrey", "auditor")
    page = login(browser, site, "audrey")
    page.goto(f"{site.base}/audit?actor=bob")
    rows = page.locator("#results tbody tr")
    assert rows.count() >= 1
    assert all(row.split("\t")[2] == "bob" for row in rows.all_inner_texts())
    page.click("#verify-button")  # htmx swaps the result in without a page load
    page.wait_for_selector("#verify-result")
    assert "Audit record intact" in page.inner_text("#verify-result")
    assert page.url.endswith("/audit?actor=bob")
    shot(page, site, "09-audit-verified")
    page.context.close()
