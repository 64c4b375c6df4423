"""Findings and changes (§6, §3c): the changes that fix a finding, resolving it when one is
deployed to production, and the gate's requirement about findings past their SLA."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from changegate.audit import events
from changegate.audit.service import record
from changegate.changes.models import Change
from changegate.db import utcnow
from changegate.errors import Conflict, InvalidInput
from changegate.findings.models import Finding, FindingLink, RiskAcceptance
from changegate.findings.service import get_finding
from changegate.policy.engine import RequirementResult

if TYPE_CHECKING:
    from changegate.policy.schema import Policy

#: a link that makes a change fix a finding: ``--fixes``, or the finding that triggered an
#: emergency change (``--triggered-by``)
KINDS = ("fixes", "trigger")


def link_findings(
    session: Session,
    policy: Policy,
    change: Change,
    *,
    findings: Sequence[str],
    kind: str = "fixes",
    actor: str,
) -> list[FindingLink]:
    """Record that ``change`` fixes each of ``findings`` (or, ``kind="trigger"``, that the
    finding triggered the emergency change, which then fixes it too)."""
    if not findings:
        return []
    if kind not in KINDS:
        raise InvalidInput(f"link kind {kind!r}: use one of {', '.join(KINDS)}", field="kind")
    if kind == "trigger" and policy.classes[change.change_class].retrospective_review is None:  # type: ignore[index]
        raise InvalidInput(
            f"--triggered-by names the finding behind an emergency change; {change.key} is a "
            f"{change.change_class} change (use --fixes)",
            field="triggered_by",
        )
    links: list[FindingLink] = []
    for ident in findings:
        finding = get_finding(session, ident)
        if finding.status == "fixed":
            raise Conflict(f"finding {finding.id} is already fixed", field="fixes")
        linked = session.scalar(
            select(FindingLink).where(
                FindingLink.finding_id == finding.id, FindingLink.change_id == change.id
            )
        )
        if linked is not None:
            continue
        link = FindingLink(
            finding_id=finding.id,
            change_id=change.id,
            kind=kind,
            created_by=actor,
            created_at=utcnow(),
        )
        session.add(link)
        record(session, events.FindingLinked, actor=actor, after=link)
        links.append(link)
    return links


def resolve_deployed(
    session: Session, policy: Policy, change: Change, *, env: str, actor: str
) -> list[Finding]:
    """A deployment of ``change`` to a production environment resolves the findings it fixes,
    recording the change on each (called by ``deployments.service.deploy``)."""
    if env not in policy.findings.production_environments:
        return []
    fixed = session.scalars(
        select(Finding)
        .join(FindingLink, FindingLink.finding_id == Finding.id)
        .where(FindingLink.change_id == change.id, Finding.status != "fixed")
        .order_by(Finding.id)
    ).all()
    now = utcnow()
    for finding in fixed:
        before = finding.audit_state()
        finding.status, finding.change_id, finding.updated_at = "fixed", change.id, now
        record(
            session,
            events.FindingFixed,
            actor=actor,
            after=finding,
            before=before,
            extra={"change": change.key, "environment": env},
        )
    return list(fixed)


def past_sla(
    session: Session, policy: Policy, scopes: Sequence[str], *, today: dt.date
) -> list[Finding]:
    """Findings of the gate's severities in ``scopes`` past their due date: open ones, and
    risk-accepted ones whose acceptance has expired (whether or not the lapse is recorded
    yet: the gate reads, it does not wait for the next write)."""
    lapsed = select(RiskAcceptance.finding_id).where(
        RiskAcceptance.state == "active", RiskAcceptance.expires < today
    )
    return list(
        session.scalars(
            select(Finding)
            .where(
                Finding.scope.in_(list(scopes)),
                Finding.severity.in_(list(policy.findings.gate_severities)),
                Finding.due < today,
                or_(
                    Finding.status == "open",
                    and_(Finding.status == "risk_accepted", Finding.id.in_(lapsed)),
                ),
            )
            .order_by(Finding.id)
        )
    )


def gate_requirement(
    session: Session, policy: Policy, change: Change, *, env: str
) -> RequirementResult | None:
    """The gate's findings requirement for a deployment of ``change`` to ``env``, or None when
    the policy does not gate this environment on findings. The change's scope is its
    components and the policy's default scope; findings the change fixes do not count."""
    spec = policy.findings
    if spec.gate == "off" or env not in spec.production_environments:
        return None
    scopes = [*change.components, spec.default_scope]
    fixes = set(
        session.scalars(select(FindingLink.finding_id).where(FindingLink.change_id == change.id))
    )
    late = [
        f for f in past_sla(session, policy, scopes, today=utcnow().date()) if f.id not in fixes
    ]
    severities = "/".join(spec.gate_severities)
    if not late:
        reason = f"no {severities} findings past their SLA in scope {', '.join(scopes)}"
    else:
        named = ", ".join(f"#{f.id} {f.rule_id} (due {f.due})" for f in late[:5])
        more = f" and {len(late) - 5} more" if len(late) > 5 else ""
        reason = f"{len(late)} {severities} finding(s) past SLA: {named}{more}"
        if spec.gate == "warn":
            reason = f"warning: {reason} (policy findings.gate: warn)"
        else:
            reason += "; fix them (change new --fixes) or accept the risk"
    return RequirementResult(
        rule_id="findings-sla",
        section=spec.section,
        description=f"No {severities} vulnerability findings past their SLA in the change's scope",
        kind="findings",
        stage="gate",
        met=not late or spec.gate == "warn",
        reason=reason,
        policy=f"{policy.label} §{spec.section} findings",
    )


def link_new_change(
    session: Session,
    policy: Policy,
    change: Change,
    *,
    fixes: Sequence[str] = (),
    triggered_by: Sequence[str] = (),
    actor: str,
) -> list[FindingLink]:
    """The links ``change new --fixes F --triggered-by F`` asks for, recorded with the change."""
    links = link_findings(
        session, policy, change, findings=triggered_by, kind="trigger", actor=actor
    )
    return links + link_findings(session, policy, change, findings=fixes, actor=actor)
