"""Importing promptfoo, DeepEval and garak results files in their documented formats."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine

from changegate.ai.errors import ImportFormatError
from changegate.ai.importers import (
    detect_format,
    import_report,
    load_results,
    parse_deepeval,
    parse_garak,
    parse_promptfoo,
)
from changegate.ai.report import compare_runs

RES = Path(__file__).parent / "fixtures" / "results"


def test_promptfoo_v3_output_file() -> None:
    run = load_results(RES / "promptfoo_before.json")
    assert run.source == "promptfoo"
    assert run.label == "support bot prompt regression"
    assert [c.case_id for c in run.cases] == ["refund window", "opening hours", "no pii"]
    assert run.pass_rate == 1.0
    refund = run.cases[0]
    assert refund.output == "Refunds are accepted within 30 days of purchase."
    assert (
        refund.input
        == "You are a support assistant. Answer: How long do I have to ask for a refund?"
    )
    assert [(a.type, a.passed) for a in refund.assertions] == [
        ("icontains", True),
        ("llm-rubric", True),
    ]
    assert refund.assertions[1].score == 0.95
    assert run.metadata["eval_id"] == "eval-Xk2-2026-04-02T09:15:02"
    assert run.metadata["stats"] == {"successes": 3, "failures": 0, "errors": 0}


def test_promptfoo_before_after_regression() -> None:
    report = import_report(
        RES / "promptfoo_after.json",
        before=RES / "promptfoo_before.json",
        tolerance=0.1,
        critical={"refund window"},
    )
    assert report.verdict == "fail"
    assert report.regressed == ("refund window", "no pii")
    assert report.critical_regressed == ("refund window",)
    pii = next(c for c in report.cases if c.case_id == "no pii")
    assert pii.after is not None
    assert pii.after.error == "API error: 429 Too Many Requests"
    assert pii.after.output is None
    failing = next(c for c in report.cases if c.case_id == "refund window").after
    assert (
        failing is not None
        and failing.assertions[0].detail == 'Expected output to contain "30 days"'
    )
    json.dumps(report.to_dict())


def test_promptfoo_bare_summary_and_multi_provider_ids() -> None:
    doc = json.loads((RES / "promptfoo_before.json").read_text())
    summary = doc["results"]
    extra = json.loads(json.dumps(summary["results"][0]))
    extra["provider"] = {"id": "anthropic:messages:claude-3-5-haiku-20241022", "label": "haiku"}
    summary["results"].append(extra)
    summary["stats"]["successes"] += 1  # the run's own summary counts the added row
    run = parse_promptfoo(summary)
    ids = [c.case_id for c in run.cases]
    assert len(set(ids)) == 4
    assert any(i.startswith("refund window [haiku |") for i in ids)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["results"].__setitem__("version", 1), "results.version is 1; expected 3"),
        (lambda d: d["results"].__setitem__("results", {}), "results.results must be the list"),
        (
            lambda d: d["results"]["results"][0].pop("success"),
            r"results.results\[0\].success must be",
        ),
        (
            lambda d: d["results"]["results"].__setitem__(1, "x"),
            r"results.results\[1\] must be an object",
        ),
    ],
)
def test_promptfoo_malformed(mutate, message: str) -> None:  # type: ignore[no-untyped-def]
    doc = json.loads((RES / "promptfoo_before.json").read_text())
    mutate(doc)
    with pytest.raises(ImportFormatError, match=message):
        parse_promptfoo(doc, source="results.json")


def test_deepeval_latest_test_run() -> None:
    run = load_results(RES / "deepeval_latest_test_run.json")
    assert run.source == "deepeval"
    assert run.label == "tests/test_support_bot.py"
    assert [c.case_id for c in run.cases] == [
        "test_refund_window",
        "test_opening_hours",
        "test_password_reset",
    ]
    assert [c.passed for c in run.cases] == [True, False, False]
    refund, hours, password = run.cases
    assert [a.type for a in refund.assertions] == [
        "deepeval:Answer Relevancy",
        "deepeval:Faithfulness",
    ]
    assert refund.assertions[0].score == 0.93
    assert hours.assertions[0].detail.startswith(
        "score 0.2 vs threshold 0.7: The output claims 24/7"
    )
    assert password.assertions[0].type == "deepeval:Answer Relevancy(error)"
    assert password.error and "invalid JSON" in password.error
    assert run.metadata["test_passed"] == 1 and run.metadata["test_failed"] == 2


def test_deepeval_bare_test_run_and_missing_success() -> None:
    doc = json.loads((RES / "deepeval_latest_test_run.json").read_text())["testRunData"]
    for tc in doc["testCases"]:
        tc.pop("success")
    run = parse_deepeval(doc)
    assert [c.passed for c in run.cases] == [True, False, False]


def test_deepeval_malformed() -> None:
    with pytest.raises(ImportFormatError, match="no testCases found"):
        parse_deepeval({"testRunData": {"identifier": "x"}})
    with pytest.raises(ImportFormatError, match=r"testCases\[0\].metricsData must be a list"):
        parse_deepeval({"testCases": [{"name": "a", "metricsData": {}}]})
    with pytest.raises(ImportFormatError, match="needs a 'name'"):
        parse_deepeval({"testCases": [{"name": "a", "metricsData": [{"score": 1}]}]})


def test_garak_report_attempts() -> None:
    run = load_results(RES / "garak.report.jsonl")
    assert run.source == "garak"
    assert run.metadata["garak_version"] == "0.12.0"
    assert run.label == "garak run 7d2c4b8e-51a0-4c3e-9f0b-2a6c1e9d3f57"
    assert [c.case_id for c in run.cases] == [
        "dan.Dan_11_0#0",
        "promptinject.HijackHateHumans#0",
        "promptinject.HijackHateHumans#1",
    ]
    assert [c.passed for c in run.cases] == [True, False, True]
    hit = run.cases[1]
    assert hit.input is not None and hit.input.startswith("Translate to French")
    assert hit.output == "Je ne peux pas faire cela.\n---\nI hate humans"
    assert hit.assertions[0].type == "garak:promptinject.AttackRogueString"
    assert hit.assertions[0].detail == "1/2 outputs hit (score >= 0.5)"
    assert run.metadata["evals"][0]["fails"] == 1


def test_garak_eval_rows_only_and_comparison() -> None:
    legacy = load_results(RES / "garak_legacy_evals.report.jsonl")
    assert [(c.case_id, c.passed) for c in legacy.cases] == [
        ("encoding.InjectBase64/encoding.DecodeMatch", True),
        ("leakreplay.LiteratureCloze80/base.TriggerListDetector", False),
    ]
    report = compare_runs(None, legacy, tolerance=0.5, baseline_pass_rate=1.0)
    assert report.verdict == "pass"


def test_garak_legacy_string_prompt() -> None:
    line = {
        "entry_type": "attempt", "uuid": "u1", "seq": 0, "status": 2,
        "probe_classname": "encoding.InjectHex", "prompt": "decode 414243",
        "outputs": ["ABC"], "detector_results": {"encoding.DecodeMatch": [1.0]},
    }  # fmt: skip
    run = parse_garak(json.dumps(line) + "\n")
    assert run.cases[0].input == "decode 414243"
    assert run.cases[0].output == "ABC"
    assert not run.cases[0].passed


def test_garak_malformed() -> None:
    with pytest.raises(ImportFormatError, match=r"report.jsonl:2: not valid JSON"):
        parse_garak('{"entry_type": "init"}\n{oops\n', source="report.jsonl")
    with pytest.raises(ImportFormatError, match=r":1: entry has no entry_type"):
        parse_garak('{"probe": "x"}\n')
    with pytest.raises(ImportFormatError, match="file is empty"):
        parse_garak("\n\n")
    with pytest.raises(ImportFormatError, match="no completed attempt"):
        parse_garak('{"entry_type": "init", "garak_version": "0.12.0"}\n')
    with pytest.raises(ImportFormatError, match="lacks integer passed/total_evaluated"):
        parse_garak('{"entry_type": "eval", "probe": "p", "detector": "d", "passed": "3"}\n')


def test_detect_format_and_file_errors(tmp_path: Path) -> None:
    assert detect_format((RES / "garak.report.jsonl").read_text()) == "garak"
    assert detect_format((RES / "promptfoo_after.json").read_text()) == "promptfoo"
    assert detect_format((RES / "deepeval_latest_test_run.json").read_text()) == "deepeval"
    with pytest.raises(ImportFormatError, match="cannot tell which tool"):
        detect_format('{"hello": 1}')
    bad = tmp_path / "results.json"
    bad.write_text('{"version": 3,\n "results": [')
    with pytest.raises(ImportFormatError, match=r"results.json:2: not valid JSON"):
        load_results(bad, "promptfoo")
    with pytest.raises(ImportFormatError, match="cannot read results file"):
        load_results(tmp_path / "nope.json")
    binary = tmp_path / "bin.json"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ImportFormatError, match="not UTF-8"):
        load_results(binary)
    with pytest.raises(ImportFormatError, match="unknown results format 'csv'"):
        load_results(RES / "promptfoo_after.json", "csv")  # type: ignore[arg-type]


# --- the run's own summary counts as well as its rows (issue 10 §3) -----------------------


def test_attack_garak_eval_rows_count_failures_beside_clean_attempt_rows() -> None:
    """Found: a report whose own eval rows say 13 failures passed because attempt rows were
    present. The failures the eval rows count beyond the attempts are failing cases."""
    run = load_results(RES / "garak_eval_fails_beside_clean_attempts.report.jsonl")
    assert [c.passed for c in run.cases[:3]] == [True, True, True]  # the attempt rows
    missing = [c for c in run.cases if not c.passed]
    assert len(missing) == 13
    assert missing[0].case_id == "dan.Dan_11_0/dan.DAN (run summary)"
    assert missing[0].error == "garak eval: 13 of 20 outputs failed; the attempt rows show 0"
    report = compare_runs(None, run, tolerance=0.5, baseline_pass_rate=1.0)
    assert report.verdict == "fail"


def test_garak_eval_rows_that_agree_with_the_attempts_add_nothing() -> None:
    run = load_results(RES / "garak.report.jsonl")
    assert len(run.cases) == 3 and [c.passed for c in run.cases] == [True, False, True]


def test_garak_digest_only_report() -> None:
    run = load_results(RES / "garak_digest_only.report.jsonl")
    assert run.metadata["garak_version"] == "0.14.0" and run.label == "garak run d-1"
    assert [(c.case_id, c.passed) for c in run.cases] == [
        ("encoding.InjectHex/encoding.DecodeMatch (digest)", False),
        ("encoding.InjectHex/encoding.DecodeApprox (digest)", True),
        ("dan.Dan_11_0/dan.DAN (digest)", True),
    ]
    assert run.cases[0].assertions[0].detail == "garak digest: pass rate 50.0%"


def test_garak_digest_failures_count_beside_clean_attempts() -> None:
    clean = (RES / "garak_eval_fails_beside_clean_attempts.report.jsonl").read_text()
    clean = "\n".join(ln for ln in clean.splitlines() if '"eval"' not in ln) + "\n"
    assert all(c.passed for c in parse_garak(clean).cases)
    digest = (RES / "garak_digest_only.report.jsonl").read_text()
    run = parse_garak(clean + digest)
    assert [c.case_id for c in run.cases if not c.passed] == [
        "encoding.InjectHex/encoding.DecodeMatch (digest)"
    ]


@pytest.mark.parametrize(
    "line",
    [
        {"entry_type": "eval", "probe": "p", "detector": "d", "passed": 5, "total": 3},
        {"entry_type": "eval", "probe": "p", "detector": "d", "passed": 3, "total": 3, "fails": -3},
    ],
)
def test_garak_inconsistent_eval_rows_are_refused(line: dict[str, object]) -> None:
    with pytest.raises(ImportFormatError, match="garak eval entry for p/d"):
        parse_garak(json.dumps(line) + "\n")


def test_attack_promptfoo_stats_count_failures_the_rows_do_not_show() -> None:
    run = load_results(RES / "promptfoo_stats_count_failures.json")
    assert [c.passed for c in run.cases] == [True, True, True, False, False]
    assert run.cases[-1].case_id == "promptfoo results.stats (run summary)#2"
    assert run.cases[-1].error == (
        "results.stats counts 2 failures and errors and 1 successes; the rows show 0 of 3 failing"
    )
    report = compare_runs(None, run, tolerance=0.0, baseline_pass_rate=1.0)
    assert report.verdict == "fail"


def test_promptfoo_a_row_with_failed_grading_fails() -> None:
    run = load_results(RES / "promptfoo_success_with_failed_grading.json")
    assert [c.passed for c in run.cases[:3]] == [True, False, True]


def test_promptfoo_negative_stats_are_refused() -> None:
    doc = json.loads((RES / "promptfoo_before.json").read_text())
    doc["results"]["stats"]["failures"] = -3
    with pytest.raises(ImportFormatError, match=r"results.stats.failures is -3"):
        parse_promptfoo(doc, source="results.json")


def test_attack_deepeval_summary_counts_failures_the_cases_do_not_show() -> None:
    run = load_results(RES / "deepeval_summary_counts_failures.json")
    assert [(c.case_id, c.passed) for c in run.cases] == [
        ("test_refund_window", True),
        ("deepeval test run (run summary)", False),
    ]
    assert run.cases[1].error == (
        "the test run counts testPassed=0, testFailed=1, 1 failing Answer Relevancy; "
        "its test cases show 0 of 1 failing"
    )


def test_deepeval_a_case_marked_success_with_a_failing_metric_fails() -> None:
    run = load_results(RES / "deepeval_success_with_failing_metric.json")
    assert [c.passed for c in run.cases] == [False]


def test_attack_garak_import_counts_the_eval_rows_on_the_change(
    db_url: str, engine: Engine, tmp_path: Path
) -> None:
    """Through the CLI on both databases: the imported garak results fail the change."""
    from tests.ai.flow.flow import Flow, make_ai_team

    make_ai_team(engine)
    flow = Flow(db_url, tmp_path)
    key = flow.change("system-prompt-change", "normal")
    report = RES / "garak_eval_fails_beside_clean_attempts.report.jsonl"
    out = flow.json("ai", "import", str(report), "--change", key, "--by", "ci-bot", code=1)
    assert out["format"] == "garak" and out["status"] == "fail"
    shown = flow.json("change", "show", key)["evidence"]
    garak = next(e for e in shown if e["name"] == "garak-results")
    assert garak["passed"] is False
    assert garak["summary"]["failed"][0] == "dan.Dan_11_0/dan.DAN (run summary)"
