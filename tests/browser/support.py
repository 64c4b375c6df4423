"""What the browser tests share: Debian's Chromium, the server on a real socket, logging in
through the login form, screenshots."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from changegate.auth import service as auth
from tests.api.support import Org
from tests.factories import tx

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


def person(org: Org, name: str, *roles: str) -> str:
    """A user who logs in with ``PASSWORD``."""
    org.user(*roles, name=name)
    tx(org.engine, lambda s: auth.set_password(s, user=name, password=PASSWORD, actor="system"))
    return name


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
