"""Python targets the flows name as ``module:attribute`` on the command line."""

from __future__ import annotations

from changegate.ai.suite import Context
from tests.ai.fake_targets import InProcessRag, answer


def isolated_rag() -> InProcessRag:
    """A RAG object whose tenant filter works."""
    return InProcessRag(tenant_filter=True)


def leaky_rag() -> InProcessRag:
    """The same object with its tenant filter off: retrieval crosses tenants."""
    return InProcessRag(tenant_filter=False)


def degraded(input: str, tenant: str | None, context: Context) -> str:
    """A model upgrade gone wrong: wrong about refunds (a critical case), vague on hours."""
    text = input.lower()
    if "refund" in text:
        return "Refunds are not possible once an order is placed."
    if "hours" in text:
        return "Please try again later."
    return answer(input, tenant, context)
