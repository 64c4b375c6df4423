"""The security impact assessment end to end in a real browser (§10.2, issue 11): an
engineer's AI change waits for its assessment; the security reviewer opens the change, fills
in the form in the AI review section and submits it; the requirement turns met on the page
and the assessment is listed with its ratings. An engineer is offered no form."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.support import P
from tests.browser.support import Site, login, person, shot

pytestmark = pytest.mark.browser


def test_the_security_reviewer_records_the_assessment(browser: Any, site: Site) -> None:
    person(site.org, "sam", "security")
    key = site.org.change(
        "alice",
        "submitted",
        title="Narrow the RAG retrieval scope",
        category="rag-config-change",
        components=["rag-pipeline"],
        ai_component="rag-pipeline",
    )
    rule = next(r.id for r in P.rules if getattr(r.require, "name", None) == "security-impact")
    row = f"#requirements tr:has-text('{rule}')"

    alice = login(browser, site, "alice")
    alice.goto(f"{site.base}/changes/{key}")
    assert alice.locator("#assess-form").count() == 0
    assert "may not record a security impact assessment" in alice.inner_text("#ai-review")
    assert alice.get_attribute(row, "class") == "unmet"

    sam = login(browser, site, "sam")
    sam.goto(f"{site.base}/changes/{key}")
    sam.select_option("#assess-prompt_injection", "medium")
    sam.fill("#assess-note-prompt_injection", "retrieval now limited to the tenant's index")
    sam.select_option("#assess-data_leakage", "low")
    sam.select_option("#assess-content_filter", "low")
    sam.fill("#assess-notes", "Reviewed the new scope with the RAG owner.")
    shot(sam, site, "20-sam-assessment-form")
    sam.click("#assess-button")
    sam.wait_for_selector(f"#ai-review tr[data-name='{P.ai.evidence.security_assessment}']")
    assert "Security impact assessment recorded." in sam.inner_text("main")
    review = sam.inner_text("#ai-review")
    assert "prompt injection risk: medium — retrieval now limited to the tenant's index" in review
    assert sam.get_attribute(row, "class") == "met"
    verdict = f"#ai-review tr[data-name='{P.ai.evidence.security_impact}'] td:nth-child(2)"
    assert sam.inner_text(verdict).strip() == "pass"
    shot(sam, site, "21-sam-assessment-recorded")
    for page in (alice, sam):
        page.context.close()
