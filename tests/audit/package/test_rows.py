"""rows.derive on events written here (the shapes changegate records): a GitHub deployment no
change covers, an emergency change whose retrospective review is missing at the period's end,
an approval of other content at deployment, and a change whose earlier history lies before the
window (its rows use it; only window activity puts a change in the population)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from changegate.audit.package import rows
from changegate.changes.models import CONTENT_FIELDS

PARAMS = {
    "content_fields": list(CONTENT_FIELDS),
    "risk_levels": ["low", "medium", "high"],
    "high_risk_at_least": "high",
    "security_impacting": {
        "risk_at_least": {"security": "medium"},
        "components": [],
        "categories": [],
    },
    "retrospective_due_hours": {"emergency": 72},
}


def _manifest(first: int, last: int) -> dict[str, Any]:
    period = {"from_ts": "2026-03-01T00:00:00Z", "to_ts": "2026-04-01T00:00:00Z"}
    return {
        "parameters": PARAMS,
        "window": {"first_seq": first, "last_seq": last},
        "period": period,
    }


def _change(key: str, cls: str, **extra: Any) -> dict[str, Any]:
    state = {f: None for f in CONTENT_FIELDS} | {"title": key, "change_class": cls}
    return state | {"risk": {"security": {"level": "low"}}, "id": key, "author": "alice"} | extra


def _digest(state: dict[str, Any]) -> str:
    content = {f: state.get(f) for f in CONTENT_FIELDS}
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _ev(seq: int, ts: str, action: str, entity: str, after: dict[str, Any]) -> dict[str, Any]:
    return {"seq": seq, "ts": ts, "action": action, "entity": entity, "after": after}


def _table(derived: dict[str, list[list[str]]], name: str) -> list[dict[str, str]]:
    header, *body = derived[name]
    return [dict(zip(header, row, strict=True)) for row in body]


def test_rows_from_events() -> None:
    old = _change("CHG-1", "normal", state="approved")
    emergency = _change("CHG-2", "emergency", state="deployed", justification="=cmd|' /C calc'!A0")
    events = [
        _ev(1, "2026-02-01T10:00:00Z", "change.created", "change:CHG-1", old),
        _ev(2, "2026-02-01T11:00:00Z", "review.approved", "review:1",
            {"id": 1, "change": "CHG-1", "reviewer": "bob", "verdict": "approve",
             "roles": "engineer", "content_digest": "0" * 64}),
        _ev(3, "2026-03-02T09:00:00Z", "deployment.recorded", "deployment:1",
            {"id": 1, "change": "CHG-1", "kind": "deploy", "actor": "carol", "bypass": False,
             "environment": "production", "version": "v2", "gate_decision": None}),
        _ev(4, "2026-03-03T09:00:00Z", "change.created", "change:CHG-2", emergency),
        _ev(5, "2026-03-03T09:05:00Z", "deployment.recorded", "deployment:2",
            {"id": 2, "change": "CHG-2", "kind": "deploy", "actor": "carol", "bypass": True,
             "environment": "production", "version": "hotfix", "gate_decision": None}),
        _ev(6, "2026-03-04T09:00:00Z", "github.deployment_violation", "github_deployment:7",
            {"id": 7, "change": None, "environment": "production", "sha": "ab" * 20,
             "creator_login": "mallory", "state": "success", "gate_passed": False,
             "violation": "deployed without a change record"}),
    ]  # fmt: skip
    derived = rows.derive(events, _manifest(3, 6))
    population = {r["id"]: r for r in _table(derived, "population.csv")}
    assert sorted(population) == ["CHG-1", "CHG-2"]  # CHG-1: deployed in the window
    assert population["CHG-1"]["approvers"] == "bob(engineer)"  # approved before the window
    assert population["CHG-1"]["approvals_match_deployed"] == "bob=no"
    assert population["CHG-2"]["justification"].startswith("'=")  # no formula for a spreadsheet
    assert population["CHG-2"]["retrospective_due"] == "2026-03-06T09:05:00Z"
    deployments = _table(derived, "deployments.csv")
    github = next(d for d in deployments if d["source"] == "github")
    assert github["covered_by_change"] == "no" and github["actor"] == "mallory"
    kinds = sorted(e["kind"] for e in _table(derived, "exceptions.csv"))
    assert kinds == [
        "deployment-outside-gate",
        "retrospective-review-missing",
        "stale-approval-at-deployment",
    ]
    # the approval bound to CHG-1's content is not stale
    events[1]["after"]["content_digest"] = _digest(old)
    fresh = rows.derive(events, _manifest(3, 6))
    assert "stale-approval-at-deployment" not in str(fresh["exceptions.csv"])
    # a window that ends before CHG-2 leaves it out
    assert [r["id"] for r in _table(rows.derive(events, _manifest(3, 3)), "population.csv")] == [
        "CHG-1"
    ]
