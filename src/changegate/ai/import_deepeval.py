"""A DeepEval test run JSON read into a :class:`RunResult` (see
:mod:`changegate.ai.importers` for the format)."""

from __future__ import annotations

from typing import Any

from changegate.ai.errors import ImportFormatError
from changegate.ai.import_common import as_text, summary_count, summary_failures, unique_id
from changegate.ai.report import AssertionResult, CaseResult, RunResult


def parse_deepeval(data: Any, *, source: str = "deepeval test run") -> RunResult:
    """Read a DeepEval test run (``testRunData`` wrapper or bare ``TestRun``)."""
    if isinstance(data, dict) and isinstance(data.get("testRunData"), dict):
        run = data["testRunData"]
    else:
        run = data
    if not isinstance(run, dict) or not ("testCases" in run or "conversationalTestCases" in run):
        raise ImportFormatError(
            f"{source}: no testCases found; expected DeepEval's .deepeval/.latest_test_run.json "
            "({testRunData: {testCases: [...]}}) or a saved TestRun",
            field="testCases",
        )
    seen: dict[str, int] = {}
    cases: list[CaseResult] = []
    for key in ("testCases", "conversationalTestCases"):
        items = run.get(key)
        if items is None:
            items = []
        if not isinstance(items, list):
            raise ImportFormatError(f"{source}: {key} must be a list", field=key)
        for i, tc in enumerate(items):
            where = f"{key}[{i}]"
            if not isinstance(tc, dict):
                raise ImportFormatError(f"{source}: {where} must be an object", field=where)
            metrics = tc.get("metricsData")
            if metrics is None:
                metrics = []
            if not isinstance(metrics, list):
                raise ImportFormatError(
                    f"{source}: {where}.metricsData must be a list", field=f"{where}.metricsData"
                )
            checks = tuple(_deepeval_metric(m, f"{source}: {where}") for m in metrics)
            success = tc.get("success")
            if not isinstance(success, bool):
                success = bool(checks)
            # any failure anywhere fails: the case's verdict and every metric's
            success = success and all(c.passed for c in checks)
            name = tc.get("name") if isinstance(tc.get("name"), str) else f"test_case_{i}"
            errors = [c.detail for c in checks if c.type.endswith("(error)")]
            cases.append(
                CaseResult(
                    case_id=unique_id(str(name), seen),
                    output=as_text(tc.get("actualOutput")),
                    passed=success,
                    assertions=checks,
                    error="; ".join(errors) or None,
                    input=as_text(tc.get("input")) or as_text(tc.get("scenario")),
                )
            )
    cases += _deepeval_summary(run, cases, seen, source)
    label = run.get("identifier") or run.get("testFile") or "deepeval test run"
    return RunResult(
        label=str(label),
        source="deepeval",
        cases=tuple(cases),
        metadata={
            "test_passed": run.get("testPassed"),
            "test_failed": run.get("testFailed"),
            "run_duration": run.get("runDuration"),
            "link": data.get("testRunLink") if isinstance(data, dict) else None,
        },
    )


def _deepeval_summary(
    run: dict[str, Any], cases: list[CaseResult], seen: dict[str, int], source: str
) -> list[CaseResult]:
    """Failures the test run's own summary counts beyond its test cases: ``testFailed``, test
    cases ``testPassed`` does not count, and per metric ``metricsScores[].fails`` + ``errors``
    (each failing metric fails at least one test case)."""
    passed = summary_count(run.get("testPassed"), "testPassed", source)
    failed = summary_count(run.get("testFailed"), "testFailed", source) or 0
    scores = run.get("metricsScores")
    if scores is None:
        scores = []
    if not isinstance(scores, list):
        raise ImportFormatError(f"{source}: metricsScores must be a list", field="metricsScores")
    metric_bad: list[tuple[int, str]] = []
    for i, m in enumerate(scores):
        where = f"metricsScores[{i}]"
        if not isinstance(m, dict):
            raise ImportFormatError(f"{source}: {where} must be an object", field=where)
        bad = (summary_count(m.get("fails"), f"{where}.fails", source) or 0) + (
            summary_count(m.get("errors"), f"{where}.errors", source) or 0
        )
        metric_bad.append((bad, str(m.get("metric") or "?")))
    row_bad = sum(1 for c in cases if not c.passed)
    worst_metric = max(metric_bad, default=(0, ""))
    worse = max(row_bad, failed, len(cases) - passed if passed is not None else 0, worst_metric[0])
    return summary_failures(
        "deepeval test run",
        worse - row_bad,
        f"the test run counts testPassed={passed}, testFailed={failed}"
        + (f", {worst_metric[0]} failing {worst_metric[1]}" if worst_metric[0] else "")
        + f"; its test cases show {row_bad} of {len(cases)} failing",
        seen,
    )


def _deepeval_metric(m: Any, where: str) -> AssertionResult:
    if not isinstance(m, dict) or not isinstance(m.get("name"), str):
        raise ImportFormatError(f"{where}: each metricsData entry needs a 'name'")
    score = m.get("score")
    threshold = m.get("threshold")
    error = m.get("error")
    reason = m.get("reason") or ""
    detail = str(reason)
    if isinstance(score, int | float) and isinstance(threshold, int | float):
        detail = f"score {score} vs threshold {threshold}" + (f": {reason}" if reason else "")
    name = f"deepeval:{m['name']}"
    if error:
        return AssertionResult(f"{name}(error)", False, str(error))
    return AssertionResult(
        name,
        m.get("success") is True,
        detail,
        float(score) if isinstance(score, int | float) else None,
    )
