"""The auditor's area in a real browser (Debian's Chromium via Playwright) against a server
with a signing key and the demo's record: choose the period, filter the population, draw a
sample with a seed, download its package, and the download verifies offline."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from changegate.demo import run_demo
from tests.api.support import database, running_org, serving
from tests.audit.package.conftest import TODAY
from tests.browser.support import Site, chromium_path, login, person, shot
from tests.cli_runner import cli

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def audit_site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Site, str]]:
    chromium_path()
    tmp = tmp_path_factory.mktemp("auditor")
    with database("sqlite", request, tmp) as url:
        run_demo(db_url=url, verbose=False)
        key = tmp / "audit.key"
        vkey = cli(url, "audit", "keygen", "--out", str(key), "--json").json()["vkey"]
        with running_org(url, audit_key_file=key) as org:
            person(org, "audrey", "auditor")
            with serving(org.app) as base:
                yield Site(base, org, tmp_path_factory.mktemp("shots"), ""), vkey


def test_an_auditor_samples_and_downloads_a_package_that_verifies(
    browser: Any, audit_site: tuple[Site, str], tmp_path: Path
) -> None:
    site, vkey = audit_site
    page = login(browser, site, "audrey")
    page.click("nav >> text=Auditor")
    page.fill("#from", "2026-01-01")
    page.fill("#to", TODAY)
    page.click("#period-form button[type=submit]")
    page.wait_for_selector("#summary")
    total = int(page.inner_text("#population-count"))
    assert total >= 4 and page.locator("tr.population-row").count() == total
    assert page.locator("tr.control-row").count() > 5
    assert page.inner_text("#vkey") == vkey
    shot(page, site, "auditor-01-period")
    page.fill("#size", "2")
    page.fill("#seed", "fy2026")
    page.click("#sample-form button[type=submit]")
    page.wait_for_selector("#sample")
    sampled = page.locator("a.sampled").all_inner_texts()
    assert len(sampled) == 2
    shot(page, site, "auditor-02-sample")
    with page.expect_download() as info:
        page.click("#download")
    target = tmp_path / "sample.zip"
    info.value.save_as(target)
    with zipfile.ZipFile(target) as z:
        manifest = json.loads(z.read("manifest.json"))
    assert manifest["selection"]["changes"] == sampled
    assert manifest["selection"]["seed"] == "fy2026"
    checked = cli("sqlite:///nowhere.db", "audit", "verify-package", str(target), "--vkey", vkey)
    assert checked.code == 0, checked.stdout + checked.stderr
