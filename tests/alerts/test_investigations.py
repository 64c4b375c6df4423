"""`changegate alerts list / ack / resolve / overdue` locally and against the server give the same
output and exit codes (on SQLite and PostgreSQL); the refusals: someone the policy does not let
investigate, acting as someone else over the API, a second acknowledgement, a link that is not
a URL or a change, a bad id."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, update

from changegate.alerts.models import Alert
from tests.alerts.support import make_alert
from tests.api.remote_parity import pair, same
from tests.api.support import running_org
from tests.cli_runner import cli
from tests.factories import make_team, tx

__all__ = ["pair"]

NEW = ["change", "new", "--title", "t", "--class", "normal", "--author", "alice"]
NEW += ["--risk", "availability=low", "--risk", "security=low", "--risk", "data=low", "--json"]


def test_alerts_commands_locally_and_remotely(
    pair: tuple[str, str, dict[str, str]], capsys: pytest.CaptureFixture[str]
) -> None:
    local, base, tokens = pair

    def run(who: str, *args: str, code: int | None = None) -> object:
        return same(local, base, tokens[who], list(args), capsys, code=code)

    key = run("alice", *NEW, code=0).json()["id"]  # type: ignore[attr-defined]
    run("carol", "gate", key, "--env", "production", "--deployer", "carol", code=1)
    listed = run("alice", "alerts", "list", "--open", "--json", code=0).json()  # type: ignore[attr-defined]
    [alert] = [a for a in listed["alerts"] if a["change"] == key]
    assert (alert["kind"], alert["state"], alert["overdue"]) == ("gate-refused", "open", False)
    n = str(alert["id"])
    run("alice", "alerts", "list", code=0)
    run("alice", "alerts", "ack", n, "--by", "alice", code=1)  # engineers read, not investigate
    run("carol", "alerts", "ack", n, "--by", "carol", "--json", code=0)
    run("carol", "alerts", "ack", n, "--by", "carol", code=1)  # already acknowledged
    bad = ["alerts", "resolve", n, "--notes", "x", "--link", "javascript:alert(1)", "--by", "carol"]
    run("carol", *bad, code=2)
    run("carol", "alerts", "resolve", n, "--notes", "  ", "--by", "carol", code=2)
    done = ["alerts", "resolve", n, "--notes", "pipeline fixed", "--link", key, "--by", "carol"]
    out = run("carol", *done, "--json", code=0).json()  # type: ignore[attr-defined]
    assert (out["state"], out["resolved_by"], out["link"]) == ("resolved", "carol", key)
    run("carol", *done, code=1)  # already resolved
    run("alice", "alerts", "overdue", code=0)
    run("carol", "alerts", "ack", "999999", "--by", "carol", code=2)


def test_overdue_exits_1_past_the_policys_acknowledgement_time(db_url: str, engine: Engine) -> None:
    make_team(engine)
    alert = make_alert(engine)
    assert cli(db_url, "alerts", "overdue").code == 0
    past = dt.datetime.now(dt.UTC) - dt.timedelta(hours=25)  # ack_within_hours: 24
    tx(engine, lambda s: s.execute(update(Alert).values(created_at=past)))
    out = cli(db_url, "alerts", "overdue", "--json")
    assert out.code == 1 and [a["id"] for a in out.json()["alerts"]] == [alert]
    assert cli(db_url, "alerts", "ack", str(alert), "--by", "sam").code == 0
    assert cli(db_url, "alerts", "overdue").code == 0


def test_bad_ids_exit_2_naming_the_field(db_url: str, engine: Engine) -> None:
    make_team(engine)
    for bad in ("x", "#0x1", "99999999999"):
        r = cli(db_url, "alerts", "ack", bad, "--by", "sam")
        assert r.code == 2 and "id" in r.stderr and "Traceback" not in r.stderr, r.stderr


def test_the_api_refuses_acting_as_someone_else(db_url: str, engine: Engine) -> None:
    with running_org(db_url) as org:
        me = org.user("security")
        alert = make_alert(org.engine, author=org.user("engineer"), deployer=me)
        r = org.client.post(
            f"/api/alerts/{alert}/ack", json={"by": "somebody-else"}, headers=org.bearer(me)
        )
        assert r.status_code == 403 and r.json()["field"] == "by"
        r = org.client.post(f"/api/alerts/{alert}/ack", json={}, headers=org.bearer(me))
        assert r.status_code == 200 and r.json()["acked_by"] == me
