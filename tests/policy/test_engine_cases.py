"""Table-driven tests of the pure engine: tests/policy/cases/*.yaml."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml

from changegate.policy.engine import ApprovalFact, ChangeFacts, EvidenceFact, evaluate
from changegate.policy.loader import load_policy

LOADED = load_policy()
P = LOADED.policy
#: the snapshot every entry point evaluates, and the Pydantic schema object it was made from
POLICIES = {"snapshot": P, "schema": LOADED.validated()}
CASES = [
    c
    for f in sorted((Path(__file__).parent / "cases").glob("*.yaml"))
    for c in yaml.safe_load(f.read_text())
]


def _time(value: str | None) -> dt.datetime | None:
    return None if value is None else dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def facts_from(case: dict[str, Any]) -> ChangeFacts:
    c = dict(case["change"])
    risk = {"availability": "low", "security": "low", "data": "low"} | c.get("risk", {})
    fields = {
        k: c.get(k)
        for k in ("justification", "providers", "ai_component", "category", "commits", "components")
    }
    return ChangeFacts(
        id="CHG-1",
        change_class=c["class"],
        author=c.get("author", "alice"),
        risk=risk,
        category=c.get("category"),
        components=tuple(c.get("components", [])),
        providers=tuple(c.get("providers", [])),
        fields=fields,
        approvals=tuple(
            ApprovalFact(a["approver"], frozenset(a["roles"]), a.get("current", True))
            for a in case.get("approvals", [])
        ),
        evidence=tuple(
            EvidenceFact(
                kind=e["kind"],
                name=e["name"],
                passed=e.get("passed"),
                summary=e.get("summary"),
                details=e.get("details", ""),
                bound_to=e.get("bound_to"),
                report=e.get("report"),
                # evidence in a case was attached by the pipeline's ci-bot unless it says who
                actor=e.get("actor", "ci-bot"),
                actor_roles=frozenset(e.get("roles", ["ci"])),
                at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC) + dt.timedelta(minutes=i),
            )
            for i, e in enumerate(case.get("evidence", []))
        ),
        first_deployed_at=_time(c.get("deployed_at")),
        commit_authors=frozenset(c.get("commit_authors", [])),
    )


@pytest.mark.parametrize("form", POLICIES)
@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_case(case: dict[str, Any], form: str) -> None:
    now = _time(case.get("now")) or dt.datetime(2026, 11, 25, tzinfo=dt.UTC)
    ev = evaluate(POLICIES[form], facts_from(case), now=now)
    by_id = {r.rule_id: r for r in ev.results}
    exp = case["expect"]
    if "rules" in exp:
        assert list(by_id) == exp["rules"]
    for rule in exp.get("met", []):
        assert by_id[rule].met, (rule, by_id[rule].reason)
    for rule, prefix in exp.get("unmet", {}).items():
        assert not by_id[rule].met, rule
        assert by_id[rule].reason.startswith(prefix), (rule, by_id[rule].reason)
    for rule, prefix in exp.get("reasons", {}).items():
        assert by_id[rule].reason.startswith(prefix), (rule, by_id[rule].reason)
    for rule in exp.get("bypassed", []):
        assert by_id[rule].bypassed
    for rule in exp.get("overdue", []):
        assert by_id[rule].overdue
    if "unmet_any" in exp:
        assert sum(not by_id[r].met for r in exp["unmet_any"]) == 1
    for flag, value in exp.get("flags", {}).items():
        assert getattr(ev, flag) is value, flag
    for r in ev.results:
        assert r.policy.startswith("Change Management Policy v1.2 §")


def test_unknown_requirement_kind_fails_closed() -> None:
    from changegate.policy.schema import Require, Rule

    rule = Rule.model_construct(
        id="mystery",
        section="x",
        description="d",
        when=P.rules[1].when,
        require=Require.model_construct(kind="telepathy"),
        stage="gate",
    )
    policy = POLICIES["schema"].model_copy(update={"rules": [rule]})
    ev = evaluate(policy, facts_from({"change": {"class": "normal"}}), now=dt.datetime.now(dt.UTC))
    assert [(r.met, r.reason) for r in ev.results] == [
        (False, "cannot evaluate: unknown requirement kind 'telepathy'")
    ]


def test_evaluator_errors_fail_closed() -> None:
    broken = EvidenceFact(
        kind="validation", name="staging", passed=None, actor_roles=frozenset({"ci"})
    )
    facts = facts_from({"change": {"class": "normal"}})
    facts = ChangeFacts(**{**facts.__dict__, "evidence": (broken,)})
    ev = evaluate(P, facts, now=dt.datetime.now(dt.UTC))
    assert {r.rule_id: r.reason for r in ev.results}[
        "staging-validation"
    ] == "validation staging: result unreadable"
