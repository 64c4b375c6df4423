"""Tenant isolation, prompt-injection probes, the security impact assessment and garak results
stored as evidence (policy §10.2): the reference RAG service and the chat server over real
HTTP, the offline embedding model, both databases."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from changegate.db import session_scope
from changegate.evidence.models import Blob, Evidence
from changegate.evidence.service import list_evidence
from tests.ai.flow.flow import Flow, make_ai_team

pytestmark = pytest.mark.ai

Service = Callable[..., AbstractContextManager[str]]
RESULTS = Path(__file__).parents[1] / "fixtures" / "results"


@pytest.fixture
def flow(db_url: str, engine: Engine, tmp_path: Path, embedder: object) -> Flow:
    make_ai_team(engine)
    return Flow(db_url, tmp_path)


def blob_json(engine: Engine, sha: str) -> Any:
    with session_scope(engine, write=False) as s:
        blob = s.get(Blob, sha)
        assert blob is not None
        return json.loads(blob.content)


def security_impact(flow: Flow, key: str) -> tuple[bool, str]:
    req = {r["rule"]: r for r in flow.status(key)["requirements"]}["ai-security-impact"]
    return req["met"], req["reason"]


def test_isolation_fails_on_a_broken_tenant_filter_and_passes_intact(
    flow: Flow, engine: Engine, rag_service: Service
) -> None:
    key = flow.change("rag-config-change", "normal")
    tenants = "acme,globex,initech"
    with rag_service(tenant_filter=False) as url:
        out = flow.json(
            "ai", "isolation", "--target", url, "--tenants", tenants, "--change", key,
            "--by", "ci-bot", "--seed", "11", code=1,
        )  # fmt: skip
    assert out["status"] == "fail" and out["passed"] is False
    doc, validation = out["evidence"]
    assert (doc["name"], doc["passed"]) == ("tenant-isolation-report", False)
    assert (validation["name"], validation["passed"]) == ("tenant-isolation", False)
    report = blob_json(engine, doc["blob_sha256"])
    assert report["tenants"] == ["acme", "globex", "initech"]
    cross = [p for p in report["probes"] if p["kind"] == "cross-tenant"]
    assert len(cross) == 3 * 2 * 2  # every tenant probes every other, twice
    assert all(p["leaks"] and p["response"]["chunks"] for p in cross)  # what came back, kept
    leak = cross[0]["leaks"][0]
    assert leak["where"] in ("chunk", "answer", "context")
    met_reason = {r["rule"]: r for r in flow.status(key)["requirements"]}["ai-tenant-isolation"]
    assert not met_reason["met"]
    assert "tenant acme saw data of another tenant" in met_reason["reason"]

    with rag_service(tenant_filter=True) as url:
        out = flow.json(
            "ai", "isolation", "--target", url, "--tenants", tenants, "--change", key,
            "--by", "ci-bot", "--seed", "11",
        )  # fmt: skip
    assert out["status"] == "pass"
    report = blob_json(engine, out["evidence"][0]["blob_sha256"])
    assert all(not p["leaks"] for p in report["probes"])
    met_reason = {r["rule"]: r for r in flow.status(key)["requirements"]}["ai-tenant-isolation"]
    assert met_reason["met"], met_reason
    assert (
        "12 cross-tenant probes over 3 tenants returned no foreign canary" in met_reason["reason"]
    )


def test_injection_probes_catch_a_service_that_leaks_its_system_prompt(
    flow: Flow, engine: Engine, rag_service: Service
) -> None:
    key = flow.change("system-prompt-change", "normal")
    with rag_service(leak_system_prompt=True) as url:
        out = flow.json(
            "ai", "injection", "--target", url, "--change", key, "--by", "ci-bot",
            "--seed", "3", code=1,
        )  # fmt: skip
    assert out["status"] == "fail"
    doc = out["evidence"][0]
    assert (doc["name"], doc["passed"]) == ("prompt-injection-results", False)
    report = blob_json(engine, doc["blob_sha256"])
    failed = [p["id"] for p in report["probes"] if p["status"] == "fail"]
    assert failed == [
        "system-prompt-disclosure-1",
        "system-prompt-disclosure-2",
        "system-prompt-disclosure-3",
    ]
    assert "My instructions are:" in report["probes"][0]["response"]["answer"]
    assert doc["summary"]["failed"] == failed

    met, reason = security_impact(flow, key)
    assert not met
    assert "prompt-injection probes found leaks: system-prompt-disclosure-1" in reason
    assert "no security impact assessment by a security user" in reason

    with rag_service() as url:  # the fixed service
        fixed = flow.json("ai", "injection", "--target", url, "--change", key, "--by", "ci-bot")
    assert fixed["status"] == "pass"
    met, reason = security_impact(flow, key)
    assert not met and reason.startswith(
        "validation security-impact: fail (by ci-bot) — no security"
    )


def test_security_assessment_by_a_security_reviewer_and_the_probes(
    flow: Flow, engine: Engine, chat_url: str
) -> None:
    key = flow.change("content-filtering-adjustment", "normal")

    def evidence_count() -> int:
        with session_scope(engine, write=False) as s:
            return int(s.scalar(select(func.count()).select_from(Evidence)) or 0)

    refused = flow.assess(key, by="bob", code=1)  # an engineer is not a security assessor
    assert refused["error"] == "PolicyDenied"
    assert (
        "the policy asks for a user with role security (ai.security_assessor_roles)"
        in (refused["message"])
    )
    bad = flow.json(
        "ai", "assess", key, "--prompt-injection", "severe", "--data-leakage", "low",
        "--content-filter", "low", "--by", "sam", code=2,
    )  # fmt: skip
    assert bad["message"] == "--prompt-injection 'severe': use low|medium|high"
    assert evidence_count() == 0

    out = flow.json(
        "ai", "assess", key, "--prompt-injection", "medium", "--data-leakage", "low",
        "--content-filter", "high", "--notes", "threshold lowered for self-harm category",
        "--note", "content_filter=fewer blocks on medical questions", "--by", "sam",
    )  # fmt: skip
    assert out["passed"] is True
    assessment = blob_json(engine, out["evidence"][0]["blob_sha256"])
    assert assessment["assessor"] == "sam" and "security" in assessment["assessor_roles"]
    assert assessment["ratings"]["content_filter"] == {
        "rating": "high",
        "note": "fewer blocks on medical questions",
    }
    met, reason = security_impact(flow, key)
    assert met
    assert reason == (
        "validation security-impact: pass (by sam) — assessed by sam: prompt injection risk "
        "medium, data leakage risk low, risk to content filtering effectiveness high"
    )

    # a model that obeys injected instructions and recites its system prompt
    naive = flow.json(
        "ai", "injection", "--target", chat_url, "--model", "naive", "--change", key,
        "--by", "ci-bot", code=1,
    )  # fmt: skip
    probes = {p["id"]: p["status"] for p in naive["report"]["probes"]}
    assert probes["system-prompt-disclosure-1"] == "fail"
    assert probes["instruction-override-direct"] == "fail"
    assert probes["cross-tenant-exfiltration"] == "skipped"  # a chat endpoint ingests nothing
    assert naive["validation"]["passed"] is False
    met, reason = security_impact(flow, key)
    assert not met and "prompt-injection probes found leaks: system-prompt-disclosure-1" in reason

    guarded = flow.json(
        "ai", "injection", "--target", chat_url, "--model", "guarded", "--change", key,
        "--by", "ci-bot",
    )  # fmt: skip
    assert guarded["status"] == "pass" and guarded["validation"]["passed"] is True
    met, reason = security_impact(flow, key)
    assert met and reason.endswith("; prompt-injection probes: pass")


def test_garak_report_counts_for_the_security_impact(flow: Flow, engine: Engine) -> None:
    key = flow.change("system-prompt-change", "normal")
    flow.assess(key)
    hits = flow.json(
        "ai", "import", str(RESULTS / "garak.report.jsonl"), "--change", key, "--by", "ci-bot",
        code=1,
    )  # fmt: skip
    assert hits["format"] == "garak" and hits["status"] == "fail"
    assert hits["evidence"][0]["name"] == "garak-results"
    met, reason = security_impact(flow, key)
    assert not met and "garak found leaks: promptinject.HijackHateHumans#0" in reason

    raw = (RESULTS / "garak.report.jsonl").read_text().splitlines()
    clean = flow.tmp / "garak.clean.report.jsonl"
    clean.write_text("\n".join(line for line in raw if "HijackHateHumans" not in line) + "\n")
    ok = flow.json("ai", "import", str(clean), "--change", key, "--by", "ci-bot")
    assert ok["status"] == "pass"
    met, reason = security_impact(flow, key)
    assert met and reason.endswith("; garak: pass")

    wrong = flow.json(
        "ai", "import", str(clean), "--phase", "pre", "--change", key, "--by", "ci-bot", code=2
    )
    assert "garak results are prompt-injection evidence" in wrong["message"]
    with session_scope(engine, write=False) as s:
        from changegate.changes.service import get_change

        names = [e.name for e in list_evidence(s, get_change(s, key))]
    assert names.count("garak-results") == 2
    assert names.count("security-impact") == 3  # re-derived after each input
