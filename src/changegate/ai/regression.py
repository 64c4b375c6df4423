"""Run a behavioural regression suite against a "before" and an "after" target.

Policy 10.2 asks for behavioural regression testing: the same cases run against the
system before and after the change, and the change passes when the after pass rate does
not fall below the baseline by more than the policy's tolerance and no critical case
regressed. See :mod:`changegate.ai.report` for the verdict rule and report shape.
"""

from __future__ import annotations

from typing import Any

from changegate.ai.assertions import DEFAULT_SIMILARITY_THRESHOLD, evaluate
from changegate.ai.errors import AiError, TargetError
from changegate.ai.report import (
    CaseResult,
    RegressionReport,
    RunResult,
    check_tolerance,
    compare_runs,
)
from changegate.ai.similarity import SimilarityScorer
from changegate.ai.suite import Suite
from changegate.ai.targets import Target

#: one case's answer: ``{"id", "output" (None when the target failed), "error"}``
Output = dict[str, Any]


def run_cases(
    suite: Suite,
    target: Target,
    *,
    scorer: SimilarityScorer | None = None,
    similarity_threshold: float = DEFAULT_SIMILARITY_THRESHOLD,
) -> RunResult:
    """Run every case once against ``target`` and check its assertions."""
    return judge_outputs(
        suite,
        collect_outputs(suite, target),
        label=target.label,
        scorer=scorer,
        similarity_threshold=similarity_threshold,
    )


def collect_outputs(suite: Suite, target: Target) -> list[Output]:
    """Ask ``target`` every case once: ``{id, output, error}`` per case, nothing judged.

    A target failure on one case is recorded on that case (it fails) and the run goes on,
    so one flaky answer does not hide the rest of the evidence.
    """
    out: list[Output] = []
    for case in suite.cases:
        try:
            output = target.complete(case.input, tenant=case.tenant, context=case.context)
        except TargetError as exc:
            out.append({"id": case.id, "output": None, "error": exc.message})
            continue
        out.append({"id": case.id, "output": output, "error": None})
    return out


def judge_outputs(
    suite: Suite,
    outputs: list[Output],
    *,
    label: str,
    scorer: SimilarityScorer | None = None,
    similarity_threshold: float = DEFAULT_SIMILARITY_THRESHOLD,
) -> RunResult:
    """Check every case's assertions against the output collected for it. A case with no
    output (the target failed, or none was reported) fails."""
    by_id = {o["id"]: o for o in outputs}
    unknown = sorted(set(by_id) - {c.id for c in suite.cases})
    if unknown or len(by_id) != len(outputs):
        raise AiError(
            f"the outputs name cases the suite does not have, or one twice: {unknown}",
            field="outputs",
        )
    if scorer is None and suite.uses_similarity():
        from changegate.ai.similarity import default_scorer

        scorer = default_scorer()
    results: list[CaseResult] = []
    for case in suite.cases:
        got = by_id.get(case.id) or {"output": None, "error": "no output reported"}
        output = got["output"]
        if output is None:
            error = got["error"] or "no output reported"
            results.append(CaseResult(case.id, None, False, error=error, input=case.input))
            continue
        checks = tuple(
            evaluate(a, output, scorer=scorer, similarity_threshold=similarity_threshold)
            for a in case.assertions
        )
        results.append(
            CaseResult(
                case_id=case.id,
                output=output,
                passed=all(c.passed for c in checks),
                assertions=checks,
                input=case.input,
            )
        )
    return RunResult(
        label=label, source="changegate", cases=tuple(results), metadata={"suite": suite.name}
    )


def run_suite(
    suite: Suite,
    *,
    after: Target,
    before: Target | None = None,
    tolerance: float,
    baseline_pass_rate: float | None = None,
    similarity_threshold: float = DEFAULT_SIMILARITY_THRESHOLD,
    scorer: SimilarityScorer | None = None,
) -> RegressionReport:
    """Run ``suite`` against ``before`` (when given) and ``after`` and compare.

    ``tolerance`` (a fraction, from the policy file) is how far the after pass rate may
    fall below the baseline. Without ``before``, the baseline is ``baseline_pass_rate``
    (e.g. from the last recorded run) or 1.0. ``similarity_threshold`` (the policy's
    ``ai.regression.similarity_threshold``) applies to similarity assertions that set none.
    """
    if not 0.0 < similarity_threshold <= 1.0:
        raise AiError(
            f"similarity_threshold {similarity_threshold} is out of range; give 0 < t <= 1",
            field="similarity_threshold",
        )
    check_tolerance(tolerance)
    before_run = (
        run_cases(suite, before, scorer=scorer, similarity_threshold=similarity_threshold)
        if before is not None
        else None
    )
    after_run = run_cases(suite, after, scorer=scorer, similarity_threshold=similarity_threshold)
    return compare_runs(
        before_run,
        after_run,
        tolerance=tolerance,
        critical=suite.critical_ids,
        suite=suite.name,
        baseline_pass_rate=baseline_pass_rate,
        inputs={c.id: c.input for c in suite.cases},
    )
