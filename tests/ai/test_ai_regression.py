"""Behavioural regression runs against a real HTTP chat server and the real embedding model."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from changegate.ai.assertions import evaluate
from changegate.ai.errors import AiError, SuiteError, TargetError
from changegate.ai.regression import run_cases, run_suite
from changegate.ai.report import CaseResult, RunResult, compare_runs
from changegate.ai.suite import (
    ContainsAssertion,
    EqualsAssertion,
    JsonSchemaAssertion,
    NotContainsAssertion,
    RegexAssertion,
    load_suite,
    load_suite_text,
    parse_suite,
)
from changegate.ai.targets import (
    CallableTarget,
    ChatCompletionsTarget,
    chat_completions_url,
    parse_target,
)

SUITE = Path(__file__).parent / "fixtures" / "suites" / "support.yaml"


def target(chat_url: str, model: str) -> ChatCompletionsTarget:
    return ChatCompletionsTarget(url=chat_url, model=model, timeout=10)


@pytest.mark.ai
def test_regression_passes_when_behaviour_is_kept(chat_url: str, embedder: object) -> None:
    suite = load_suite(SUITE)
    report = run_suite(
        suite,
        before=target(chat_url, "support-v1"),
        after=target(chat_url, "support-v1-paraphrase"),
        tolerance=0.0,
        scorer=embedder,  # type: ignore[arg-type]
    )
    assert report.verdict == "pass", report.reasons
    assert report.before is not None and report.before.pass_rate == 1.0
    assert report.after.pass_rate == 1.0
    assert report.regressed == ()
    refund = next(c for c in report.cases if c.case_id == "refund-window")
    assert refund.critical
    assert refund.before is not None and refund.after is not None
    assert "30 days" in (refund.after.output or "")
    sim = next(a for a in refund.after.assertions if a.type == "similarity")
    assert sim.passed and sim.score is not None and 0.7 <= sim.score < 1.0
    doc = json.loads(json.dumps(report.to_dict()))
    assert doc["kind"] == "behavioral-regression"
    assert doc["verdict"] == "pass"
    assert doc["before"]["pass_rate"] == 1.0
    assert doc["cases"][0]["before"]["assertions"][0]["type"] == "contains"
    assert doc["cases"][0]["input"] == "How long do I have to ask for a refund?"


@pytest.mark.ai
def test_regression_fails_on_degraded_target(chat_url: str, embedder: object) -> None:
    suite = load_suite(SUITE)
    report = run_suite(
        suite,
        before=target(chat_url, "support-v1"),
        after=target(chat_url, "support-v2-degraded"),
        tolerance=0.05,
        scorer=embedder,  # type: ignore[arg-type]
    )
    assert report.verdict == "fail"
    assert set(report.regressed) == {"refund-window", "password-reset", "order-status-json"}
    assert report.critical_regressed == ("refund-window",)
    assert any("critical cases regressed: refund-window" in r for r in report.reasons)
    assert any("below baseline 100.0% minus tolerance 5.0%" in r for r in report.reasons)
    refund = next(c for c in report.cases if c.case_id == "refund-window").after
    assert refund is not None and not refund.passed
    sim = next(a for a in refund.assertions if a.type == "similarity")
    assert not sim.passed and "< threshold 0.7" in sim.detail
    order = next(c for c in report.cases if c.case_id == "order-status-json").after
    assert order is not None and order.assertions[0].detail.startswith("output is not JSON")


@pytest.mark.ai
def test_tolerance_absorbs_non_critical_drop(chat_url: str, embedder: object) -> None:
    text = SUITE.read_text().replace("critical: true", "critical: false")
    suite = load_suite_text(text)
    degraded = target(chat_url, "support-v2-degraded")
    loose = run_suite(
        suite,
        before=target(chat_url, "support-v1"),
        after=degraded,
        tolerance=0.5,
        scorer=embedder,  # type: ignore[arg-type]
    )
    assert loose.verdict == "pass"
    assert loose.after.pass_rate == pytest.approx(0.5)
    assert loose.regressed  # reported even when tolerated
    strict = run_suite(
        suite,
        before=target(chat_url, "support-v1"),
        after=degraded,
        tolerance=0.4,
        scorer=embedder,  # type: ignore[arg-type]
    )
    assert strict.verdict == "fail"


def test_request_body_and_tenant_header(chat_url: str) -> None:
    from tests.ai.fake_chat import GOOD

    t = ChatCompletionsTarget(
        url=f"{chat_url}/chat/completions", model="support-v1", system_prompt="Be brief."
    )
    assert t.complete("How long for a refund?") == GOOD["refund"]
    out = t.complete("Which tenant am I?", tenant="globex", context=["doc one", "doc two"])
    assert out == "You are talking to the support desk of globex."


def test_context_is_sent_as_system_message(chat_url: str) -> None:
    t = target(chat_url, "support-v1")
    out = t.complete("What does the context say?", context={"policy": "30 days"})
    assert '"policy": "30 days"' in out


def test_callable_target_and_no_before_run() -> None:
    suite = load_suite(SUITE)
    suite = parse_suite(
        {
            **suite.model_dump(by_alias=True),
            "cases": [
                c
                for c in suite.model_dump(by_alias=True)["cases"]
                if not any(a["type"] == "similarity" for a in c["assertions"])
            ],
        }
    )
    report = run_suite(
        suite, after=CallableTarget.from_spec("tests.ai.fake_targets:answer"), tolerance=0.0
    )
    assert report.before is None
    assert report.baseline_pass_rate == 1.0
    assert report.verdict == "pass", report.reasons
    assert report.after.label == "tests.ai.fake_targets:answer"
    tenant_case = next(c for c in report.cases if c.case_id == "tenant-greeting")
    assert tenant_case.after is not None and "acme" in (tenant_case.after.output or "")


def test_without_before_critical_failure_counts_as_regression() -> None:
    suite = parse_suite(
        {
            "name": "s",
            "cases": [
                {
                    "id": "a",
                    "input": "x",
                    "critical": True,
                    "assertions": [{"type": "contains", "value": "nope"}],
                },
                {"id": "b", "input": "y", "assertions": [{"type": "contains", "value": "y"}]},
            ],
        }
    )
    echo = CallableTarget(lambda i, t, c: i, label="echo")
    report = run_suite(suite, after=echo, tolerance=0.6, baseline_pass_rate=0.9)
    assert report.baseline_pass_rate == 0.9
    assert report.critical_regressed == ("a",)
    assert report.verdict == "fail"


def test_target_failures_are_recorded_per_case(chat_url: str) -> None:
    suite = parse_suite(
        {
            "name": "s",
            "cases": [
                {"id": "a", "input": "refund?", "assertions": [{"type": "contains", "value": "30"}]}
            ],
        }
    )
    run = run_cases(suite, target(chat_url, "overloaded"))
    assert not run.cases[0].passed
    assert "answered HTTP 503" in (run.cases[0].error or "")
    run = run_cases(suite, target(chat_url, "broken"))
    assert "returned no choices[0].message.content" in (run.cases[0].error or "")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    run = run_cases(
        suite, ChatCompletionsTarget(url=f"http://127.0.0.1:{dead}/v1", model="m", timeout=2)
    )
    assert "check the URL and that the service runs" in (run.cases[0].error or "")
    run = run_cases(suite, CallableTarget.from_spec("tests.ai.fake_targets:explodes"))
    assert run.cases[0].error == (
        "target tests.ai.fake_targets:explodes raised RuntimeError: backend down"
    )
    run = run_cases(suite, CallableTarget.from_spec("tests.ai.fake_targets:not_text"))
    assert "returned dict; it must return str" in (run.cases[0].error or "")


def test_parse_target_errors() -> None:
    with pytest.raises(TargetError, match="a model name is required") as exc:
        parse_target("http://127.0.0.1:9/v1")
    assert exc.value.field == "model"
    with pytest.raises(TargetError, match=r"is not 'package\.module:function'"):
        parse_target("tests.ai.fake_targets.answer")
    with pytest.raises(TargetError, match="cannot import module 'no_such_module_xyz'"):
        parse_target("no_such_module_xyz:f")
    with pytest.raises(TargetError, match="has no attribute 'missing'"):
        parse_target("tests.ai.fake_targets:missing")
    assert isinstance(parse_target("https://x.test/v1", model="m"), ChatCompletionsTarget)
    assert chat_completions_url("http://h/v1/") == "http://h/v1/chat/completions"
    assert chat_completions_url("http://h/v1/chat/completions") == "http://h/v1/chat/completions"


def test_suite_errors_name_case_and_field() -> None:
    with pytest.raises(SuiteError) as exc:
        load_suite_text(
            """
name: s
cases:
  - id: refund
    input: q
    assertions:
      - {type: regex, pattern: "(unclosed"}
      - {type: similar, reference: x}
  - id: refund
    input: q
    criticl: true
    assertions: [{type: contains, value: x}]
  - input: q
    assertions: [{type: json-schema, schema: {type: 12}}]
""",
            source="suites/s.yaml",
        )
    msg = str(exc.value)
    assert msg.startswith("suites/s.yaml: invalid regression suite:")
    assert "case 'refund'.assertions[0].pattern: is not a valid regular expression" in msg
    assert "case 'refund'.assertions[1]: unknown assertion type" in msg
    assert "case 'refund'.criticl: is not a known field" in msg
    assert "cases[2].id: Field required" in msg
    assert "cases[2].assertions[0].schema: is not a valid JSON Schema" in msg
    assert exc.value.field == "case 'refund'.assertions[0].pattern"


def test_suite_duplicate_ids_and_yaml_errors(tmp_path: Path) -> None:
    with pytest.raises(SuiteError, match="case id 'a' is used twice"):
        parse_suite(
            {
                "name": "s",
                "cases": [
                    {"id": "a", "input": "q", "assertions": [{"type": "contains", "value": "x"}]},
                    {"id": "a", "input": "q", "assertions": [{"type": "contains", "value": "x"}]},
                ],
            }
        )
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: s\ncases:\n  - id: [a\n")
    with pytest.raises(SuiteError, match=r"bad.yaml:4: not valid YAML"):
        load_suite(bad)
    with pytest.raises(SuiteError, match="cannot read suite file"):
        load_suite(tmp_path / "missing.yaml")


def test_assertions() -> None:
    assert evaluate(EqualsAssertion(type="equals", value="Yes"), " yes \n").passed is False
    assert evaluate(EqualsAssertion(type="equals", value="Yes", ignore_case=True), " yes ").passed
    assert evaluate(
        ContainsAssertion(type="contains", value="ABC", ignore_case=True), "xabcx"
    ).passed
    r = evaluate(NotContainsAssertion(type="not-contains", value="secret"), "a secret b")
    assert not r.passed and r.detail == "output contains 'secret'"
    r = evaluate(RegexAssertion(type="regex", pattern=r"\d{3}"), "code 123!")
    assert r.passed and r.detail == "pattern matched '123'"
    schema = JsonSchemaAssertion.model_validate(
        {"type": "json-schema", "schema": {"type": "object", "required": ["a"]}}
    )
    assert evaluate(schema, '```json\n{"a": 1}\n```').passed
    r = evaluate(schema, '{"b": 1}')
    assert not r.passed and r.detail == "schema violation at (root): 'a' is a required property"


def test_compare_runs_rules() -> None:
    def run(*passed: bool) -> RunResult:
        return RunResult(
            "t", "changegate", tuple(CaseResult(f"c{i}", "o", p) for i, p in enumerate(passed))
        )

    r = compare_runs(run(True, True, False), run(True, False, True), tolerance=0.0)
    assert r.verdict == "pass" and r.regressed == ("c1",)
    r = compare_runs(run(True, True, False), run(True, False, True), tolerance=0.0, critical={"c1"})
    assert r.verdict == "fail"
    missing = RunResult("t", "changegate", (CaseResult("c0", "o", True),))
    r = compare_runs(run(True, True), missing, tolerance=0.0)
    assert r.regressed == ("c1",) and r.cases[1].after is None
    with pytest.raises(AiError, match="tolerance 5 is out of range"):
        compare_runs(None, run(True), tolerance=5)
    with pytest.raises(AiError, match="baseline_pass_rate"):
        compare_runs(None, run(True), tolerance=0, baseline_pass_rate=2)
    empty = compare_runs(None, RunResult("t", "x", ()), tolerance=1.0)
    assert empty.verdict == "fail"


@pytest.mark.ai
def test_similarity_threshold_default_comes_from_the_run(embedder: object) -> None:
    suite = parse_suite(
        {
            "name": "s",
            "cases": [
                {
                    "id": "refund",
                    "input": "refund?",
                    "assertions": [
                        {"type": "similarity", "reference": "Refunds within 30 days of purchase."}
                    ],
                }
            ],
        }
    )
    bot = CallableTarget.from_spec("tests.ai.fake_targets:answer")
    lenient = run_suite(suite, after=bot, tolerance=0, similarity_threshold=0.5, scorer=embedder)  # type: ignore[arg-type]
    strict = run_suite(suite, after=bot, tolerance=0, similarity_threshold=0.99, scorer=embedder)  # type: ignore[arg-type]
    assert lenient.verdict == "pass"
    assert strict.verdict == "fail"
    detail = strict.cases[0].after.assertions[0].detail  # type: ignore[union-attr]
    assert detail.endswith("< threshold 0.99")
    with pytest.raises(AiError, match="similarity_threshold 0 is out of range"):
        run_suite(suite, after=bot, tolerance=0, similarity_threshold=0)
