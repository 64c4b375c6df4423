"""The obligations panel (issue 15 §4) on SQLite and PostgreSQL: each item asks the slice that
decides it, is listed worst first with a link to what needs doing, is shown only to those who
may read it, and `changegate obligations` exits 1 when anything is overdue."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import Engine

from changegate.db import utcnow
from changegate.obligations.service import any_overdue, obligations
from changegate.policy.loader import default_policy_text
from tests.cli_runner import cli
from tests.dora.flow import deploy_normal, emergency_fix
from tests.factories import DEFAULT, make_team, tx

P = DEFAULT.policy


def owed(engine: Engine, now: dt.datetime | None = None) -> dict[str, tuple[str, str, str]]:
    items = tx(engine, lambda s: obligations(s, P, DEFAULT.digest, may=lambda _: True, now=now))
    return {o.key: (o.status, o.summary, o.link) for o in items}


def test_a_fresh_install_owes_a_first_checkpoint_and_nothing_overdue(engine: Engine) -> None:
    make_team(engine)
    found = owed(engine)
    order = ["overdue", "due", "ok"]
    statuses = [status for status, _, _ in found.values()]
    assert statuses == sorted(statuses, key=order.index)  # worst first
    assert found["audit"][0] == "due" and "no checkpoint" in found["audit"][1]
    assert found["investigations"][0] == "ok" and found["findings"][0] == "ok"
    assert found["emergency-reviews"][0] == "ok"
    assert found["policy-review"][0] in ("ok", "due")


def test_an_emergency_bypass_is_due_then_overdue_with_a_link_to_the_change(
    db_url: str, engine: Engine
) -> None:
    make_team(engine)
    key = emergency_fix(db_url)
    status, summary, link = owed(engine)["emergency-reviews"]
    assert status == "due" and "1 awaiting review (0 overdue)" in summary
    assert link == f"/changes/{key}"
    later = owed(engine, now=utcnow() + dt.timedelta(days=4))["emergency-reviews"]
    assert later[0] == "overdue" and "(1 overdue)" in later[1]
    items = tx(
        engine,
        lambda s: obligations(
            s, P, DEFAULT.digest, may=lambda _: True, now=utcnow() + dt.timedelta(days=4)
        ),
    )
    assert items[0].status == "overdue" and any_overdue(items)


def test_cli_exit_code_and_what_each_reader_may_see(
    db_url: str, engine: Engine, tmp_path: Path
) -> None:
    from tests.api.support import running_org

    make_team(engine)
    r = cli(db_url, "obligations", "--json")
    assert r.code == 0, r.stdout
    assert {o["key"] for o in r.json()} >= {"audit", "policy-review", "access-review"}
    # a significant change deployed since the last review makes the policy review overdue
    deploy_normal(engine)
    strict = tmp_path / "significant-app.yaml"
    strict.write_text(
        default_policy_text().replace(
            "significant_components: [infrastructure, iam, network]",
            "significant_components: [infrastructure, iam, network, application]",
        )
    )
    late = cli(db_url, "obligations", "--policy", str(strict), "--json")
    assert late.code == 1
    review = next(o for o in late.json() if o["key"] == "policy-review")
    assert review["status"] == "overdue" and "significant" in review["summary"]
    assert late.json()[0]["status"] == "overdue"
    with running_org(db_url) as org:
        everything = org.client.get("/api/obligations", headers=org.bearer("audrey"))
        assert everything.status_code == 200
        keys = {o["key"] for o in everything.json()}
        assert {"audit", "policy-review", "access-review", "investigations"} <= keys
        # the pipeline account may read changes and findings, not policy, access or audit
        ci = org.client.get("/api/obligations", headers=org.bearer("ci-bot")).json()
        assert {o["key"] for o in ci} == {"emergency-reviews", "findings"}
        headers, _ = org.web("audrey")
        page = org.client.get("/", headers=headers)
        assert page.status_code == 200 and 'id="obligations"' in page.text
        assert 'href="/policy#policy-review"' in page.text
