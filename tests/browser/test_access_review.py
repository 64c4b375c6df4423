"""Deciding an access review item in a real browser (§7, issue 14): the security reviewer opens
the campaign, keeps a privileged entitlement only with a justification (the row shows the
service's refusal first), and revokes another; htmx swaps each decided row in place. Her own
entitlements offer no form. The dashboard shows the campaign as the next access review."""

from __future__ import annotations

from typing import Any

import pytest

from changegate.access import service
from tests.api.support import P
from tests.browser.support import Site, login, person, shot
from tests.factories import tx

pytestmark = pytest.mark.browser


def test_a_reviewer_decides_items_one_by_one(browser: Any, site: Site) -> None:
    person(site.org, "sara", "security")
    site.org.user("admin", name="opal")
    csv = b"subject,system,entitlement,privileged\nalice,aws,Admin,yes\nbob,aws,ReadOnly,no\n"
    review = tx(
        site.org.engine,
        lambda s: service.start_review(s, P, name="Q4 production", csv=csv, actor="opal").id,
    )
    items = tx(
        site.org.engine,
        lambda s: {
            (i.subject, i.entitlement): i.id
            for i in service.items(s, service.get_review(s, review))
        },
    )
    admin_row, readonly = items[("alice", "Admin")], items[("bob", "ReadOnly")]

    sara = login(browser, site, "sara")
    assert "Next access review" in sara.inner_text("#next-access-review")
    sara.goto(f"{site.base}/access/{review}")
    own = items[("sara", "role:security")]
    assert sara.locator(f"#item-{own} form").count() == 0
    assert "your own access" in sara.inner_text(f"#item-{own}")

    sara.select_option(f"#decision-{admin_row}", "keep")
    sara.click(f"#decide-{admin_row}")
    sara.wait_for_selector(f"#item-{admin_row}-error")
    assert "--justification" in sara.inner_text(f"#item-{admin_row}-error")
    assert sara.get_attribute(f"#item-{admin_row}", "data-decision") == "undecided"

    sara.fill(f"#justification-{admin_row}", "on call for the payment service")
    sara.click(f"#decide-{admin_row}")
    sara.wait_for_selector(f"#item-{admin_row}[data-decision='keep']")
    assert "on call for the payment service" in sara.inner_text(f"#item-{admin_row}")

    sara.select_option(f"#decision-{readonly}", "revoke")
    sara.click(f"#decide-{readonly}")
    sara.wait_for_selector(f"#item-{readonly}[data-decision='revoke']")
    shot(sara, site, "30-sara-access-review")

    sara.reload()  # decided in the database, not only on the page
    assert sara.get_attribute(f"#item-{readonly}", "data-decision") == "revoke"
    assert "by sara" in sara.inner_text(f"#item-{readonly}")
    sara.context.close()
