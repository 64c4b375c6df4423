"""Tenant isolation against the reference RAG service over real HTTP, with the real model."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractContextManager

import pytest

from changegate.ai.errors import AiError, TargetError
from changegate.ai.isolation import verify_tenant_isolation
from changegate.ai.targets import HttpRagTarget
from tests.ai.fake_targets import InProcessRag

TENANTS = ["acme", "globex", "initech"]
Service = Callable[..., AbstractContextManager[str]]


def _seed_normal_documents(url: str) -> None:
    target = HttpRagTarget(url)
    target.ingest("acme", "acme-handbook", "Acme employees get 25 days of paid leave per year.")
    target.ingest("globex", "globex-pricing", "Globex enterprise plan costs 900 euros per month.")
    target.ingest("initech", "initech-memo", "Initech moves the TPS report deadline to Friday.")


@pytest.mark.ai
def test_isolation_passes_with_tenant_filter(rag_service: Service) -> None:
    with rag_service(tenant_filter=True) as url:
        _seed_normal_documents(url)
        report = verify_tenant_isolation(url, TENANTS, seed=7)
    assert report.status == "pass", report.reasons
    assert report.passed
    assert len(report.canaries) == 3
    cross = [p for p in report.probes if p.kind == "cross-tenant"]
    controls = [p for p in report.probes if p.kind == "control"]
    assert len(cross) == 3 * 2 * 2 and len(controls) == 3
    assert all(p.found_own for p in controls)
    for p in cross:
        assert p.response is not None and p.response.chunks
        assert {c.tenant for c in p.response.chunks} == {p.as_tenant}
    doc = json.loads(json.dumps(report.to_dict()))
    assert doc["kind"] == "tenant-isolation" and doc["passed"] is True
    assert doc["probes"][0]["response"]["chunks"][0]["doc_id"].startswith("changegate-canary-acme-")


@pytest.mark.ai
def test_isolation_fails_with_tenant_filter_broken(rag_service: Service) -> None:
    with rag_service(tenant_filter=False) as url:
        _seed_normal_documents(url)
        report = verify_tenant_isolation(url, TENANTS, seed=7)
    assert report.status == "fail"
    assert not report.passed
    cross = [p for p in report.probes if p.kind == "cross-tenant"]
    leaking = [p for p in cross if p.leaks]
    assert len(leaking) == len(cross), "every probe aimed at a foreign canary should hit it"
    first = leaking[0]
    victim = next(c for c in report.canaries if c.tenant == first.about_tenant)
    wheres = {s.where for s in first.leaks}
    assert {"chunk", "answer", "context"} <= wheres
    assert any(victim.token in s.detail for s in first.leaks)
    assert any(f"tenant is {victim.tenant}" in s.detail for s in first.leaks)
    assert report.reasons[0].startswith(f"tenant {first.as_tenant} saw data of another tenant")


def test_isolation_with_python_object_target() -> None:
    intact = verify_tenant_isolation(InProcessRag(tenant_filter=True), ["a", "b"], seed=1)
    assert intact.status == "pass", intact.reasons
    broken = verify_tenant_isolation(InProcessRag(tenant_filter=False), ["a", "b"], seed=1)
    assert broken.status == "fail"
    spec = verify_tenant_isolation("tests.ai.fake_targets:make_rag", ["a", "b"], probes_per_pair=1)
    assert spec.status == "pass"
    assert spec.target == "tests.ai.fake_targets:make_rag"


def test_isolation_is_inconclusive_when_controls_fail() -> None:
    report = verify_tenant_isolation(InProcessRag(empty=True), ["a", "b"], seed=1)
    assert report.status == "inconclusive"
    assert any("could not retrieve its own canary" in r for r in report.reasons)


def test_isolation_bad_input() -> None:
    with pytest.raises(AiError, match="at least two distinct"):
        verify_tenant_isolation(InProcessRag(), ["a"])
    with pytest.raises(AiError, match="at least two distinct"):
        verify_tenant_isolation(InProcessRag(), ["a", "a"])
    with pytest.raises(AiError, match="probes_per_pair must be between 1 and 3"):
        verify_tenant_isolation(InProcessRag(), ["a", "b"], probes_per_pair=9)
    with pytest.raises(TargetError, match=r"has no ingest\(\) method"):
        verify_tenant_isolation(object(), ["a", "b"])
    with pytest.raises(TargetError, match="must start with http"):
        HttpRagTarget("ftp://x")


def test_isolation_target_unreachable() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(TargetError, match="check the URL and that the service runs"):
        verify_tenant_isolation(f"http://127.0.0.1:{port}", ["a", "b"])


@pytest.mark.ai
def test_malformed_query_response_is_reported(rag_service: Service) -> None:
    class Bad:
        def ingest(self, tenant: str, doc_id: str, text: str) -> None:
            pass

        def query(self, tenant: str, question: str) -> dict[str, object]:
            return {"answer": "x", "chunks": [{"doc_id": "d"}]}

    report = verify_tenant_isolation(Bad(), ["a", "b"])
    assert report.status == "inconclusive"
    assert "chunks[0] must be an object with 'doc_id' and 'text'" in (report.probes[0].error or "")
