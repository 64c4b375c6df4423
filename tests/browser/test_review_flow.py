"""The review flow in a real browser (Debian's Chromium driven by Playwright), against the
server on a real socket: an engineer creates and submits a change, CI attaches evidence, a
reviewer finds it under "awaiting my review" and approves, and the gate opens; the author
cannot approve their own change. Screenshots of each step go to the pytest temp dir."""

from __future__ import annotations

import base64
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from changegate.auth import service as auth
from tests.api.support import Org, database, running_org
from tests.factories import JUNIT_PASS, tx

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "correct horse battery staple"


def chromium_path() -> str:
    found = CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium")
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail("Chromium is required in CI (apt-get install chromium) but was not found")
    pytest.skip("Chromium not installed (apt-get install chromium); CI runs these")


@dataclass
class Site:
    base: str
    org: Org
    shots: Path
    ci_token: str


@pytest.fixture(scope="module")
def site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    chromium_path()
    tmp = tmp_path_factory.mktemp("browser")
    # plain http on 127.0.0.1: the cookie is still Secure (Chromium treats loopback as secure)
    with database("sqlite", request, tmp) as url, running_org(url) as org:
        for name in ("alice", "bob"):
            org.user("engineer", name=name)
            tx(
                org.engine,
                lambda s, n=name: auth.set_password(s, user=n, password=PASSWORD, actor="system"),
            )
        org.user("ci", name="ci-bot")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        server = uvicorn.Server(
            uvicorn.Config(org.app, host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.started
        shots = tmp_path_factory.mktemp("screenshots")
        yield Site(f"http://127.0.0.1:{port}", org, shots, org.token("ci-bot"))
        server.should_exit = True
        thread.join(timeout=30)


@pytest.fixture(scope="module")
def browser(site: Site) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path(), args=ARGS)
        yield b
        b.close()


def login(browser: Any, site: Site, user: str, width: int = 1280) -> Any:
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    page.goto(f"{site.base}/")
    assert "/login" in page.url
    page.fill("#username", user)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{site.base}/")
    return page


def shot(page: Any, site: Site, name: str) -> None:
    path = site.shots / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 5000


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
    assert "you authored this change" in alice.inner_text("#review")
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
    site.org.user("auditor", name="audrey")
    tx(
        site.org.engine,
        lambda s: auth.set_password(s, user="audrey", password=PASSWORD, actor="system"),
    )
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
