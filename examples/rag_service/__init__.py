"""Reference multi-tenant RAG service for changegate's AI checks (see docs/ai.md)."""

from .app import RagSettings, create_app

__all__ = ["RagSettings", "create_app"]
