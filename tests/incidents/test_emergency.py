"""Emergency changes (§5): bypass with justification, retrospective due, post-incident review, overdue."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, text

from changegate.errors import PolicyDenied
from tests.cli_runner import cli
from tests.factories import make_team


def emergency(db: str) -> str:
    key = cli(
        db,
        "change",
        "new",
        "--title",
        "Disable endpoint",
        "--class",
        "emergency",
        "--risk",
        "availability=medium",
        "--risk",
        "security=high",
        "--risk",
        "data=low",
        "--rollback",
        "re-enable",
        "--description",
        "exploit",
        "--justification",
        "CVE under active exploitation",
        "--author",
        "dave",
        "--json",
    ).json()["id"]
    assert cli(db, "change", "submit", key, "--by", "dave").code == 0
    return str(key)


def test_emergency_bypass_then_review(db_url: str, engine: Engine) -> None:
    make_team(engine)
    key = emergency(db_url)
    g = cli(db_url, "gate", key, "--env", "production", "--deployer", "carol", "--json")
    assert g.code == 0 and g.json()["bypass"] is True
    peer = next(r for r in g.json()["requirements"] if r["rule"] == "peer-review")
    assert peer["bypassed"] and "CVE under active exploitation" in peer["reason"]
    d = cli(
        db_url,
        "deploy",
        key,
        "--env",
        "production",
        "--version",
        "hotfix-1",
        "--by",
        "carol",
        "--json",
    )
    assert d.code == 0 and d.json()["deployment"]["bypass"] is True
    status = cli(db_url, "status", key, "--json").json()
    retro = next(r for r in status["requirements"] if r["rule"] == "retrospective-review")
    due = dt.datetime.fromisoformat(retro["due"].replace("Z", "+00:00"))
    assert dt.timedelta(hours=71) < due - dt.datetime.now(dt.UTC) <= dt.timedelta(hours=72)
    assert retro["reason"].startswith("retrospective review due ") and retro["reason"].endswith(
        " UTC"
    )
    assert cli(db_url, "overdue").code == 0
    assert cli(db_url, "change", "close", key, "--by", "dave").code == 1  # review pending
    own = cli(
        db_url,
        "review-emergency",
        key,
        "--by",
        "dave",
        "--root-cause",
        "x",
        "--actions",
        "y",
        "--preventive",
        "z",
    )
    assert own.code == 1 and "dave authored" in own.stderr
    empty = cli(
        db_url,
        "review-emergency",
        key,
        "--by",
        "bob",
        "--root-cause",
        " ",
        "--actions",
        "y",
        "--preventive",
        "z",
    )
    assert empty.code == 2 and "--root-cause" in empty.stderr
    ok = cli(
        db_url,
        "review-emergency",
        key,
        "--by",
        "bob",
        "--root-cause",
        "unpatched parser",
        "--actions",
        "disabled endpoint",
        "--preventive",
        "dependency scanning",
    )
    assert ok.code == 0
    status = cli(db_url, "status", key, "--json").json()
    assert status["unmet"] == []
    assert cli(db_url, "change", "close", key, "--by", "dave", "--json").json()["state"] == "closed"


def test_overdue_lists_late_reviews_and_exits_1(db_url: str, engine: Engine) -> None:
    make_team(engine)
    key = emergency(db_url)
    assert (
        cli(
            db_url, "deploy", key, "--env", "production", "--version", "hotfix-1", "--by", "carol"
        ).code
        == 0
    )
    with engine.begin() as conn:  # the deployment happened four days ago
        old = dt.datetime.now(dt.UTC) - dt.timedelta(days=4)
        conn.execute(
            text("UPDATE deployments SET created_at = :t"),
            {"t": old if engine.dialect.name != "sqlite" else old.replace(tzinfo=None)},
        )
    r = cli(db_url, "overdue", "--json")
    assert r.code == 1 and [o["change"] for o in r.json()["overdue"]] == [key]
    status = cli(db_url, "status", key, "--json").json()
    retro = next(x for x in status["requirements"] if x["rule"] == "retrospective-review")
    assert retro["overdue"] and "OVERDUE" in retro["reason"]


def test_only_emergency_changes_get_a_retrospective(engine: Engine) -> None:
    from changegate.changes import service as changes
    from changegate.errors import Conflict
    from changegate.incidents.service import review_emergency
    from tests.factories import DEFAULT, make_change, tx

    make_team(engine)
    key = make_change(engine)
    with pytest.raises(Conflict):
        tx(
            engine,
            lambda s: review_emergency(
                s,
                DEFAULT.policy,
                changes.get_change(s, key),
                actor="bob",
                root_cause="a",
                actions_taken="b",
                preventive_controls="c",
            ),
        )
    assert PolicyDenied
