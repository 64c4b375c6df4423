"""Schemathesis against the app's own OpenAPI document, on both databases, as its CLI runs it:
examples, coverage, fuzzing and the stateful phase (operations chained through the links it
infers). Every check but positive-data acceptance (a valid request may rightly be refused by
the policy), plus ours: every 4xx carries a JSON body saying what is wrong
(``tests/api/st_hooks.py``).

Two operations are left out of the run, because a fuzzer calling them would end its own
session: revoking API tokens (it would revoke its own) and GitHub deliveries (authenticated
by a webhook signature, not a token). The authorization matrix and tests/api/test_auth.py
cover both.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from tests.api.support import Org, database, running_org

ROOT = Path(__file__).resolve().parents[2]
ALL_ROLES = ("engineer", "security", "cto", "deployer", "auditor", "admin")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def live(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str, Org]]:
    """The app behind a real HTTP server on 127.0.0.1, and a token holding every role."""
    tmp = tmp_path_factory.mktemp("st")
    with database(str(request.param), request, tmp) as url, running_org(url) as org:
        who = org.user(*ALL_ROLES)
        for _ in range(3):
            org.change(org.user("engineer"), "submitted")
        token = org.token(who)
        port = free_port()
        server = uvicorn.Server(
            uvicorn.Config(org.app, host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.started, "the test server did not start"
        yield f"http://127.0.0.1:{port}", token, org
        server.should_exit = True
        thread.join(timeout=30)


def test_schemathesis_all_phases(live: tuple[str, str, Org], tmp_path: Path) -> None:
    base, token, _ = live
    env = dict(os.environ, SCHEMATHESIS_HOOKS="tests.api.st_hooks", PYTHONPATH=str(ROOT))
    cmd = [
        str(Path(sys.executable).with_name("st")),
        "--config-file",
        str(Path(__file__).with_name("schemathesis.toml")),
        "run",
        f"{base}/openapi.json",
        "--header",
        f"Authorization: Bearer {token}",
        "--checks",
        "all",
        "--exclude-checks",
        "positive_data_acceptance",
        "--exclude-path",
        "/api/tokens/{token_id}",
        "--exclude-path",
        "/webhooks/github",
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--max-examples",
        "10",
        "--seed",
        "20261125",
        "--workers",
        "1",
        "--report",
        "junit",
        "--report-dir",
        str(tmp_path),
    ]
    r = subprocess.run(cmd, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=400)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-12000:]
    for phase in ("Coverage", "Fuzzing", "Stateful"):
        assert f"✅  {phase}" in out, out[-6000:]
    scenarios = re.search(r"Scenarios:\s+(\d+)", out)
    assert scenarios is not None and int(scenarios.group(1)) > 0, out[-6000:]
