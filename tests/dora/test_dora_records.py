"""`changegate dora` over real records on SQLite and PostgreSQL: a normal change deployed and
rolled back, an emergency fix, a change whose commits are in a real git repository; the same
numbers from the CLI, the API and remote mode; bad input refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from changegate.changes import service as changes
from changegate.deployments import service as deployments
from tests.cli_runner import cli
from tests.dora.flow import deploy_normal, emergency_fix
from tests.factories import DEFAULT, make_team, tx
from tests.gitrepo import Repo

P = DEFAULT.policy


def test_rollback_and_emergency_fix_counted_from_the_records(
    db_url: str, engine: Engine, tmp_path: Path
) -> None:
    make_team(engine)
    repo = Repo(tmp_path / "repo")
    repo.write("app.py", "print(1)\n")
    sha = repo.commit("round tax per line", author="alice")
    first = deploy_normal(engine, commits=[sha])  # fine
    second = deploy_normal(engine)  # rolled back
    tx(
        engine,
        lambda s: deployments.rollback(
            s,
            P,
            changes.get_change(s, second, lock=True),
            env="production",
            to_version="v1",
            reason="error rate",
            actor="carol",
        ),
    )
    third = deploy_normal(engine)  # followed by an emergency fix
    fix = emergency_fix(db_url)
    out = cli(db_url, "dora", "--json").json()
    assert out["deployments"] == 4 and out["rollbacks"] == 1
    failed = {f["change"]: f["recovered_by"] for f in out["failed_deployments"]}
    assert failed == {second: "rollback", third: "emergency-fix"}
    assert out["change_fail_rate"] == 0.5
    assert out["rework_deployments"] == 2  # the emergency deployment and the rollback
    assert out["lead_time_hours"]["changes"] == 4
    assert out["lead_time_hours"]["from_first_commit"] == 0  # no repository given
    # with the repository, the first change's lead time starts at its commit (in 2026's
    # fixed test epoch, long before the change was created)
    with_repo = cli(db_url, "dora", "--json", "--repo", str(repo.path)).json()
    assert with_repo["lead_time_hours"]["from_first_commit"] == 1
    assert with_repo["lead_time_hours"]["p90"] > out["lead_time_hours"]["p90"]
    # a service filter: only changes touching that component
    none = cli(db_url, "dora", "--service", "iam", "--json").json()
    assert none["deployments"] == 0 and none["change_fail_rate"] is None
    human = cli(db_url, "dora")
    assert human.code == 0 and "change fail rate: 50.0%" in human.stdout
    assert {first, fix} <= {f"CHG-{i}" for i in range(1, 10)}


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--env", "moon"], "env"),
        (["--service", "nope"], "service"),
        (["--from", "yesterday"], "from"),
        (["--from", "2026-03-02", "--to", "2026-03-01"], "from"),
        (["--from", "2020-01-01", "--to", "2026-01-01"], "to"),
        (["--repo", "/nonexistent/repo"], "repo"),
    ],
)
def test_bad_input_is_one_clear_error(db_url: str, args: list[str], field: str) -> None:
    assert cli(db_url, "init").code == 0
    r = cli(db_url, "dora", *args, "--json")
    assert r.code == 2, r.stdout
    assert r.json()["field"] == field, r.json()


def test_api_and_remote_mode_give_the_cli_numbers(
    db_url: str, engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.api.remote_parity import run_remote
    from tests.api.support import running_org, serving

    make_team(engine)
    deploy_normal(engine)
    local = cli(db_url, "dora", "--from", "2026-01-01", "--json").json()
    with running_org(db_url) as org, serving(org.app) as base:
        api = org.client.get(
            "/api/dora", params={"from": "2026-01-01"}, headers=org.bearer("audrey")
        )
        assert api.status_code == 200
        remote = run_remote(
            base, org.token("audrey"), ["dora", "--from", "2026-01-01", "--json"], capsys
        )
        bad = org.client.get("/api/dora", params={"env": "moon"}, headers=org.bearer("audrey"))
        assert bad.status_code == 400 and bad.json()["field"] == "env"
        repo = run_remote(base, org.token("audrey"), ["dora", "--repo", "."], capsys)
        assert repo.code == 2 and "local database only" in repo.stderr
    for got in (api.json(), remote.json()):
        assert _numbers(got) == _numbers(local)


def _numbers(out: dict[str, Any]) -> dict[str, Any]:
    """The metrics without the window's end (now, which moves between calls)."""
    return {k: v for k, v in out.items() if k not in ("to", "weekly")}


def test_delivery_page_and_its_charts(engine: Engine, db_url: str) -> None:
    """The page shows the same numbers as the CLI; each chart is an SVG drawn on the server,
    with no script in it; a bad filter is a 400 naming the field, not a 500."""
    import xml.etree.ElementTree as ET

    from tests.api.support import running_org

    make_team(engine)
    deploy_normal(engine)
    with running_org(db_url) as org:
        headers, _ = org.web("audrey")
        client = org.client
        client.headers.update(headers)
        page = client.get("/dora")
        assert page.status_code == 200
        assert "1 deployments" in page.text
        for name in ("deployments", "fail-rate", "lead-time"):
            assert f"/dora/chart/{name}.svg" in page.text
            svg = client.get(f"/dora/chart/{name}.svg")
            assert svg.status_code == 200 and svg.headers["content-type"] == "image/svg+xml"
            root = ET.fromstring(svg.content)
            assert root.tag.endswith("svg")
            assert b"<script" not in svg.content
        assert client.get("/dora/chart/nope.svg").status_code == 400
        bad = client.get("/dora", params={"from": "soon"})
        assert bad.status_code == 400 and "is not a date" in bad.text
