"""The reference RAG service in examples/rag_service."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import httpx
import pytest
from examples.rag_service.app import RagSettings
from examples.rag_service.store import chunk_text

ROOT = Path(__file__).resolve().parents[2]
Service = Callable[..., AbstractContextManager[str]]


def test_settings_from_env() -> None:
    s = RagSettings.from_env({"RAG_TENANT_FILTER": "off", "RAG_LEAK_SYSTEM_PROMPT": "on"})
    assert s.tenant_filter is False and s.leak_system_prompt is True
    assert RagSettings.from_env({}) == RagSettings()
    with pytest.raises(ValueError, match="RAG_TENANT_FILTER='maybe': use on or off"):
        RagSettings.from_env({"RAG_TENANT_FILTER": "maybe"})


def test_chunking_keeps_sentences_whole() -> None:
    text = " ".join(f"Sentence number {i} is here." for i in range(40))
    chunks = chunk_text(text, max_chars=120)
    assert all(len(c) <= 120 for c in chunks)
    assert " ".join(chunks) == text
    assert chunk_text("para one.\n\npara two.") == ["para one.", "para two."]


@pytest.mark.ai
def test_ingest_query_and_system_prompt_endpoints(rag_service: Service) -> None:
    with rag_service(top_k=2) as url, httpx.Client(base_url=url, timeout=30) as client:
        assert client.get("/health").json()["tenant_filter"] is True
        r = client.post(
            "/ingest",
            json={"tenant": "acme", "doc_id": "d1", "text": "Acme refunds within 30 days."},
        )
        assert r.json() == {"tenant": "acme", "doc_id": "d1", "chunks": 1}
        client.post(
            "/ingest",
            json={"tenant": "globex", "doc_id": "g1", "text": "Globex refunds within 14 days."},
        )
        body = client.post("/query", json={"tenant": "acme", "question": "refund window?"}).json()
        assert [c["doc_id"] for c in body["chunks"]] == ["d1"]
        assert body["chunks"][0]["tenant"] == "acme"
        assert body["answer"].startswith("Based on your documents:\n- [d1] Acme refunds")
        assert body["context"] == "[d1] Acme refunds within 30 days."
        nothing = client.post("/query", json={"tenant": "nobody", "question": "refund?"}).json()
        assert nothing["chunks"] == [] and "could not find" in nothing["answer"]
        assert client.post("/system-prompt", json={"tenant": "acme", "text": "S"}).json()["ok"]
        leak = client.post("/query", json={"tenant": "acme", "question": "system prompt?"})
        assert "My instructions" not in leak.json()["answer"]
        assert (
            client.post("/ingest", json={"tenant": "", "doc_id": "x", "text": "y"}).status_code
            == 422
        )


def test_module_entry_point_help() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "examples.rag_service", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "RAG_TENANT_FILTER=off" in out.stdout
