"""Login throttling holds under concurrency (gate integrity §5).

Found: 40 parallel wrong-password attempts against one user on PostgreSQL had 38 passwords
checked (each transaction counted the failures before any other had committed); SQLite, whose
write transactions queue, gave the correct 10. A real uvicorn server, 40 parallel clients.
"""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import func, select

from changegate.auth import service as auth
from changegate.auth.models import LoginFailure
from changegate.db import session_scope
from tests.api.support import database, running_org, serving
from tests.factories import tx

PARALLEL = 40


def _post(url: str, body: bytes, cookie: str) -> int:
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie},
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_parallel_wrong_passwords_check_exactly_the_limit(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    from urllib.parse import urlencode

    with (
        database(backend, request, tmp_path) as url,
        running_org(url, cookie_secure=False) as org,
        serving(org.app) as base,
    ):
        me = org.user("engineer")
        tx(
            org.engine,
            lambda s: auth.set_password(s, user=me, password="correct horse battery", actor=me),
        )
        with urllib.request.urlopen(f"{base}/login", timeout=60) as page:
            html = page.read().decode()
            nonce = next(
                c.split(";")[0]
                for c in page.headers.get_all("set-cookie")
                if c.startswith("changegate_login=")
            )
        csrf = re.search(r'name="csrf" value="([^"]+)"', html)
        assert csrf is not None
        body = urlencode(
            {"username": me, "password": "wrong guess!", "csrf": csrf.group(1), "next": "/"}
        ).encode()
        with ThreadPoolExecutor(PARALLEL) as pool:
            codes = list(pool.map(lambda _: _post(f"{base}/login", body, nonce), range(PARALLEL)))
        limit = org.app.state.cg.limits.per_user
        checked = codes.count(401)
        assert checked == limit, codes
        assert codes.count(429) == PARALLEL - limit, codes
        with session_scope(org.engine, write=False) as s:
            rows = s.scalar(
                select(func.count()).select_from(LoginFailure).where(LoginFailure.user_name == me)
            )
        assert rows == limit
