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
from typing import Literal

from changegate.ai.errors import ImportFormatError
from changegate.ai.import_common import parse_json, read_text
from changegate.ai.import_deepeval import parse_deepeval as parse_deepeval
from changegate.ai.import_garak import parse_garak as parse_garak
from changegate.ai.import_promptfoo import parse_promptfoo as parse_promptfoo
from changegate.ai.report import (
    RegressionReport,
    RunResult,
    compare_runs,
)

ResultFormat = Literal["promptfoo", "deepeval", "garak"]
FORMATS: tuple[ResultFormat, ...] = ("promptfoo", "deepeval", "garak")


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
    return parse_results(read_text(path), str(path), format)


def parse_results(text: str, source: str, format: ResultFormat | None = None) -> RunResult:
    """Results of ``format`` (detected when ``None``) from the text of a file named ``source``."""
    fmt = format or detect_format(text)
    if fmt == "garak":
        return parse_garak(text, source=source)
    if fmt == "promptfoo":
        return parse_promptfoo(parse_json(text, source), source=source)
    if fmt == "deepeval":
        return parse_deepeval(parse_json(text, source), source=source)
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
