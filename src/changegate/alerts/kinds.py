"""Which audit events are violations, and of which alert kind: the one mapping table.

Pure: an event's action and its recorded state in, alert kinds out. Whether a kind raises an
alert is the policy's choice (``monitoring.alert_on``); what each kind means is here, so the
list of everything that can alert is readable in one place (docs/alerts.md mirrors it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

State = Mapping[str, Any]


def _gate(after: State, extra: State) -> list[str]:
    if not after.get("passed"):
        kinds = ["gate-refused"]
        if any(str(u).startswith("segregation-of-duties") for u in after.get("unmet") or []):
            kinds.append("sod-refusal")
        return kinds
    return ["emergency-bypass"] if after.get("bypass") else []


def _denied(after: State, extra: State) -> list[str]:
    # a refusal the services raised as SegregationOfDuties (auth.service.record_denied)
    return ["sod-refusal"] if extra.get("sod") is True else []


def _policy(after: State, extra: State) -> list[str]:
    # the first policy a database records is its start, not a change of policy
    return ["policy-changed"] if int(after.get("id") or 0) > 1 else []


def _always(kind: str) -> Callable[[State, State], list[str]]:
    return lambda after, extra: [kind]


#: audit action -> the alert kinds one of its events is, from its ``after`` state and ``extra``
TRIGGERS: dict[str, Callable[[State, State], list[str]]] = {
    "gate.evaluated": _gate,
    "access.denied": _denied,
    "github.deployment_violation": _always("deployment-outside-gate"),
    "emergency.review_overdue": _always("emergency-review-overdue"),
    "audit.verification_failed": _always("audit-verify-failed"),
    "policy.loaded": _policy,
    # deployments of AI changes: decided with the change's row (alerts.raising)
    "deployment.recorded": lambda after, extra: ["ai-change-deployed"],
    # recorded by the delivery worker's sweep (alerts.service.sweep_overdue)
    "finding.past_sla": _always("finding-past-sla"),
    "access_review.overdue": _always("access-review-overdue"),
}


def kinds_of(action: str, after: State | None, extra: State | None) -> list[str]:
    """The alert kinds an event of ``action`` is (empty for most events)."""
    trigger = TRIGGERS.get(action)
    return trigger(after or {}, extra or {}) if trigger is not None else []


def summary(kind: str, action: str, actor: str, after: State | None, extra: State | None) -> str:
    """One line a person reads in a chat message or the investigations list."""
    a, x = after or {}, extra or {}
    change = a.get("change") or ""
    if action == "gate.evaluated":
        unmet = "; ".join(str(u) for u in a.get("unmet") or [])[:500]
        verdict = "emergency bypass" if kind == "emergency-bypass" else f"refused: {unmet}"
        return f"{change} to {a.get('environment')} by {a.get('deployer')}: {verdict}"
    if action == "access.denied":
        return f"{actor} refused: {str(x.get('reason', ''))[:500]}"
    if action == "github.deployment_violation":
        return f"GitHub deployment to {a.get('environment')}: {str(a.get('violation'))[:500]}"
    if action == "deployment.recorded":
        return f"AI change {change} deployed to {a.get('environment')} ({a.get('version')})"
    if action == "policy.loaded":
        return f"policy {a.get('name')} v{a.get('version')} loaded from {a.get('source')}"
    detail = x.get("summary") or x.get("problems") or change
    return f"{kind}: {str(detail)[:500]}"
