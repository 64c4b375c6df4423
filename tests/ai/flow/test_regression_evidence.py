"""Behavioural regression runs and imported results stored as evidence (policy §10.2, §10.3):
the real suite runner against a real OpenAI-compatible server, with the offline embedding
model for similarity, on both databases."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from changegate.db import session_scope
from changegate.evidence.models import Blob
from tests.ai.flow.flow import Flow, make_ai_team

pytestmark = pytest.mark.ai

SUITES = Path(__file__).parents[1] / "fixtures" / "suites"
RESULTS = Path(__file__).parents[1] / "fixtures" / "results"


@pytest.fixture
def flow(db_url: str, engine: Engine, tmp_path: Path, embedder: object) -> Flow:
    make_ai_team(engine)
    return Flow(db_url, tmp_path)


def stored(engine: Engine, sha: str) -> Any:
    with session_scope(engine, write=False) as s:
        blob = s.scalar(select(Blob).where(Blob.sha256 == sha))
        assert blob is not None
        assert hashlib.sha256(blob.content).hexdigest() == sha
        return json.loads(blob.content)


def by_name(evidence: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {f"{e['kind']}:{e['name']}": e for e in evidence}


def regress(flow: Flow, key: str, chat_url: str, *extra: str, code: int = 0) -> Any:
    return flow.json(
        "ai", "regress", str(SUITES / "support.yaml"), "--target", chat_url, "--change", key,
        "--by", "ci-bot", *extra, code=code,
    )  # fmt: skip


def test_regression_that_passes_is_stored_with_both_result_sets(
    flow: Flow, engine: Engine, chat_url: str
) -> None:
    key = flow.change("model-version-upgrade", "normal", providers=("openai",))
    out = regress(
        flow, key, chat_url, "--model", "support-v1-paraphrase", "--before-model", "support-v1"
    )
    assert out["passed"] is True and out["regressed"] == []
    ev = by_name(out["evidence"])
    assert set(ev) == {
        "document:behavioral-results-pre",
        "document:behavioral-results-post",
        "validation:behavioral-regression",
    }
    assert ev["validation:behavioral-regression"]["passed"] is True
    details = ev["validation:behavioral-regression"]["details"]
    assert details.startswith("suite support-bot: after 6/6 (100.0%) vs baseline 6/6 (100.0%)")
    assert "tolerance 5.0%" in details  # from the policy file (ai.regression.tolerance)

    pre = stored(engine, ev["document:behavioral-results-pre"]["blob_sha256"])
    post = stored(engine, ev["document:behavioral-results-post"]["blob_sha256"])
    assert pre["phase"] == "pre" and pre["run"]["label"].startswith("support-v1 @ ")
    assert post["phase"] == "post" and post["run"]["label"].startswith("support-v1-paraphrase @ ")
    refund = next(c for c in post["run"]["cases"] if c["id"] == "refund-window")
    similarity = next(a for a in refund["assertions"] if a["type"] == "similarity")
    assert similarity["passed"] and 0.7 <= similarity["score"] < 0.99  # a real embedding score
    assert post["comparison"]["verdict"] == "pass"

    reasons = {r["rule"]: r for r in flow.status(key)["requirements"]}
    for rule in (
        "model-upgrade-regression",
        "ai-behavioral-regression",
        "ai-behavioral-results-pre",
        "ai-behavioral-results-post",
    ):
        assert reasons[rule]["met"], reasons[rule]


def test_regression_on_a_degraded_model_fails_and_lists_every_regressed_case(
    flow: Flow, engine: Engine, chat_url: str
) -> None:
    key = flow.change("model-version-upgrade", "normal", providers=("openai",))
    out = regress(
        flow,
        key,
        chat_url,
        "--model",
        "support-v2-degraded",
        "--before-model",
        "support-v1",
        code=1,
    )
    assert out["passed"] is False
    assert out["regressed"] == ["refund-window", "password-reset", "order-status-json"]
    assert out["critical_regressed"] == ["refund-window"]
    ev = by_name(out["evidence"])
    details = ev["validation:behavioral-regression"]["details"]
    assert "after pass rate 50.0% is below baseline 100.0% minus tolerance 5.0% (95.0%)" in details
    assert "regressed: refund-window (critical), password-reset, order-status-json" in details

    post = stored(engine, ev["document:behavioral-results-post"]["blob_sha256"])
    case = next(c for c in post["comparison"]["cases"] if c["id"] == "refund-window")
    assert case["regressed"] and case["critical"]
    assert "30 days" in case["before"]["output"]
    assert case["after"]["output"] == "Refunds are not possible once an order is placed."

    reasons = {r["rule"]: r for r in flow.status(key)["requirements"]}
    assert not reasons["model-upgrade-regression"]["met"]
    assert reasons["model-upgrade-regression"]["reason"].startswith(
        "validation behavioral-regression: fail (by ci-bot) — suite support-bot: after 3/6"
    )
    human = flow.run(
        "ai", "regress", str(SUITES / "support.yaml"), "--target", chat_url, "--model",
        "support-v2-degraded", "--before-model", "support-v1", "--change", key, "--by", "ci-bot",
        code=1,
    ).stdout  # fmt: skip
    assert "regressed: refund-window (critical)" in human
    assert "after: Refunds are not possible once an order is placed." in human


def test_pre_change_baseline_recorded_first_then_compared(flow: Flow, chat_url: str) -> None:
    key = flow.change("system-prompt-change", "normal")
    refused = regress(flow, key, chat_url, "--model", "support-v1", code=2)
    assert refused["field"] == "before_target"
    assert "has no pre-change results" in refused["message"]

    pre = regress(flow, key, chat_url, "--model", "support-v1", "--phase", "pre")
    assert pre["phase"] == "pre" and (pre["passed"], pre["total"]) == (6, 6)
    out = regress(flow, key, chat_url, "--model", "support-v1-paraphrase")
    assert out["passed"] is True
    # the stored baseline is reused, not stored again
    assert [e["name"] for e in out["evidence"]] == [
        "behavioral-results-post",
        "behavioral-regression",
    ]
    names = [e["name"] for e in flow.evidence(key)]
    assert names.count("behavioral-results-pre") == 1

    worse = regress(flow, key, chat_url, "--model", "support-v2-degraded", code=1)
    assert worse["report"]["before"]["label"].startswith("support-v1 @ ")
    assert worse["critical_regressed"] == ["refund-window"]


def test_promptfoo_and_deepeval_results_are_imported_as_the_same_evidence(
    flow: Flow, engine: Engine
) -> None:
    key = flow.change("system-prompt-change", "normal")
    pre = flow.json(
        "ai", "import", str(RESULTS / "promptfoo_before.json"), "--format", "promptfoo",
        "--phase", "pre", "--change", key, "--by", "ci-bot",
    )  # fmt: skip
    assert [e["name"] for e in pre["evidence"]] == ["behavioral-results-pre"]
    out = flow.json(
        "ai", "import", str(RESULTS / "promptfoo_after.json"), "--change", key, "--by", "ci-bot",
        code=1,
    )  # fmt: skip
    assert out["format"] == "promptfoo"  # detected from the content
    assert out["passed"] is False and out["regressed"] == ["refund window", "no pii"]
    post_doc = by_name(out["evidence"])["document:behavioral-results-post"]
    post = stored(engine, post_doc["blob_sha256"])
    assert post["run"]["source"] == "promptfoo"
    original = post["original"]
    raw = (RESULTS / "promptfoo_after.json").read_bytes()
    assert original["sha256"] == hashlib.sha256(raw).hexdigest()  # the file as it was, kept
    with session_scope(engine, write=False) as s:
        assert s.get(Blob, original["sha256"]) is not None

    other = flow.change("model-version-upgrade", "normal", providers=("openai",))
    deep = flow.json(
        "ai", "import", str(RESULTS / "deepeval_latest_test_run.json"), "--format", "deepeval",
        "--phase", "post", "--change", other, "--by", "ci-bot", code=1,
    )  # fmt: skip
    assert deep["report"]["before"] is None and deep["report"]["baseline_pass_rate"] == 1.0
    assert deep["report"]["after"]["source"] == "deepeval"
    unmet = {r["rule"]: r["reason"] for r in flow.status(other)["unmet"]}
    assert unmet["ai-behavioral-results-pre"] == "document behavioral-results-pre: missing"
    assert "baseline 100.0% (no pre-change run)" in unmet["ai-behavioral-regression"]

    bad = flow.tmp / "broken.json"
    bad.write_text('{"results": {"version": 3, "results": [{"success": "yes"}]}}')
    r = flow.json(
        "ai", "import", str(bad), "--format", "promptfoo", "--change", key, "--by", "ci-bot",
        code=2,
    )  # fmt: skip
    assert r["error"] == "ImportFormatError"
