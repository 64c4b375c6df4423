"""AI/GenAI review evidence on a change (policy §10.2, §10.3).

The checks themselves are pure and live beside this module (``regression``, ``isolation``,
``injection``, ``importers``). The functions here put their reports on a change as evidence,
stored by hash through :mod:`changegate.evidence.service`, so the gate evaluates them like any
other evidence and the audit log records every step:

* ``behavioral-results-pre`` / ``behavioral-results-post`` documents and a
  ``behavioral-regression`` validation whose details list the regressed cases;
* a ``tenant-isolation-report`` document and a ``tenant-isolation`` validation;
* a structured ``security-impact-assessment`` by a security reviewer, prompt-injection probe
  and garak results, and the ``security-impact`` validation derived from them.

The names come from the policy's ``ai.evidence`` section. The provider register lives in
:mod:`changegate.ai.providers` (``expiring_dpas`` is re-exported here). Like every service,
these functions flush and never commit.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from changegate.ai.providers import expiring_dpas as expiring_dpas
from changegate.changes.models import Change
from changegate.db import utcnow
from changegate.errors import Conflict, InvalidInput, PolicyDenied
from changegate.evidence import service as evidence
from changegate.evidence.models import Blob, Evidence
from changegate.policy import service as policy_service
from changegate.users.service import get_user

if TYPE_CHECKING:
    from changegate.ai.injection import InjectionReport
    from changegate.ai.isolation import IsolationReport
    from changegate.ai.report import RegressionReport, RunResult
    from changegate.policy.schema import Policy

DOC_VERSION = 1


# --- evidence on a change ---------------------------------------------------------------------


def check_can_attach(session: Session, policy: Policy, change: Change, *, actor: str) -> str:
    """Refuse early, before a check runs for minutes, what storing its evidence would refuse."""
    user = get_user(session, actor)
    policy_service.require(policy, user, "evidence.add", doing="attach evidence")
    if change.state == "closed":
        raise Conflict(
            f"{change.key} is closed; evidence can no longer be attached", field="change"
        )
    return user.name


def _json_bytes(data: Any) -> bytes:
    return (json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def _document(
    session: Session,
    policy: Policy,
    change: Change,
    *,
    kind: str,
    data: Mapping[str, Any],
    actor: str,
    details: str,
    summary: dict[str, Any],
    passed: bool | None,
) -> Evidence:
    return evidence.add_document(
        session,
        policy,
        change,
        content=_json_bytes(data),
        filename=f"{kind}.json",
        kind=kind,
        actor=actor,
        details=details,
        summary=summary,
        passed=passed,
    )


def latest_document(session: Session, change: Change, name: str) -> Evidence | None:
    return session.scalar(
        select(Evidence)
        .where(Evidence.change_id == change.id, Evidence.kind == "document", Evidence.name == name)
        .order_by(Evidence.id.desc())
        .limit(1)
    )


def document_json(session: Session, item: Evidence) -> Any:
    """The stored JSON of a document, or ``None`` when it is not JSON."""
    blob = session.get(Blob, item.blob_sha256) if item.blob_sha256 else None
    if blob is None:
        return None
    try:
        return json.loads(blob.content)
    except (ValueError, UnicodeDecodeError):
        return None


def _short(sha: str | None) -> str:
    return (sha or "")[:12]


def _cut(text: str, limit: int = 1500) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- behavioural regression -------------------------------------------------------------------


def run_to_dict(run: RunResult) -> dict[str, Any]:
    """A run with every case's input, output and assertion results."""
    return {
        "label": run.label,
        "source": run.source,
        "metadata": dict(run.metadata),
        "summary": run.summary(),
        "cases": [
            {
                "id": c.case_id,
                "input": c.input,
                "output": c.output,
                "passed": c.passed,
                "error": c.error,
                "assertions": [a.to_dict() for a in c.assertions],
            }
            for c in run.cases
        ],
    }


def run_from_dict(data: Any, *, where: str) -> RunResult:
    from changegate.ai.report import AssertionResult, CaseResult, RunResult

    def bad(what: str) -> InvalidInput:
        return InvalidInput(
            f"{where} is not a changegate results document ({what}); store the pre-change "
            "results with `changegate ai regress SUITE --target OLD --phase pre` or "
            "`changegate ai import FILE --phase pre`",
            field="change",
        )

    run = data.get("run") if isinstance(data, Mapping) else None
    if not isinstance(run, Mapping) or not isinstance(run.get("cases"), list):
        raise bad("no run.cases")
    cases = []
    for i, c in enumerate(run["cases"]):
        if not isinstance(c, Mapping) or not isinstance(c.get("id"), str):
            raise bad(f"run.cases[{i}].id missing")
        if not isinstance(c.get("passed"), bool):
            raise bad(f"run.cases[{i}].passed must be true or false")
        asserts = []
        for a in c.get("assertions") or []:
            if not isinstance(a, Mapping):
                raise bad(f"run.cases[{i}].assertions must be objects")
            asserts.append(
                AssertionResult(
                    type=str(a.get("type", "")),
                    passed=bool(a.get("passed")),
                    detail=str(a.get("detail", "")),
                    score=a.get("score") if isinstance(a.get("score"), int | float) else None,
                )
            )
        cases.append(
            CaseResult(
                case_id=c["id"],
                output=c.get("output") if isinstance(c.get("output"), str) else None,
                passed=c["passed"],
                assertions=tuple(asserts),
                error=c.get("error") if isinstance(c.get("error"), str) else None,
                input=c.get("input") if isinstance(c.get("input"), str) else None,
            )
        )
    meta = run.get("metadata")
    return RunResult(
        label=str(run.get("label", "")),
        source=str(run.get("source", "changegate")),
        cases=tuple(cases),
        metadata=dict(meta) if isinstance(meta, Mapping) else {},
    )


def stored_run(session: Session, policy: Policy, change: Change, phase: str) -> RunResult | None:
    """The latest pre- or post-change results stored on the change, if any."""
    names = policy.ai.evidence
    name = names.results_pre if phase == "pre" else names.results_post
    item = latest_document(session, change, name)
    if item is None:
        return None
    return run_from_dict(
        document_json(session, item), where=f"{change.key} document {name} (evidence #{item.id})"
    )


def _results_doc(
    phase: str, run: RunResult, *, suite: str | None, extra: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "kind": "behavioral-results",
        "version": DOC_VERSION,
        "phase": phase,
        "suite": suite,
        "run": run_to_dict(run),
        **(extra or {}),
    }


def _rate(passed: int, total: int) -> str:
    return f"{passed}/{total} ({passed / total:.1%})" if total else "0/0"


def store_results(
    session: Session,
    policy: Policy,
    change: Change,
    *,
    phase: str,
    run: RunResult,
    actor: str,
    suite: str | None = None,
    original: Mapping[str, Any] | None = None,
) -> Evidence:
    """Store one run as the change's pre- or post-change behavioural results (§10.3)."""
    if phase not in ("pre", "post"):
        raise InvalidInput(f"--phase {phase!r}: use pre or post", field="phase")
    names = policy.ai.evidence
    kind = names.results_pre if phase == "pre" else names.results_post
    extra = {"original": dict(original)} if original else None
    return _document(
        session,
        policy,
        change,
        kind=kind,
        data=_results_doc(phase, run, suite=suite, extra=extra),
        actor=actor,
        details=f"{phase}-change results from {run.source}: {_rate(run.passed, run.total)} "
        f"passed ({run.label})",
        summary={"phase": phase, "suite": suite, **run.summary()},
        passed=None,
    )


@dataclass(frozen=True)
class RegressionEvidence:
    report: RegressionReport
    pre: Evidence | None  # None when the pre-change results were already on the change
    post: Evidence
    validation: Evidence

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.report.verdict,
            "passed": self.report.passed,
            "reasons": list(self.report.reasons),
            "regressed": list(self.report.regressed),
            "critical_regressed": list(self.report.critical_regressed),
            "evidence": [
                e.audit_state() for e in (self.pre, self.post, self.validation) if e is not None
            ],
            "report": self.report.to_dict(),
        }


def regression_details(report: RegressionReport, post_sha: str | None) -> str:
    """The validation's details: verdict reasons and every regressed case."""
    before = report.before
    base = (
        f"baseline {_rate(before.passed, before.total)}"
        if before is not None
        else f"baseline {report.baseline_pass_rate:.1%} (no pre-change run)"
    )
    parts = [
        f"suite {report.suite}: after {_rate(report.after.passed, report.after.total)} vs "
        f"{base}, tolerance {report.tolerance:.1%}"
    ]
    if report.passed:
        parts.append("no case regressed" if not report.regressed else "")
    else:
        parts.extend(report.reasons)
    if report.regressed:
        crit = set(report.critical_regressed)
        parts.append(
            "regressed: "
            + ", ".join(f"{c} (critical)" if c in crit else c for c in report.regressed)
        )
    parts.append(f"full report: document {_short(post_sha)}")
    return _cut("; ".join(p for p in parts if p))


def store_regression(
    session: Session,
    policy: Policy,
    change: Change,
    *,
    report: RegressionReport,
    actor: str,
    store_pre: bool = True,
    original: Mapping[str, Any] | None = None,
) -> RegressionEvidence:
    """Store a before/after comparison: the pre-change results (unless already stored), the
    post-change results with the full comparison (both outputs of every case), and the
    ``behavioral-regression`` validation."""
    names = policy.ai.evidence
    pre = (
        store_results(
            session, policy, change, phase="pre", run=report.before, actor=actor, suite=report.suite
        )
        if store_pre and report.before is not None
        else None
    )
    comparison = report.to_dict()
    post_data = _results_doc(
        "post",
        report.after,
        suite=report.suite,
        extra={"comparison": comparison} | ({"original": dict(original)} if original else {}),
    )
    post = _document(
        session,
        policy,
        change,
        kind=names.results_post,
        data=post_data,
        actor=actor,
        details=f"post-change results from {report.after.source}: "
        f"{_rate(report.after.passed, report.after.total)} passed; regression {report.verdict}",
        summary={
            "phase": "post",
            "suite": report.suite,
            **report.after.summary(),
            "verdict": report.verdict,
            "regressed": list(report.regressed),
            "critical_regressed": list(report.critical_regressed),
        },
        passed=report.passed,
    )
    validation = evidence.add_validation(
        session,
        policy,
        change,
        name=names.regression,
        result=report.verdict,
        details=regression_details(report, post.blob_sha256),
        actor=actor,
        report=_json_bytes(post_data),  # the post-change results with the comparison
        report_filename=f"{names.results_post}.json",
    )
    return RegressionEvidence(report, pre, post, validation)


def store_original(
    session: Session, *, content: bytes, filename: str, format: str, actor: str
) -> dict[str, Any]:
    """Keep an imported results file as it was, by SHA-256, beside the normalised results."""
    blob = evidence.store_blob(session, content, actor=actor)
    return {"filename": filename, "format": format, "sha256": blob.sha256, "size": blob.size}


# --- tenant isolation -------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckEvidence:
    """A stored check: its report document and the validation it decided."""

    status: str
    passed: bool
    document: Evidence
    validation: Evidence
    report: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "passed": self.passed,
            "validation": self.validation.audit_state(),
            "evidence": [self.document.audit_state(), self.validation.audit_state()],
            "report": self.report,
        }


def store_isolation(
    session: Session, policy: Policy, change: Change, *, report: IsolationReport, actor: str
) -> CheckEvidence:
    """Store the full isolation report (every canary, every probe and what came back) and the
    ``tenant-isolation`` validation; inconclusive is not a pass."""
    names = policy.ai.evidence
    data = report.to_dict()
    probes = [p for p in report.probes if p.kind == "cross-tenant"]
    doc = _document(
        session,
        policy,
        change,
        kind=names.tenant_isolation_report,
        data=data,
        actor=actor,
        details=f"{report.status}: {len(probes)} cross-tenant probes over "
        f"{len(report.canaries)} tenants against {report.target}",
        summary={
            "status": report.status,
            "target": report.target,
            "tenants": [c.tenant for c in report.canaries],
            "probes": len(report.probes),
            "leaks": len(report.leaks),
        },
        passed=report.passed,
    )
    details = _cut(
        f"{report.status} ({report.target}, tenants {', '.join(c.tenant for c in report.canaries)}): "
        + "; ".join(report.reasons)
        + f"; full report: document {_short(doc.blob_sha256)}"
    )
    validation = evidence.add_validation(
        session,
        policy,
        change,
        name=names.tenant_isolation,
        result="pass" if report.passed else "fail",
        details=details,
        actor=actor,
        report=_json_bytes(data),
        report_filename=f"{names.tenant_isolation_report}.json",
    )
    return CheckEvidence(report.status, report.passed, doc, validation, data)


# --- security impact --------------------------------------------------------------------------

#: the three questions of §10.2's security impact assessment
ASSESSMENT_DIMENSIONS: dict[str, str] = {
    "prompt_injection": "prompt injection risk",
    "data_leakage": "data leakage risk",
    "content_filter": "risk to content filtering effectiveness",
}


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
    allowed = policy.ai.security_assessor_roles
    if not set(user.roles) & set(allowed):
        raise PolicyDenied(
            f"{user.name} may not record a security impact assessment: the policy asks for a "
            f"user with role {' or '.join(allowed)} (ai.security_assessor_roles); {user.name} "
            f"holds {', '.join(user.roles) or 'no roles'}",
            field="by",
        )
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
    doc = _document(
        session,
        policy,
        change,
        kind=names.security_assessment,
        data=data,
        actor=user.name,
        details=_cut(f"{summary_text}" + (f"; {notes}" if notes else "")),
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
    doc = _document(
        session,
        policy,
        change,
        kind=names.injection_results,
        data=data,
        actor=actor,
        details=_cut(
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
    doc = _document(
        session,
        policy,
        change,
        kind=names.garak_results,
        data=data,
        actor=actor,
        details=_cut(
            f"garak {status}: {_rate(run.passed, run.total)} attempts resisted"
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
        details=_cut(details),
        actor=actor,
        report=_json_bytes({"verdict": verdict, "reasons": details, "documents": sources}),
        report_filename=f"{names.security_impact}.json",
    )
