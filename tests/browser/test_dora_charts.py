"""The delivery page's charts render in a real browser (Debian's Chromium via Playwright): each
server-drawn SVG loads as an image under the page's strict CSP, with nothing fetched from
outside the app."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.support import Site, login, shot

pytestmark = pytest.mark.browser


def test_the_delivery_charts_load(browser: Any, site: Site) -> None:
    page = login(browser, site, "alice")
    outside: list[str] = []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(site.base) else None)
    page.click("text=Delivery")
    page.wait_for_selector("#dora-metrics")
    page.wait_for_function(
        "() => [...document.querySelectorAll('figure.chart img')]"
        ".every(i => i.complete && i.naturalWidth > 0)"
    )
    sizes = page.eval_on_selector_all(
        "figure.chart img", "imgs => imgs.map(i => [i.id, i.naturalWidth, i.naturalHeight])"
    )
    assert [s[0] for s in sizes] == ["chart-deployments", "chart-fail-rate", "chart-lead-time"]
    assert all(w > 100 and h > 100 for _, w, h in sizes), sizes
    assert "Deployment frequency" in page.inner_text("#dora-metrics")
    assert outside == [], outside
    shot(page, site, "dora-charts")
