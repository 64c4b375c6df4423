"""Acknowledging and resolving an investigation in a real browser (§8, issue 15): the dashboard
shows the open, unacknowledged alert; on the alerts page the security engineer acknowledges it
(htmx swaps the row in place), then resolves it with notes and the remediating change; an
engineer, who may read alerts but not investigate them, gets no buttons."""

from __future__ import annotations

from typing import Any

import pytest

from changegate.alerts.models import Alert
from changegate.db import session_scope
from tests.alerts.support import make_alert
from tests.browser.support import Site, login, person, shot

pytestmark = pytest.mark.browser


def test_a_security_engineer_acknowledges_then_resolves(browser: Any, site: Site) -> None:
    person(site.org, "sec", "security")
    person(site.org, "dep", "deployer")
    alert = make_alert(site.org.engine, author="alice", deployer="dep")

    alice = login(browser, site, "alice")
    alice.goto(f"{site.base}/alerts")
    assert alice.locator(f"#alert-{alert}").count() == 1
    assert alice.locator(f"#ack-{alert}").count() == 0  # alerts.read, not alerts.manage
    alice.context.close()

    sec = login(browser, site, "sec")
    assert int(sec.inner_text("#dash-unacked-alerts")) >= 1
    sec.click("#investigations a[href='/alerts']")
    sec.wait_for_selector(f"#alert-{alert}[data-state='open']")
    sec.click(f"#ack-{alert}")
    sec.wait_for_selector(f"#alert-{alert}[data-state='acknowledged']")
    assert "acknowledged by sec" in sec.inner_text(f"#alert-{alert}")
    shot(sec, site, "40-sec-acknowledged")

    sec.fill(f"#notes-{alert}", "draft deployed by mistake; pipeline now waits for approval")
    sec.fill(f"#link-{alert}", "CHG-1")
    sec.click(f"#resolve-{alert}")
    sec.wait_for_selector(f"#alert-{alert}[data-state='resolved']")
    assert "pipeline now waits for approval" in sec.inner_text(f"#alert-{alert}")

    sec.reload()  # resolved in the database, not only on the page: off the open list
    assert sec.locator(f"#alert-{alert}").count() == 0
    sec.context.close()
    with session_scope(site.org.engine, write=False) as s:
        row = s.get(Alert, alert)
        assert row is not None
        assert (row.state, row.acked_by, row.resolved_by, row.link) == (
            "resolved",
            "sec",
            "sec",
            "CHG-1",
        )
