"""§10.2's security impact assessment on a change: the structured assessment by a security
reviewer, the prompt-injection probe and garak results, and the ``security-impact``
validation derived from them (the latest one counts). Flushes, never commits.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from changegate.ai.documents import (
    DOC_VERSION,
    CheckEvidence,
    add_document,
    cut,
    json_bytes,
    latest_document,
    rate,
)
from changegate.ai.results import run_to_dict
from changegate.changes.models import Change
from changegate.db import utcnow
from changegate.errors import ChangegateError, InvalidInput, PolicyDenied
from changegate.evidence import service as evidence
from changegate.evidence.models import Evidence
from changegate.users.models import User
from changegate.users.service import get_user

if TYPE_CHECKING:
    from changegate.ai.injection import InjectionReport
    from changegate.ai.report import RunResult
    from changegate.policy.schema import Policy


#: the three questions of §10.2's security impact assessment
ASSESSMENT_DIMENSIONS: dict[str, str] = {
    "prompt_injection": "prompt injection risk",
    "data_leakage": "data leakage risk",
    "content_filter": "risk to content filtering effectiveness",
}


def assessor_refusal(policy: Policy, user: User) -> PolicyDenied | None:
    """Why ``user`` may not record a security impact assessment (the policy's
    ``ai.security_assessor_roles``), or ``None`` when they may."""
    allowed = policy.ai.security_assessor_roles
    if set(user.roles) & set(allowed):
        return None
    return PolicyDenied(
        f"{user.name} may not record a security impact assessment: the policy asks for a "
        f"user with role {' or '.join(allowed)} (ai.security_assessor_roles); {user.name} "
        f"holds {', '.join(user.roles) or 'no roles'}",
        field="by",
    )


def assessment_refusal(
    session: Session, policy: Policy, change: Change, user: User
) -> ChangegateError | None:
    """Why ``user`` may not record an assessment on ``change`` now (the assessor roles, then
    who may attach evidence to it), or ``None``: what a page asks before offering the form."""
    refusal: ChangegateError | None = assessor_refusal(policy, user)
    if refusal is None:
        try:
            evidence.check_can_attach(session, policy, change, actor=user.name)
        except ChangegateError as exc:
            refusal = exc
    return refusal


def record_assessment(
    session: Session,
    policy: Policy,
    change: Change,
    *,
    ratings: Mapping[str, str],
    actor: str,
    notes: str = "",
    dimension_notes: Mapping[str, str] | None = None,
) -> CheckEvidence:
    """Record a structured security impact assessment by a user holding one of the policy's
    ``ai.security_assessor_roles``, and re-derive the ``security-impact`` validation."""
    user = get_user(session, actor)
    refusal = assessor_refusal(policy, user)
    if refusal is not None:
        raise refusal
    levels = policy.risk.levels
    problems = [
        f"--{dim.replace('_', '-')} {ratings.get(dim)!r}: use {'|'.join(levels)}"
        for dim in ASSESSMENT_DIMENSIONS
        if ratings.get(dim) not in levels
    ]
    unknown = sorted(set(ratings) - set(ASSESSMENT_DIMENSIONS)) + sorted(
        set(dimension_notes or {}) - set(ASSESSMENT_DIMENSIONS)
    )
    problems += [
        f"unknown dimension {d!r}; use {', '.join(ASSESSMENT_DIMENSIONS)}" for d in unknown
    ]
    if problems:
        first = problems[0].split()[0].lstrip("-").replace("-", "_")
        raise InvalidInput("; ".join(problems), field=first)
    names = policy.ai.evidence
    assessment = {
        dim: {"rating": ratings[dim], "note": (dimension_notes or {}).get(dim, "")}
        for dim in ASSESSMENT_DIMENSIONS
    }
    data = {
        "kind": "security-impact-assessment",
        "version": DOC_VERSION,
        "change": change.key,
        "change_digest": change.content_digest(),
        "assessor": user.name,
        "assessor_roles": sorted(user.roles),
        "ratings": assessment,
        "notes": notes,
        "assessed_at": utcnow().isoformat(),
    }
    summary_text = ", ".join(
        f"{ASSESSMENT_DIMENSIONS[d]} {v['rating']}" for d, v in assessment.items()
    )
    doc = add_document(
        session,
        policy,
        change,
        kind=names.security_assessment,
        data=data,
        actor=user.name,
        details=cut(f"{summary_text}" + (f"; {notes}" if notes else "")),
        summary={k: v for k, v in data.items() if k != "assessed_at"},
        passed=None,
    )
    validation = refresh_security_impact(session, policy, change, actor=user.name)
    return CheckEvidence(
        "pass" if validation.passed else "fail",
        bool(validation.passed),
        doc,
        validation,
        data,
    )


def store_injection(
    session: Session, policy: Policy, change: Change, *, report: InjectionReport, actor: str
) -> CheckEvidence:
    """Store the built-in prompt-injection probe outcome and re-derive ``security-impact``."""
    names = policy.ai.evidence
    data = report.to_dict()
    counts = {s: sum(1 for p in report.probes if p.status == s) for s in ("pass", "fail")}
    counts |= {s: sum(1 for p in report.probes if p.status == s) for s in ("skipped", "error")}
    doc = add_document(
        session,
        policy,
        change,
        kind=names.injection_results,
        data=data,
        actor=actor,
        details=cut(
            f"{report.status} against {report.target}: "
            + ", ".join(f"{n} {s}" for s, n in counts.items() if n)
            + ("; failed: " + ", ".join(p.probe_id for p in report.failed) if report.failed else "")
        ),
        summary={
            "status": report.status,
            "target": report.target,
            "failed": [p.probe_id for p in report.failed],
            **counts,
        },
        passed=report.passed,
    )
    validation = refresh_security_impact(session, policy, change, actor=actor)
    return CheckEvidence(report.status, report.passed, doc, validation, data)


def store_garak(
    session: Session,
    policy: Policy,
    change: Change,
    *,
    run: RunResult,
    actor: str,
    original: Mapping[str, Any] | None = None,
) -> CheckEvidence:
    """Store imported garak results (a failing attempt is a probe that got through) and
    re-derive ``security-impact``."""
    names = policy.ai.evidence
    failed = [c.case_id for c in run.cases if not c.passed]
    status = "fail" if failed else ("pass" if run.cases else "inconclusive")
    data = {
        "kind": "garak-results",
        "version": DOC_VERSION,
        "status": status,
        "run": run_to_dict(run),
        **({"original": dict(original)} if original else {}),
    }
    doc = add_document(
        session,
        policy,
        change,
        kind=names.garak_results,
        data=data,
        actor=actor,
        details=cut(
            f"garak {status}: {rate(run.passed, run.total)} attempts resisted"
            + (f"; hits: {', '.join(failed[:20])}" if failed else "")
        ),
        summary={"status": status, **run.summary(), "failed": failed[:200]},
        passed=status == "pass",
    )
    validation = refresh_security_impact(session, policy, change, actor=actor)
    return CheckEvidence(status, status == "pass", doc, validation, data)


def security_impact(session: Session, policy: Policy, change: Change) -> tuple[bool, str]:
    """Whether §10.2's security impact assessment is done: an assessment by a security
    assessor exists, and the prompt-injection probes and garak (where run) found nothing."""
    names = policy.ai.evidence
    allowed = set(policy.ai.security_assessor_roles)
    assessment = None
    for item in session.scalars(
        select(Evidence)
        .where(
            Evidence.change_id == change.id,
            Evidence.kind == "document",
            Evidence.name == names.security_assessment,
        )
        .order_by(Evidence.id.desc())
    ):
        s = item.summary or {}
        if s.get("kind") == "security-impact-assessment" and allowed & set(
            s.get("assessor_roles") or []
        ):
            assessment = s
            break
    problems: list[str] = []
    parts: list[str] = []
    if assessment is None:
        problems.append(
            f"no security impact assessment by a {' or '.join(sorted(allowed))} user "
            f"(`changegate ai assess {change.key} ... --by NAME`)"
        )
    else:
        ratings = assessment.get("ratings") or {}
        parts.append(
            f"assessed by {assessment.get('assessor')}: "
            + ", ".join(
                f"{ASSESSMENT_DIMENSIONS.get(d, d)} {v.get('rating')}" for d, v in ratings.items()
            )
        )
    for label, name in (
        ("prompt-injection probes", names.injection_results),
        ("garak", names.garak_results),
    ):
        found = latest_document(session, change, name)
        if found is None:
            continue
        s = found.summary or {}
        status = s.get("status")
        failed = s.get("failed") or []
        if status == "pass":
            parts.append(f"{label}: pass")
        elif status == "fail":
            problems.append(f"{label} found leaks: {', '.join(map(str, failed[:10]))}")
        else:
            problems.append(f"{label} {status or 'unreadable'}: run them again")
    if problems:
        return False, "; ".join(problems + parts)
    return True, "; ".join(parts)


def refresh_security_impact(
    session: Session, policy: Policy, change: Change, *, actor: str
) -> Evidence:
    """Add the ``security-impact`` validation as it now stands (the latest one counts), with
    a report naming the documents it was decided on."""
    names = policy.ai.evidence
    ok, details = security_impact(session, policy, change)
    sources = {
        name: found.blob_sha256
        for name in (names.security_assessment, names.injection_results, names.garak_results)
        if (found := latest_document(session, change, name)) is not None
    }
    verdict = "pass" if ok else "fail"
    return evidence.add_validation(
        session,
        policy,
        change,
        name=names.security_impact,
        result=verdict,
        details=cut(details),
        actor=actor,
        report=json_bytes({"verdict": verdict, "reasons": details, "documents": sources}),
        report_filename=f"{names.security_impact}.json",
    )
