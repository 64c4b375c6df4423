"""Conformance: every AI evaluation result file of the shared corpus (promptfoo, DeepEval, garak).

The corpus (``<repo>/../shared/testdata/realworld/ai-evals``, third-party files with their
sources in each folder's SOURCES.txt) is read where it is, never copied here. Expected values
are computed in this file with ``json`` from each file's rows and its own summary, independently
of changegate's importers: a failure anywhere fails, and where the summary and the rows
disagree, the worse figure counts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from changegate.ai.importers import load_results
from tests.realworld import REALWORLD, require

EVALS = REALWORLD / "ai-evals"
FILES = sorted(p for p in EVALS.glob("*/*.json")) if EVALS.is_dir() else []


def _corpus() -> None:
    require(EVALS, "the AI evaluation results conformance test")


def _promptfoo(doc: dict[str, Any]) -> tuple[int, int]:
    """(cases, failing) from the rows and results.stats."""
    summary = doc["results"]
    rows = summary["results"]
    bad_rows = sum(
        1
        for r in rows
        if r["success"] is not True
        or (r.get("gradingResult") or {}).get("pass") is False
        or r.get("error")
    )
    stats = summary["stats"]
    bad = max(
        bad_rows,
        stats["failures"] + stats["errors"],
        len(rows) - stats["successes"],
    )
    return len(rows) + (bad - bad_rows), bad


def _deepeval(doc: dict[str, Any]) -> tuple[int, int]:
    run = doc.get("testRunData", doc)
    cases = run.get("testCases") or []
    bad_rows = sum(
        1
        for c in cases
        if c.get("success") is False
        or any(m.get("success") is not True or m.get("error") for m in c.get("metricsData") or [])
    )
    metric_bad = [m.get("fails", 0) + m.get("errors", 0) for m in run.get("metricsScores") or []]
    bad = max(
        [bad_rows, run.get("testFailed") or 0, *metric_bad]
        + ([len(cases) - run["testPassed"]] if "testPassed" in run else [])
    )
    return len(cases) + (bad - bad_rows), bad


def _garak_digest(doc: dict[str, Any]) -> tuple[int, int]:
    scores = [
        result["absolute_score"]
        for group in doc["eval"].values()
        for probe, detectors in group.items()
        if not probe.startswith("_")
        for detector, result in detectors.items()
        if not detector.startswith("_")
    ]
    return len(scores), sum(1 for s in scores if s < 1)


def expected(path: Path) -> tuple[int, int]:
    doc = json.loads(path.read_text(encoding="utf-8"))
    tool = path.parent.name
    if tool == "promptfoo":
        return _promptfoo(doc)
    if tool == "deepeval":
        return _deepeval(doc)
    assert tool == "garak" and doc["entry_type"] == "digest"
    return _garak_digest(doc)


def test_the_corpus_is_there() -> None:
    _corpus()
    assert {p.parent.name for p in FILES} == {"promptfoo", "deepeval", "garak"}
    assert len(FILES) == 7


@pytest.mark.parametrize("path", FILES, ids=[f"{p.parent.name}/{p.name}" for p in FILES])
def test_every_result_file_reads_as_its_rows_and_summary_say(path: Path) -> None:
    cases, failing = expected(path)
    run = load_results(path)
    assert run.source == path.parent.name
    assert (run.total, run.total - run.passed) == (cases, failing)


def test_spot_checks_against_the_sources_notes() -> None:
    _corpus()
    # SOURCES.txt: "2 pass / 7 fail"
    red = load_results(EVALS / "promptfoo" / "promptfoo-0.118.0-redteam-echo.json")
    assert (red.passed, red.total - red.passed) == (2, 7)
    ok = load_results(EVALS / "promptfoo" / "promptfoo-0.118.14-http-all-pass.json")
    assert ok.total - ok.passed == 0
    # DeepEval's own testFailed=2 for the first beeai run, testFailed=1 for the second
    first = load_results(EVALS / "deepeval" / "beeai-f8b9dba.latest_test_run.json")
    assert first.total - first.passed == 2
    later = load_results(EVALS / "deepeval" / "beeai-cfbc9c3.latest_test_run.json")
    assert later.total - later.passed == 1
    # a garak report whose only line is the digest: probes with a pass rate below 1 fail
    for name in ("garak-0.14.0.pre1-digest-0.json", "garak-0.14.0.pre1-digest-1.json"):
        run = load_results(EVALS / "garak" / name, "garak")
        assert run.metadata["garak_version"] == "0.14.0.pre1"
        assert run.total > 0 and run.passed < run.total
