"""Python callable targets (``module:function``) for the regression tests."""

from __future__ import annotations

from changegate.ai.suite import Context
from tests.ai.fake_chat import GOOD, _topic


def answer(input: str, tenant: str | None, context: Context) -> str:
    if "tenant" in input.lower():
        return f"You are talking to the support desk of {tenant}."
    topic = _topic(input)
    return GOOD[topic] if topic else "I can only help with support questions."


def not_text(input: str, tenant: str | None, context: Context) -> object:
    return {"answer": input}


def explodes(input: str, tenant: str | None, context: Context) -> str:
    raise RuntimeError("backend down")


class InProcessRag:
    """A RAG target object with a tenant filter switch, for tests that need no HTTP."""

    def __init__(self, tenant_filter: bool = True, empty: bool = False) -> None:
        self.docs: list[tuple[str, str, str]] = []
        self.tenant_filter = tenant_filter
        self.empty = empty

    def ingest(self, tenant: str, doc_id: str, text: str) -> None:
        self.docs.append((tenant, doc_id, text))

    def query(self, tenant: str, question: str) -> dict[str, object]:
        if self.empty:
            return {"answer": "nothing", "chunks": [], "context": ""}
        words = {w.strip("?.,").lower() for w in question.split() if len(w) > 3}
        scored = []
        for t, doc_id, text in self.docs:
            if self.tenant_filter and t != tenant:
                continue
            score = sum(1 for w in words if w in text.lower())
            scored.append((score, t, doc_id, text))
        scored.sort(reverse=True)
        chunks = [{"doc_id": d, "tenant": t, "text": x} for _, t, d, x in scored[:2]]
        return {"answer": "ok", "chunks": chunks, "context": ""}


def make_rag() -> InProcessRag:
    return InProcessRag()
