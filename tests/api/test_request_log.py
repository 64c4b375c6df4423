"""`changegate serve` logs one JSON line per request, with its request id, actor, method,
path, status and duration (the id is echoed in X-Request-ID)."""

from __future__ import annotations

import urllib.request
from pathlib import Path

from sqlalchemy import Engine

from changegate.auth import service as auth
from tests.alerts import servers
from tests.factories import make_team, tx


def test_a_request_yields_one_parseable_line_with_its_id(
    db_url: str, engine: Engine, tmp_path: Path
) -> None:
    make_team(engine)
    token = tx(engine, lambda s: auth.create_token(s, user="sam", actor="system"))[1]
    server = servers.start(db_url, tmp_path / "serve.log", {}, "--log-format", "json")
    try:
        req = urllib.request.Request(
            server.url + "/api/me",
            headers={"Authorization": f"Bearer {token}", "X-Request-ID": "req-42.abc"},
        )
        with urllib.request.urlopen(req, timeout=10) as r:
            assert r.headers["X-Request-ID"] == "req-42.abc"
        with urllib.request.urlopen(server.url + "/healthz", timeout=10) as r:
            fresh = r.headers["X-Request-ID"]
    finally:
        server.stop()
    lines = [x for x in server.lines() if x.get("kind") == "request"]
    mine = [x for x in lines if x["request_id"] == "req-42.abc"]
    assert len(mine) == 1
    assert {k: mine[0][k] for k in ("actor", "method", "path", "status")} == {
        "actor": "sam",
        "method": "GET",
        "path": "/api/me",
        "status": 200,
    }
    assert isinstance(mine[0]["ms"], float) and mine[0]["ts"].endswith("Z")
    assert len(fresh) == 32 and [x["path"] for x in lines if x["request_id"] == fresh] == [
        "/healthz"
    ]
