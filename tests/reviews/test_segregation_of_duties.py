"""Each segregation-of-duties rule (§7), on both databases."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from changegate.changes import service as changes
from changegate.changes.schemas import ChangeUpdate
from changegate.changes.status import evaluate_change
from changegate.deployments import service as deployments
from changegate.errors import Conflict, PolicyDenied
from changegate.evidence import service as evidence
from changegate.reviews import service as reviews
from changegate.users.service import add_user
from tests.factories import DEFAULT, JUNIT_PASS, make_change, make_team, risk, tx

P = DEFAULT.policy


def submitted(engine: Engine, **kw: object) -> str:
    key = make_change(engine, **kw)
    tx(
        engine,
        lambda s: changes.submit_change(
            s, P, changes.get_change(s, key), actor=str(kw.get("author", "alice"))
        ),
    )
    return key


def approve(engine: Engine, key: str, who: str) -> None:
    tx(engine, lambda s: reviews.approve(s, P, changes.get_change(s, key, lock=True), actor=who))


def evidence_ok(engine: Engine, key: str) -> None:
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


def unmet(engine: Engine, key: str) -> dict[str, str]:
    ev = tx(engine, lambda s: evaluate_change(s, P, changes.get_change(s, key)))
    return {r.rule_id: r.reason for r in ev.results if not r.met}


def test_nobody_approves_their_own_change(engine: Engine) -> None:
    make_team(engine)
    key = submitted(engine)
    with pytest.raises(PolicyDenied, match="alice authored CHG-1 and may not approve it"):
        approve(engine, key, "alice")
    assert "peer-review" in unmet(engine, key)


def test_approval_counts_only_with_the_required_role(engine: Engine) -> None:
    make_team(engine)
    key = submitted(engine)
    with pytest.raises(PolicyDenied, match=r"review\.approve"):
        approve(engine, key, "carol")  # deployer only
    with pytest.raises(PolicyDenied):
        approve(engine, key, "audrey")  # auditor
    with pytest.raises(PolicyDenied, match="ask for role engineer"):
        approve(engine, key, "artur")  # cto may review, but no requirement here asks for cto
    assert unmet(engine, key)["peer-review"] == "approval by role engineer: missing"
    approve(engine, key, "bob")
    assert "peer-review" not in unmet(engine, key)


def test_approver_roles_are_checked_at_evaluation_time(engine: Engine) -> None:
    from changegate.users.service import get_user, set_roles

    make_team(engine)
    key = submitted(engine)
    approve(engine, key, "bob")
    assert "peer-review" not in unmet(engine, key)
    tx(engine, lambda s: set_roles(s, P, get_user(s, "bob"), roles=["auditor"], actor="ada"))
    assert unmet(engine, key)["peer-review"] == "approval by role engineer: missing"


def test_edit_after_approval_leaves_it_stale(engine: Engine) -> None:
    make_team(engine)
    key = submitted(engine)
    approve(engine, key, "bob")
    assert tx(engine, lambda s: changes.get_change(s, key).state) == "approved"
    tx(
        engine,
        lambda s: changes.edit_change(
            s, P, changes.get_change(s, key), ChangeUpdate(commits=["abcdef12" * 5]), actor="alice"
        ),
    )
    assert tx(engine, lambda s: changes.get_change(s, key).state) == "submitted"
    reason = unmet(engine, key)["peer-review"]
    assert "missing" in reason and "1 stale approval(s) not counted" in reason
    approve(engine, key, "bob")  # re-approval of the new content counts
    assert "peer-review" not in unmet(engine, key)
    with pytest.raises(Conflict, match="already approved this revision"):
        approve(engine, key, "bob")


def test_one_person_fills_one_approval_slot_across_requirements(engine: Engine) -> None:
    """sam holds security and engineer; a security-impacting change needs both a peer review and a
    security review: sam alone cannot be both."""
    make_team(engine)
    key = submitted(engine, risk=risk(security="medium"))
    approve(engine, key, "sam")
    reasons = unmet(engine, key)
    assert len([r for r in ("peer-review", "security-scrutiny") if r in reasons]) == 1
    assert "already counted for another requirement" in next(
        iter(reasons[r] for r in ("peer-review", "security-scrutiny") if r in reasons)
    )
    approve(engine, key, "bob")
    reasons = unmet(engine, key)
    assert "peer-review" not in reasons and "security-scrutiny" not in reasons


def test_high_risk_deployer_may_not_be_an_approver(engine: Engine) -> None:
    make_team(engine)  # dave: deployer + engineer
    key = submitted(engine, risk=risk(availability="high"))
    approve(engine, key, "dave")
    evidence_ok(engine, key)
    res = tx(
        engine,
        lambda s: deployments.deploy(
            s,
            P,
            changes.get_change(s, key, lock=True),
            env="production",
            version="v2",
            actor="dave",
        ),
    )
    assert res.deployment is None
    assert any(
        r.rule_id == "segregation-of-duties" and "dave approved this high-risk change" in r.reason
        for r in res.gate.unmet
    )
    res = tx(
        engine,
        lambda s: deployments.deploy(
            s,
            P,
            changes.get_change(s, key, lock=True),
            env="production",
            version="v2",
            actor="carol",
        ),
    )
    assert res.deployment is not None


def test_low_risk_change_may_be_deployed_by_an_approver(engine: Engine) -> None:
    make_team(engine)
    key = submitted(engine)
    approve(engine, key, "dave")
    evidence_ok(engine, key)
    res = tx(
        engine,
        lambda s: deployments.deploy(
            s,
            P,
            changes.get_change(s, key, lock=True),
            env="production",
            version="v2",
            actor="dave",
        ),
    )
    assert res.deployment is not None


def test_deployer_needs_the_deployer_role(engine: Engine) -> None:
    make_team(engine)
    key = submitted(engine)
    approve(engine, key, "bob")
    evidence_ok(engine, key)
    res = tx(
        engine,
        lambda s: deployments.gate(
            s, P, changes.get_change(s, key), env="production", deployer="erin"
        ),
    )
    assert not res.passed and [r.reason for r in res.unmet] == ["deployer erin lacks role deployer"]
    res = tx(
        engine,
        lambda s: deployments.gate(
            s, P, changes.get_change(s, key), env="production", deployer="ghost"
        ),
    )
    assert [r.reason for r in res.unmet] == ["deployer ghost: unknown user"]


def test_rejection_needs_a_comment_and_not_the_author(engine: Engine) -> None:
    from changegate.errors import InvalidInput

    make_team(engine)
    key = submitted(engine)
    with pytest.raises(InvalidInput):
        tx(
            engine,
            lambda s: reviews.reject(s, P, changes.get_change(s, key), actor="bob", comment=" "),
        )
    with pytest.raises(PolicyDenied):
        tx(
            engine,
            lambda s: reviews.reject(s, P, changes.get_change(s, key), actor="alice", comment="no"),
        )
    tx(
        engine,
        lambda s: reviews.reject(
            s, P, changes.get_change(s, key), actor="bob", comment="needs tests"
        ),
    )
    assert tx(engine, lambda s: changes.get_change(s, key).state) == "rejected"
    with pytest.raises(Conflict, match="cannot approve"):
        approve(engine, key, "erin")


def test_users_roles_come_from_the_policy(engine: Engine) -> None:
    from changegate.errors import InvalidInput

    with pytest.raises(InvalidInput, match="unknown role 'wizard'"):
        tx(engine, lambda s: add_user(s, P, name="zed", roles=["wizard"]))
