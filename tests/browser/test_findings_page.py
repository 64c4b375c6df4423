"""The findings pages in a real browser (§6, issue 14): the list shows each finding's SLA
countdown and filters by severity; a finding's page shows its history; the dashboard counts
overdue findings by severity."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from changegate.db import utcnow
from tests.browser.support import Site, login, person, shot
from tests.findings.support import pf, scan

pytestmark = pytest.mark.browser


def test_findings_list_filter_and_finding_page(browser: Any, site: Site) -> None:
    person(site.org, "sam", "security")
    late = utcnow() - dt.timedelta(days=30)
    scan(site.org.engine, [pf("CVE-2026-0001", "critical")], by="sam", scope="web", now=late)
    scan(site.org.engine, [pf("CVE-2026-0002", "low", component="zlib")], by="sam", scope="web-2")

    page = login(browser, site, "sam")
    page.goto(f"{site.base}/")
    assert page.inner_text("#findings-overdue a.sev-critical .state-count").strip() == "1"
    page.click("nav a[href='/findings']")
    page.wait_for_url("**/findings")
    rows = page.locator("#findings tr.finding-row")
    assert rows.count() == 2
    first = rows.nth(0).inner_text()
    assert "CVE-2026-0001" in first and "23 days overdue" in first
    assert "days left" in rows.nth(1).inner_text()
    shot(page, site, "40-findings-list")
    page.select_option("#f-severity", "low")
    page.click("#findings-filter button[type=submit]")
    page.wait_for_url("**/findings?*severity=low*")
    assert page.locator("#findings tr.finding-row").count() == 1
    page.click("#findings tr.finding-row a")
    page.wait_for_selector("#finding-history")
    assert page.inner_text("#finding-status").strip() == "open"
    assert "finding.opened" in page.inner_text("#finding-history")
    shot(page, site, "41-finding-page")
    page.context.close()
