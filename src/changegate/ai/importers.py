"""Import evaluation results produced by other tools into :class:`RunResult`.

Supported, in the formats those tools document:

* promptfoo ``promptfoo eval --output results.json``: ``{evalId, results: {version: 3,
  timestamp, results: [EvaluateResult...], prompts, stats}, config, shareableUrl}`` (the
  bare summary ``{version, results, ...}`` is read too; version 2 has the same
  ``results`` list and is accepted).
* DeepEval test run JSON: ``.deepeval/.latest_test_run.json`` ``{testRunData: TestRun}``
  or a bare ``TestRun`` ``{testCases: [{name, input, actualOutput, success, metricsData:
  [{name, score, threshold, success, reason, error}]}], conversationalTestCases, ...}``.
* garak ``garak.<uuid>.report.jsonl``: one JSON object per line with ``entry_type``
  (``start_run setup``, ``init``, ``attempt``, ``eval``, ``completion``, ...). Each
  completed attempt (``status`` 2) becomes a case; it passes when every detector scored
  every output below 0.5 (garak's default threshold). Reports with no completed
  attempts fall back to one case per ``eval`` row (probe x detector). A report that is only a
  ``digest`` line (garak >= 0.11 ends each report with one) gives one case per probe x
  detector of its ``eval`` tree, passing when its ``absolute_score`` (pass rate) is 1.

Each run's own summary is read as well as its rows (promptfoo ``results.stats``, DeepEval
``testPassed`` / ``testFailed`` / ``metricsScores``, garak ``eval``, ``probe_summary`` and
``digest`` entries): a failure anywhere fails, and where the summary counts more failures
than the rows show, the worse figure counts: each failure the rows do not show becomes a
failing case named after the summary it came from (``... (run summary)``). A case passes
only when the tool said so and none of its own checks failed.

Imported runs compare with :func:`changegate.ai.report.compare_runs` like native runs.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from pathlib import Path
from typing import Any, Literal

from changegate.ai.errors import ImportFormatError
from changegate.ai.report import (
    AssertionResult,
    CaseResult,
    RegressionReport,
    RunResult,
    compare_runs,
)

ResultFormat = Literal["promptfoo", "deepeval", "garak"]
FORMATS: tuple[ResultFormat, ...] = ("promptfoo", "deepeval", "garak")
GARAK_HIT_THRESHOLD = 0.5


def _read(path: str | Path) -> str:
    p = Path(path)
    try:
        return p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ImportFormatError(f"{p}: cannot read results file ({exc.strerror})") from exc
    except UnicodeDecodeError as exc:
        raise ImportFormatError(f"{p}: not UTF-8 text; is this a results file?") from exc


def _json(text: str, source: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportFormatError(
            f"{source}:{exc.lineno}: not valid JSON ({exc.msg}); export the results again"
        ) from exc


def _unique(case_id: str, seen: dict[str, int]) -> str:
    n = seen.get(case_id, 0)
    seen[case_id] = n + 1
    return case_id if n == 0 else f"{case_id}#{n + 1}"


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, default=str)


def _count(value: Any, where: str, source: str) -> int | None:
    """A summary count: absent is None; anything but a whole number >= 0 is refused."""
    if value is None:
        return None
    if type(value) is not int or value < 0:
        raise ImportFormatError(
            f"{source}: {where} is {value!r}; expected a whole number >= 0 (export the results "
            "again, unedited)",
            field=where,
        )
    return value


def _summary_failures(
    label: str, missing: int, detail: str, seen: dict[str, int]
) -> list[CaseResult]:
    """Failing cases for failures a run's own summary counts but its rows do not show."""
    return [
        CaseResult(
            case_id=_unique(f"{label} (run summary)", seen),
            output=None,
            passed=False,
            assertions=(AssertionResult("run-summary", False, detail),),
            error=detail,
        )
        for _ in range(max(0, missing))
    ]


# --- promptfoo --------------------------------------------------------------------------


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
    cases: list[CaseResult] = []
    for i, row in enumerate(rows):
        where = f"results.results[{i}]"
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
        cases.append(
            CaseResult(
                case_id=_unique(base, seen),
                output=_text(response.get("output")),
                # any failure anywhere fails: the row's verdict, its grading and its error
                passed=success and not graded_fail and error is None,
                assertions=checks,
                error=error,
                input=_promptfoo_input(row),
            )
        )
    stats = summary.get("stats") if isinstance(summary.get("stats"), dict) else {}
    assert isinstance(stats, dict)
    ok = _count(stats.get("successes"), "results.stats.successes", source)
    bad = (_count(stats.get("failures"), "results.stats.failures", source) or 0) + (
        _count(stats.get("errors"), "results.stats.errors", source) or 0
    )
    row_bad = sum(1 for c in cases if not c.passed)
    # the worse of the rows and the summary: failures it counts, and rows it does not count
    # as successes
    worse = max(row_bad, bad, len(cases) - ok if ok is not None else 0)
    cases += _summary_failures(
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
    return _text(vars_) if vars_ else None


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


# --- DeepEval ---------------------------------------------------------------------------


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
                    case_id=_unique(str(name), seen),
                    output=_text(tc.get("actualOutput")),
                    passed=success,
                    assertions=checks,
                    error="; ".join(errors) or None,
                    input=_text(tc.get("input")) or _text(tc.get("scenario")),
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
    passed = _count(run.get("testPassed"), "testPassed", source)
    failed = _count(run.get("testFailed"), "testFailed", source) or 0
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
        bad = (_count(m.get("fails"), f"{where}.fails", source) or 0) + (
            _count(m.get("errors"), f"{where}.errors", source) or 0
        )
        metric_bad.append((bad, str(m.get("metric") or "?")))
    row_bad = sum(1 for c in cases if not c.passed)
    worst_metric = max(metric_bad, default=(0, ""))
    worse = max(row_bad, failed, len(cases) - passed if passed is not None else 0, worst_metric[0])
    return _summary_failures(
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


# --- garak ------------------------------------------------------------------------------


def _garak_text(value: Any) -> str | None:
    """garak >= 0.11 writes Message/Conversation dicts; older versions plain strings."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, dict):
        if isinstance(value.get("text"), str):
            return str(value["text"])
        turns = value.get("turns")
        if isinstance(turns, list):
            texts = [
                _garak_text(t.get("content"))
                for t in turns
                if isinstance(t, dict) and t.get("role") in ("user", None)
            ]
            joined = "\n".join(t for t in texts if t)
            return joined or None
    return _text(value)


def parse_garak(
    text: str, *, source: str = "garak report", threshold: float = GARAK_HIT_THRESHOLD
) -> RunResult:
    """Read a garak ``report.jsonl`` (text)."""
    attempts: dict[str, dict[str, Any]] = {}
    evals: list[dict[str, Any]] = []
    probe_summaries: list[dict[str, Any]] = []
    digests: list[dict[str, Any]] = []
    meta: dict[str, Any] = {}
    seen_any = False
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ImportFormatError(
                f"{source}:{lineno}: not valid JSON ({exc.msg}); garak writes one JSON object "
                "per line"
            ) from exc
        if not isinstance(entry, dict) or not isinstance(entry.get("entry_type"), str):
            raise ImportFormatError(
                f"{source}:{lineno}: entry has no entry_type; is this a garak report.jsonl?",
                field="entry_type",
            )
        seen_any = True
        kind = entry["entry_type"]
        if kind == "attempt":
            uid = str(entry.get("uuid", f"line{lineno}"))
            prev = attempts.get(uid)
            if prev is None or (entry.get("status") or 0) >= (prev.get("status") or 0):
                attempts[uid] = entry
        elif kind == "eval":
            evals.append(entry)
        elif kind == "probe_summary":
            probe_summaries.append(entry)
        elif kind == "digest":
            digests.append(entry)
            digest_meta = entry.get("meta") if isinstance(entry.get("meta"), dict) else {}
            assert isinstance(digest_meta, dict)
            meta.setdefault("garak_version", digest_meta.get("garak_version"))
            meta.setdefault("start_time", digest_meta.get("start_time"))
            meta.setdefault("run", digest_meta.get("run_uuid"))
        elif kind == "init":
            meta["garak_version"] = entry.get("garak_version")
            meta["start_time"] = entry.get("start_time")
            meta["run"] = entry.get("run")
        elif kind == "start_run setup":
            meta.setdefault("garak_version", entry.get("_config.version"))
            meta.setdefault("run", entry.get("transient.run_id"))
    if not seen_any:
        raise ImportFormatError(f"{source}: file is empty; expected garak report.jsonl lines")
    completed = [a for a in attempts.values() if a.get("status") == 2]
    counted = [_garak_eval_counts(e) for e in evals]
    seen: dict[str, int] = {}
    if completed:
        cases = _garak_attempt_cases(completed, threshold, seen)
        # the eval rows are garak's own tally per probe x detector: failures they count that
        # the attempt rows do not show still count
        hits = _garak_attempt_hits(completed, threshold)
        for probe, detector, passed, total in counted:
            missing = (total - passed) - hits.get((probe, detector), 0)
            cases += _summary_failures(
                f"{probe}/{detector}",
                missing,
                f"garak eval: {total - passed} of {total} outputs failed; the attempt rows "
                f"show {hits.get((probe, detector), 0)}",
                seen,
            )
    else:
        cases = _garak_eval_cases(counted, seen)
    failing_probes = {c.case_id.split("/")[0].split("#")[0] for c in cases if not c.passed}
    for entry in probe_summaries:
        probe = str(entry.get("probe") or "probe")
        counts = entry.get("detection_counts")
        fails = _count(
            counts.get("fails") if isinstance(counts, dict) else None,
            f"probe_summary {probe}: detection_counts.fails",
            source,
        )
        if fails and probe not in failing_probes:
            cases += _summary_failures(
                probe, 1, f"garak probe_summary: {fails} detections failed", seen
            )
            failing_probes.add(probe)
    for digest in digests:
        cases += _garak_digest_cases(digest, cases, seen, source)
    if not cases:
        raise ImportFormatError(
            f"{source}: no completed attempt (status 2), no eval entries and no digest; the "
            "scan did not finish or this is not a garak report.jsonl"
        )
    meta["evals"] = [
        {
            k: e.get(k)
            for k in ("probe", "detector", "passed", "fails", "total_evaluated", "total")
            if k in e
        }
        for e in evals
    ]
    return RunResult(
        label=f"garak run {meta.get('run') or ''}".strip(),
        source="garak",
        cases=tuple(cases),
        metadata=meta,
    )


def _garak_scores(a: dict[str, Any]) -> dict[str, list[float]]:
    detectors = a.get("detector_results") if isinstance(a.get("detector_results"), dict) else {}
    assert isinstance(detectors, dict)
    return {
        str(det): (
            [float(s) for s in scores if isinstance(s, int | float)]
            if isinstance(scores, list)
            else []
        )
        for det, scores in detectors.items()
    }


def _garak_attempt_hits(
    attempts: list[dict[str, Any]], threshold: float
) -> dict[tuple[str, str], int]:
    """Outputs that hit, per (probe, detector), as garak's eval rows count them."""
    hits: dict[tuple[str, str], int] = {}
    for a in attempts:
        probe = str(a.get("probe_classname") or "probe")
        for det, values in _garak_scores(a).items():
            key = (probe, det)
            hits[key] = hits.get(key, 0) + sum(1 for v in values if v >= threshold)
    return hits


def _garak_attempt_cases(
    attempts: list[dict[str, Any]], threshold: float, seen: dict[str, int]
) -> list[CaseResult]:
    out: list[CaseResult] = []
    attempts.sort(key=lambda a: (str(a.get("probe_classname")), a.get("seq") or 0))
    for a in attempts:
        probe = str(a.get("probe_classname") or "probe")
        case_id = _unique(f"{probe}#{a.get('seq', 0)}", seen)
        outputs = a.get("outputs") if isinstance(a.get("outputs"), list) else []
        assert isinstance(outputs, list)
        texts = [t for t in (_garak_text(o) for o in outputs) if t is not None]
        checks: list[AssertionResult] = []
        for det, values in sorted(_garak_scores(a).items()):
            hits = sum(1 for s in values if s >= threshold)
            checks.append(
                AssertionResult(
                    type=f"garak:{det}",
                    passed=hits == 0,
                    detail=f"{hits}/{len(values)} outputs hit (score >= {threshold})",
                    score=max(values) if values else None,
                )
            )
        out.append(
            CaseResult(
                case_id=case_id,
                output="\n---\n".join(texts) if texts else None,
                passed=all(c.passed for c in checks),
                assertions=tuple(checks),
                input=_garak_text(a.get("prompt")),
            )
        )
    return out


def _garak_eval_counts(e: dict[str, Any]) -> tuple[str, str, int, int]:
    """(probe, detector, passed, total) of an eval row; its failures are the worse of
    ``total - passed`` and ``fails``."""
    passed = e.get("passed")
    total = e.get("total_evaluated", e.get("total"))
    fails = e.get("fails", 0)
    label = f"{e.get('probe')}/{e.get('detector')}"
    if (
        type(passed) is not int
        or type(total) is not int
        or type(fails) is not int
        or not 0 <= passed <= total
        or fails < 0
    ):
        raise ImportFormatError(
            f"garak eval entry for {label} lacks integer passed/total_evaluated "
            "(0 <= passed <= total) or has a negative fails"
        )
    total = max(total, passed + fails)
    return str(e.get("probe")), str(e.get("detector")), passed, total


def _garak_eval_cases(
    evals: list[tuple[str, str, int, int]], seen: dict[str, int]
) -> list[CaseResult]:
    out: list[CaseResult] = []
    for probe, detector, passed, total in evals:
        case_id = _unique(f"{probe}/{detector}", seen)
        out.append(
            CaseResult(
                case_id=case_id,
                output=None,
                passed=passed == total,
                assertions=(
                    AssertionResult(
                        type=f"garak:{detector}",
                        passed=passed == total,
                        detail=f"{passed}/{total} outputs passed",
                        score=(passed / total) if total else None,
                    ),
                ),
            )
        )
    return out


def _garak_digest_cases(
    digest: dict[str, Any], cases: list[CaseResult], seen: dict[str, int], source: str
) -> list[CaseResult]:
    """Cases from a ``digest`` entry's ``eval`` tree (group -> probe -> detector, each
    detector with ``absolute_score``, its pass rate): one per probe x detector, failing below
    1. Where attempt or eval rows already cover a probe, the digest adds only failures they
    did not show."""
    tree = digest.get("eval")
    if not isinstance(tree, dict):
        raise ImportFormatError(f"{source}: digest entry has no eval tree", field="digest.eval")
    failing = {c.case_id.split("#")[0].split(" (")[0] for c in cases if not c.passed}
    failing_probes = {f.split("/")[0] for f in failing}
    covered = {c.case_id.split("#")[0].split("/")[0] for c in cases}
    out: list[CaseResult] = []
    for group in tree.values():
        if not isinstance(group, dict):
            continue
        for probe, detectors in group.items():
            if probe.startswith("_") or not isinstance(detectors, dict):
                continue
            for detector, result in detectors.items():
                if detector.startswith("_") or not isinstance(result, dict):
                    continue
                raw = result.get("absolute_score")
                score = float(raw) if isinstance(raw, int | float) else None
                readable = score is not None and 0 <= score <= 1
                passed = readable and score == 1
                if passed and probe in covered:
                    continue
                if not passed and (probe in failing_probes or f"{probe}/{detector}" in failing):
                    continue
                detail = (
                    f"garak digest: pass rate {score:.1%}"
                    if readable
                    else f"garak digest: absolute_score {raw!r} unreadable"
                )
                out.append(
                    CaseResult(
                        case_id=_unique(f"{probe}/{detector} (digest)", seen),
                        output=None,
                        passed=passed,
                        assertions=(
                            AssertionResult(
                                f"garak:{detector}",
                                passed,
                                detail,
                                score if readable else None,
                            ),
                        ),
                    )
                )
    return out


# --- entry points -----------------------------------------------------------------------


def detect_format(text: str) -> ResultFormat:
    """Guess the tool from the content."""
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    try:
        first_obj = json.loads(first)
    except json.JSONDecodeError:
        first_obj = None
    if isinstance(first_obj, dict) and "entry_type" in first_obj:
        return "garak"
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        data = None
    if isinstance(data, dict):
        if "testRunData" in data or "testCases" in data or "conversationalTestCases" in data:
            return "deepeval"
        inner = data.get("results")
        if "version" in data or (isinstance(inner, dict) and "version" in inner):
            return "promptfoo"
    raise ImportFormatError(
        "cannot tell which tool wrote this file; name the format: promptfoo, deepeval or garak",
        field="format",
    )


def load_results(path: str | Path, format: ResultFormat | None = None) -> RunResult:
    """Read a results file of ``format`` (detected from the content when ``None``)."""
    text = _read(path)
    source = str(path)
    fmt = format or detect_format(text)
    if fmt == "garak":
        return parse_garak(text, source=source)
    if fmt == "promptfoo":
        return parse_promptfoo(_json(text, source), source=source)
    if fmt == "deepeval":
        return parse_deepeval(_json(text, source), source=source)
    raise ImportFormatError(
        f"unknown results format {fmt!r}; use one of {', '.join(FORMATS)}", field="format"
    )


def import_report(
    after: str | Path,
    *,
    before: str | Path | None = None,
    format: ResultFormat | None = None,
    tolerance: float,
    critical: Collection[str] = (),
    baseline_pass_rate: float | None = None,
) -> RegressionReport:
    """Import one or two results files and compare them into a regression report."""
    after_run = load_results(after, format)
    before_run = load_results(before, format) if before is not None else None
    return compare_runs(
        before_run,
        after_run,
        tolerance=tolerance,
        critical=critical,
        baseline_pass_rate=baseline_pass_rate,
    )
