"""Classify the AI part of a change from the files it touches.

``classify_files`` picks a classifier per file by the globs in :class:`AiPathConfig`
(LiteLLM routing, RAG, content filter, prompt templates) and merges the results.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from changegate.ai.classification import AiChangeClassification
from changegate.ai.litellm_diff import classify_litellm_change
from changegate.ai.paths import AiFileKind, AiPathConfig, normalise_path
from changegate.ai.prompt_diff import classify_prompt_change
from changegate.ai.rag_diff import classify_content_filter_change, classify_rag_change

FileChange = tuple[str, str | None, str | None]
"""``(path, old_text, new_text)``; ``None`` text means the file did not exist on that side."""


def _classifier(
    kind: AiFileKind, incident: bool
) -> Callable[[str | None, str | None, str], AiChangeClassification]:
    if kind is AiFileKind.LLM_ROUTING:
        return lambda o, n, p: classify_litellm_change(o, n, path=p, incident=incident)
    if kind is AiFileKind.RAG:
        return lambda o, n, p: classify_rag_change(o, n, path=p)
    if kind is AiFileKind.CONTENT_FILTER:
        return lambda o, n, p: classify_content_filter_change(o, n, path=p)
    return lambda o, n, p: classify_prompt_change(o, n, path=p)


def classify_file(
    path: str,
    old_text: str | None,
    new_text: str | None,
    config: AiPathConfig,
    *,
    incident: bool = False,
) -> AiChangeClassification | None:
    """Classify one file, or ``None`` when no AI glob matches it."""
    norm = normalise_path(path)
    kind = config.kind_of(norm)
    if kind is None or (old_text is None and new_text is None) or old_text == new_text:
        return None
    return _classifier(kind, incident)(old_text, new_text, norm)


def classify_files(
    changes: Iterable[FileChange],
    config: AiPathConfig,
    incident: bool = False,
) -> AiChangeClassification:
    """Classify every AI file in ``changes`` and merge the results.

    The result's ``categories`` are sorted highest scrutiny first; ``paths`` lists the
    AI files that changed (empty when none did: then it is not an AI change). Files the
    globs do not match are ignored. Unparseable configuration raises
    :class:`~changegate.ai.errors.ConfigParseError` naming the file and line.
    """
    parts = [
        result
        for path, old, new in changes
        if (result := classify_file(path, old, new, config, incident=incident)) is not None
    ]
    return AiChangeClassification.merge(parts)
