"""What the AI pages show (policy §10.2), gathered from the services: the provider register
with each DPA's state, and the AI review of a change. No HTML and no rules here: who may act
is asked of ``ai.providers``' permission and ``ai.security``."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from changegate.changes.models import Change
from changegate.policy.schema import Policy
from changegate.users.models import User

#: the policy's ``ai.evidence`` names, as the AI review section labels them
EVIDENCE_LABELS = {
    "regression": "Behavioural regression",
    "results_pre": "Behavioural results before the change",
    "results_post": "Behavioural results after the change",
    "tenant_isolation": "Tenant isolation",
    "tenant_isolation_report": "Tenant isolation report",
    "security_impact": "Security impact",
    "security_assessment": "Security impact assessment",
    "injection_results": "Prompt-injection probes",
    "garak_results": "garak (imported)",
}

#: what the register form offers; the service checks the value again
MANAGE = "ai.provider.manage"


def register_page(session: Session, policy: Policy, user: User) -> dict[str, Any]:
    """The provider register as ``changegate ai provider list --json`` prints it, and whether
    ``user`` may change it (the policy's ``ai.provider.manage``, which the service enforces)."""
    from changegate.ai.models import DPA_STATUSES
    from changegate.ai.register import listing
    from changegate.policy.service import allowed

    return listing(session, policy) | {
        "may_manage": allowed(policy, user, MANAGE),
        "dpa_statuses": list(DPA_STATUSES),
    }


def ai_review(
    session: Session,
    policy: Policy,
    change: Change,
    user: User,
    *,
    evidence: list[dict[str, Any]],
    is_ai: bool,
) -> dict[str, Any]:
    """The change's AI evidence (the rows of ``change_report`` stored under the policy's
    ``ai.evidence`` names), and whether ``user`` may record the security impact assessment.
    ``shown`` is false for a change that is not an AI change and holds no such evidence."""
    from changegate.ai.security import ASSESSMENT_DIMENSIONS, assessment_refusal

    names = policy.ai.evidence
    labels = {getattr(names, attr): label for attr, label in EVIDENCE_LABELS.items()}
    rows = [e | {"label": labels[e["name"]]} for e in evidence if e["name"] in labels]
    refusal = assessment_refusal(session, policy, change, user)
    return {
        "shown": is_ai or bool(rows),
        "rows": rows,
        "assessment_name": names.security_assessment,
        "may_assess": refusal is None,
        "assess_reason": "" if refusal is None else refusal.message,
        "dimensions": ASSESSMENT_DIMENSIONS,
        "levels": list(policy.risk.levels),
    }
