"""The browser tests' site (one app on SQLite behind a real socket per module) and Chromium."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.api.support import database, running_org, serving
from tests.browser.support import ARGS, Site, chromium_path, person


@pytest.fixture(scope="module")
def site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    """Engineers alice and bob who log in with the password, and the ci-bot's token."""
    chromium_path()
    tmp = tmp_path_factory.mktemp("browser")
    with database("sqlite", request, tmp) as url, running_org(url) as org:
        for name in ("alice", "bob"):
            person(org, name, "engineer")
        org.user("ci", name="ci-bot")
        with serving(org.app) as base:  # plain http: Chromium treats loopback as secure
            shots = tmp_path_factory.mktemp("screenshots")
            yield Site(base, org, shots, org.token("ci-bot"))


@pytest.fixture(scope="module")
def browser(site: Site) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path(), args=ARGS)
        yield b
        b.close()
