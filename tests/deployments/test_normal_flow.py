"""The normal change flow end to end through the services, on both databases."""

from __future__ import annotations

from sqlalchemy import Engine

from changegate.audit.verify import verify
from changegate.changes import service as changes
from changegate.changes.status import evaluate_change
from changegate.deployments import service as deployments
from changegate.evidence import service as evidence
from changegate.reviews import service as reviews
from tests.factories import DEFAULT, JUNIT_PASS, make_change, make_team, tx

P = DEFAULT.policy


def test_normal_change_reaches_production_only_with_evidence(engine: Engine) -> None:
    make_team(engine)
    key = make_change(engine)
    tx(engine, lambda s: changes.submit_change(s, P, changes.get_change(s, key), actor="alice"))
    closed = tx(
        engine,
        lambda s: deployments.gate(
            s, P, changes.get_change(s, key), env="production", deployer="carol"
        ),
    )
    assert not closed.passed
    assert {r.rule_id for r in closed.unmet} == {
        "lifecycle",
        "peer-review",
        "automated-tests",
        "staging-validation",
    }
    tx(
        engine,
        lambda s: reviews.approve(s, P, changes.get_change(s, key), actor="bob", comment="ok"),
    )
    tx(
        engine,
        lambda s: evidence.add_junit(
            s, P, changes.get_change(s, key), content=JUNIT_PASS, filename="j.xml", actor="ci-bot"
        ),
    )
    tx(
        engine,
        lambda s: evidence.add_validation(
            s, P, changes.get_change(s, key), name="staging", result="pass", actor="ci-bot"
        ),
    )
    result = tx(
        engine,
        lambda s: deployments.deploy(
            s,
            P,
            changes.get_change(s, key, lock=True),
            env="production",
            version="v1.4.2",
            actor="carol",
        ),
    )
    assert result.deployment is not None and result.gate.passed
    status = tx(engine, lambda s: evaluate_change(s, P, changes.get_change(s, key)))
    assert all(r.met for r in status.results)
    report = tx(engine, lambda s: verify(s))
    assert report.ok, report.problems
    assert report.events > 10
