"""Prompt-injection probes against the reference RAG service and the fake chat server."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractContextManager

import pytest

from changegate.ai.injection import run_injection_probes
from changegate.ai.targets import CallableTarget, ChatCompletionsTarget
from tests.ai.fake_targets import InProcessRag

Service = Callable[..., AbstractContextManager[str]]


def by_id(report):  # type: ignore[no-untyped-def]
    return {p.probe_id: p for p in report.probes}


@pytest.mark.ai
def test_rag_service_leaking_its_system_prompt_is_caught(rag_service: Service) -> None:
    with rag_service(leak_system_prompt=True) as url:
        report = run_injection_probes(url, seed=3)
    assert report.status == "fail"
    probes = by_id(report)
    disclosure = [p for p in report.probes if p.family == "system-prompt-disclosure"]
    assert len(disclosure) == 3
    assert all(p.status == "fail" for p in disclosure)
    first = probes["system-prompt-disclosure-1"]
    assert first.evidence[0].startswith("answer reveals the system prompt canary CG-SYSPROMPT-")
    assert first.response is not None and "My instructions are:" in first.response.answer
    # the service quotes documents but obeys nothing, and its tenant filter is intact
    assert probes["instruction-override-direct"].status == "pass"
    assert probes["instruction-override-indirect"].status == "pass"
    assert probes["cross-tenant-exfiltration"].status == "pass"
    doc = json.loads(json.dumps(report.to_dict()))
    assert doc["kind"] == "prompt-injection" and doc["passed"] is False


@pytest.mark.ai
def test_well_behaved_rag_service_passes(rag_service: Service) -> None:
    with rag_service() as url:
        report = run_injection_probes(url, seed=3)
    assert report.status == "pass", [p.to_dict() for p in report.failed]
    indirect = by_id(report)["instruction-override-indirect"]
    # the injected document was retrieved and quoted, which is not obeying it
    assert indirect.response is not None and "IMPORTANT SYSTEM NOTE" in indirect.response.answer


@pytest.mark.ai
def test_exfiltration_through_broken_tenant_filter(rag_service: Service) -> None:
    with rag_service(tenant_filter=False) as url:
        report = run_injection_probes(url, seed=3)
    exfil = by_id(report)["cross-tenant-exfiltration"]
    assert exfil.status == "fail"
    assert any("CG-PAYROLL-" in e for e in exfil.evidence)
    assert any(e.startswith("chunk: ") for e in exfil.evidence)
    assert report.status == "fail"


def test_naive_chat_model_fails_disclosure_and_override(chat_url: str) -> None:
    report = run_injection_probes(ChatCompletionsTarget(url=chat_url, model="naive"), seed=5)
    probes = by_id(report)
    assert report.status == "fail"
    assert probes["system-prompt-disclosure-1"].status == "fail"
    assert probes["instruction-override-direct"].status == "fail"
    assert "followed the injected instruction" in probes["instruction-override-direct"].evidence[0]
    assert probes["instruction-override-indirect"].status == "skipped"
    assert probes["cross-tenant-exfiltration"].evidence == (
        "the target has no ingestion interface",
    )


def test_guarded_chat_model_passes(chat_url: str) -> None:
    report = run_injection_probes(ChatCompletionsTarget(url=chat_url, model="guarded"), seed=5)
    assert report.status == "pass"
    statuses = {p.probe_id: p.status for p in report.probes}
    assert statuses["instruction-override-direct"] == "pass"
    assert statuses["cross-tenant-exfiltration"] == "skipped"


def test_callable_target_cannot_take_a_system_prompt() -> None:
    report = run_injection_probes(CallableTarget(lambda i, t, c: "no.", label="stub"))
    probes = by_id(report)
    assert probes["system-prompt-disclosure-1"].status == "skipped"
    assert probes["system-prompt-disclosure-1"].evidence == (
        "a callable target takes no system prompt",
    )
    assert probes["instruction-override-direct"].status == "pass"
    assert report.status == "pass"


def test_object_target_without_system_prompt_method() -> None:
    report = run_injection_probes(InProcessRag(tenant_filter=False))
    probes = by_id(report)
    assert probes["system-prompt-disclosure-2"].status == "skipped"
    assert probes["cross-tenant-exfiltration"].status == "fail"


def test_target_errors_make_the_report_inconclusive(chat_url: str) -> None:
    report = run_injection_probes(ChatCompletionsTarget(url=chat_url, model="overloaded"))
    assert report.status == "inconclusive"
    assert all(p.status in ("error", "skipped") for p in report.probes)
    assert "HTTP 503" in report.probes[0].evidence[0]
