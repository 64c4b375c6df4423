"""promptfoo ``promptfoo eval --output results.json`` read into a :class:`RunResult`
(see :mod:`changegate.ai.importers` for the format)."""

from __future__ import annotations

from typing import Any

from changegate.ai.errors import ImportFormatError
from changegate.ai.import_common import as_text, summary_count, summary_failures, unique_id
from changegate.ai.report import AssertionResult, CaseResult, RunResult


def parse_promptfoo(data: Any, *, source: str = "promptfoo results") -> RunResult:
    """Read a promptfoo results document (already parsed JSON)."""
    if not isinstance(data, dict):
        raise ImportFormatError(f"{source}: expected a JSON object from promptfoo --output")
    summary = data.get("results") if isinstance(data.get("results"), dict) else data
    assert isinstance(summary, dict)
    version = summary.get("version")
    if version not in (2, 3):
        raise ImportFormatError(
            f"{source}: results.version is {version!r}; expected 3 "
            "(run promptfoo eval --output results.json with promptfoo >= 0.50)",
            field="results.version",
        )
    rows = summary.get("results")
    if not isinstance(rows, list):
        raise ImportFormatError(
            f"{source}: results.results must be the list of EvaluateResult objects",
            field="results.results",
        )
    multi = len({(_provider(r), _prompt_label(r)) for r in rows if isinstance(r, dict)}) > 1
    seen: dict[str, int] = {}
    cases = [
        _case(row, f"results.results[{i}]", i, multi=multi, seen=seen, source=source)
        for i, row in enumerate(rows)
    ]
    stats = summary.get("stats") if isinstance(summary.get("stats"), dict) else {}
    assert isinstance(stats, dict)
    ok = summary_count(stats.get("successes"), "results.stats.successes", source)
    bad = (summary_count(stats.get("failures"), "results.stats.failures", source) or 0) + (
        summary_count(stats.get("errors"), "results.stats.errors", source) or 0
    )
    row_bad = sum(1 for c in cases if not c.passed)
    # the worse of the rows and the summary: failures it counts, and rows it does not count
    # as successes
    worse = max(row_bad, bad, len(cases) - ok if ok is not None else 0)
    cases += summary_failures(
        "promptfoo results.stats",
        worse - row_bad,
        f"results.stats counts {bad} failures and errors and {ok} successes; "
        f"the rows show {row_bad} of {len(rows)} failing",
        seen,
    )
    config = data.get("config") if isinstance(data.get("config"), dict) else {}
    assert isinstance(config, dict)
    label = config.get("description") or data.get("evalId") or "promptfoo eval"
    return RunResult(
        label=str(label),
        source="promptfoo",
        cases=tuple(cases),
        metadata={
            "eval_id": data.get("evalId"),
            "timestamp": summary.get("timestamp"),
            "version": version,
            "stats": {k: stats.get(k) for k in ("successes", "failures", "errors")},
            "shareable_url": data.get("shareableUrl"),
        },
    )


def _case(
    row: Any, where: str, i: int, *, multi: bool, seen: dict[str, int], source: str
) -> CaseResult:
    """One ``EvaluateResult`` row as a case."""
    if not isinstance(row, dict):
        raise ImportFormatError(f"{source}: {where} must be an object", field=where)
    success = row.get("success")
    if not isinstance(success, bool):
        raise ImportFormatError(
            f"{source}: {where}.success must be true or false", field=f"{where}.success"
        )
    test = row.get("testCase") if isinstance(row.get("testCase"), dict) else {}
    assert isinstance(test, dict)
    base = row.get("description") or test.get("description")
    if not isinstance(base, str) or not base:
        base = f"test {row.get('testIdx', i)}"
    if multi:
        base = f"{base} [{_provider(row)} | {_prompt_label(row)}]"
    response = row.get("response") if isinstance(row.get("response"), dict) else {}
    assert isinstance(response, dict)
    grading = row.get("gradingResult") if isinstance(row.get("gradingResult"), dict) else None
    error = row.get("error") if isinstance(row.get("error"), str) and row["error"] else None
    checks = _promptfoo_assertions(grading)
    graded_fail = grading is not None and grading.get("pass") is False
    return CaseResult(
        case_id=unique_id(base, seen),
        output=as_text(response.get("output")),
        # any failure anywhere fails: the row's verdict, its grading and its error
        passed=success and not graded_fail and error is None,
        assertions=checks,
        error=error,
        input=_promptfoo_input(row),
    )


def _provider(row: dict[str, Any]) -> str:
    p = row.get("provider")
    if isinstance(p, dict):
        return str(p.get("label") or p.get("id") or "?")
    return str(p or "?")


def _prompt_label(row: dict[str, Any]) -> str:
    p = row.get("prompt")
    if isinstance(p, dict):
        return str(p.get("label") or p.get("raw") or "?")[:60]
    return str(row.get("promptIdx", "?"))


def _promptfoo_input(row: dict[str, Any]) -> str | None:
    p = row.get("prompt")
    if isinstance(p, dict) and isinstance(p.get("raw"), str):
        return str(p["raw"])
    vars_ = row.get("vars")
    return as_text(vars_) if vars_ else None


def _promptfoo_assertions(grading: dict[str, Any] | None) -> tuple[AssertionResult, ...]:
    if grading is None:
        return ()
    parts = grading.get("componentResults")
    if not isinstance(parts, list) or not parts:
        parts = [grading]
    out: list[AssertionResult] = []
    for part in parts:
        if not isinstance(part, dict):
            continue
        assertion = part.get("assertion") if isinstance(part.get("assertion"), dict) else {}
        assert isinstance(assertion, dict)
        score = part.get("score")
        out.append(
            AssertionResult(
                type=str(assertion.get("type") or "promptfoo"),
                passed=bool(part.get("pass")),
                detail=str(part.get("reason") or ""),
                score=float(score) if isinstance(score, int | float) else None,
            )
        )
    return tuple(out)
