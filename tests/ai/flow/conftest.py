"""Fixtures for the AI governance flows: the real model, chat server and reference RAG
service of ``tests/ai`` (the model loads once per session), and a team of users."""

from __future__ import annotations

from tests.ai.conftest import chat_url, embedder, fixtures, rag_service

__all__ = ["chat_url", "embedder", "fixtures", "rag_service"]
