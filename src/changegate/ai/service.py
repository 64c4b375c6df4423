"""AI/GenAI review evidence on a change (policy §10.2, §10.3).

The checks themselves are pure and live beside this module (``regression``, ``isolation``,
``injection``, ``importers``). The functions here put their reports on a change as evidence,
stored by hash through :mod:`changegate.evidence.service`, so the gate evaluates them like any
other evidence and the audit log records every step:

* ``behavioral-results-pre`` / ``behavioral-results-post`` documents and a
  ``behavioral-regression`` validation whose details list the regressed cases;
* a ``tenant-isolation-report`` document and a ``tenant-isolation`` validation;
* a structured ``security-impact-assessment`` by a security reviewer, prompt-injection probe
  and garak results, and the ``security-impact`` validation derived from them
  (:mod:`changegate.ai.security`).

The names come from the policy's ``ai.evidence`` section. The provider register lives in
:mod:`changegate.ai.providers`. This module is the slice's entry point: what the security
module, the document helpers (:mod:`changegate.ai.documents`) and the provider register
offer callers is re-exported here. Like every service, these functions flush and never commit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from changegate.ai.documents import CheckEvidence as CheckEvidence
from changegate.ai.documents import (
    add_document,
    cut,
    document_json,
    json_bytes,
    latest_document,
    rate,
    short_sha,
)
from changegate.ai.providers import expiring_dpas as expiring_dpas
from changegate.ai.results import regression_details, results_doc, run_from_dict
from changegate.ai.security import record_assessment as record_assessment
from changegate.ai.security import store_garak as store_garak
from changegate.ai.security import store_injection as store_injection
from changegate.changes.models import Change
from changegate.errors import InvalidInput
from changegate.evidence import service as evidence
from changegate.evidence.models import Evidence
from changegate.evidence.service import check_can_attach as check_can_attach

if TYPE_CHECKING:
    from changegate.ai.isolation import IsolationReport
    from changegate.ai.report import RegressionReport, RunResult
    from changegate.policy.schema import Policy


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
    return add_document(
        session,
        policy,
        change,
        kind=kind,
        data=results_doc(phase, run, suite=suite, extra=extra),
        actor=actor,
        details=f"{phase}-change results from {run.source}: {rate(run.passed, run.total)} "
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
    post_data = results_doc(
        "post",
        report.after,
        suite=report.suite,
        extra={"comparison": comparison} | ({"original": dict(original)} if original else {}),
    )
    post = add_document(
        session,
        policy,
        change,
        kind=names.results_post,
        data=post_data,
        actor=actor,
        details=f"post-change results from {report.after.source}: "
        f"{rate(report.after.passed, report.after.total)} passed; regression {report.verdict}",
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
        report=json_bytes(post_data),  # the post-change results with the comparison
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


def store_isolation(
    session: Session, policy: Policy, change: Change, *, report: IsolationReport, actor: str
) -> CheckEvidence:
    """Store the full isolation report (every canary, every probe and what came back) and the
    ``tenant-isolation`` validation; inconclusive is not a pass."""
    names = policy.ai.evidence
    data = report.to_dict()
    probes = [p for p in report.probes if p.kind == "cross-tenant"]
    doc = add_document(
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
    details = cut(
        f"{report.status} ({report.target}, tenants {', '.join(c.tenant for c in report.canaries)}): "
        + "; ".join(report.reasons)
        + f"; full report: document {short_sha(doc.blob_sha256)}"
    )
    validation = evidence.add_validation(
        session,
        policy,
        change,
        name=names.tenant_isolation,
        result="pass" if report.passed else "fail",
        details=details,
        actor=actor,
        report=json_bytes(data),
        report_filename=f"{names.tenant_isolation_report}.json",
    )
    return CheckEvidence(report.status, report.passed, doc, validation, data)
