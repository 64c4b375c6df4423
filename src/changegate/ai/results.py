"""Behavioural results as changegate stores them (policy §10.3): a run written into a JSON
document and read back, and the regression validation's details. Pure: no database.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from changegate.ai.documents import DOC_VERSION, cut, rate, short_sha
from changegate.errors import InvalidInput

if TYPE_CHECKING:
    from changegate.ai.report import RegressionReport, RunResult


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


def results_doc(
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


def regression_details(report: RegressionReport, post_sha: str | None) -> str:
    """The validation's details: verdict reasons and every regressed case."""
    before = report.before
    base = (
        f"baseline {rate(before.passed, before.total)}"
        if before is not None
        else f"baseline {report.baseline_pass_rate:.1%} (no pre-change run)"
    )
    parts = [
        f"suite {report.suite}: after {rate(report.after.passed, report.after.total)} vs "
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
    parts.append(f"full report: document {short_sha(post_sha)}")
    return cut("; ".join(p for p in parts if p))
