"""Classify the AI part of a change from the files it touches.

``classify_files`` picks a classifier per file by the globs in :class:`AiPathConfig`
(LiteLLM routing, RAG, content filter, prompt templates), recognises a LiteLLM configuration
by its content whatever its name, and merges the results.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from changegate.ai.classification import AiChangeClassification, rotation_alone
from changegate.ai.errors import AiError
from changegate.ai.litellm_config import LiteLLMRules, is_litellm_config
from changegate.ai.litellm_diff import classify_litellm_change
from changegate.ai.paths import AiFileKind, AiPathConfig, normalise_path
from changegate.ai.prompt_diff import classify_prompt_change
from changegate.ai.rag_diff import classify_content_filter_change, classify_rag_change

FileChange = tuple[str, str | None, str | None]
"""``(path, old_text, new_text)``; ``None`` text means the file did not exist on that side."""

#: what recognises a LiteLLM configuration by its content, for messages
LITELLM_SHAPE = "a LiteLLM configuration (a model_list whose entries have litellm_params)"


def _classifier(
    kind: AiFileKind, incident: bool, rules: LiteLLMRules
) -> Callable[[str | None, str | None, str], AiChangeClassification]:
    if kind is AiFileKind.LLM_ROUTING:
        return lambda o, n, p: classify_litellm_change(o, n, path=p, rules=rules, incident=incident)
    if kind is AiFileKind.RAG:
        return lambda o, n, p: classify_rag_change(o, n, path=p)
    if kind is AiFileKind.CONTENT_FILTER:
        return lambda o, n, p: classify_content_filter_change(o, n, path=p)
    return lambda o, n, p: classify_prompt_change(o, n, path=p)


def kind_of_file(
    path: str, old_text: str | None, new_text: str | None, config: AiPathConfig
) -> AiFileKind | None:
    """The kind of AI configuration a file is: by the policy's globs, else by its content
    (a LiteLLM configuration is one whatever its file name); ``None`` when it is neither."""
    norm = normalise_path(path)
    kind = config.kind_of(norm)
    if kind is not None:
        return kind
    if is_litellm_config(new_text, path=norm) or is_litellm_config(old_text, path=norm):
        return AiFileKind.LLM_ROUTING
    return None


def require_ai_file(
    path: str, old_text: str | None, new_text: str | None, config: AiPathConfig
) -> AiFileKind:
    """The kind of a file the caller says is AI configuration; refused, saying what was looked
    for, when it is recognisable as none of the kinds."""
    kind = kind_of_file(path, old_text, new_text, config)
    if kind is None:
        globs = ", ".join(g for gs in config.to_dict().values() for g in gs) or "none"
        raise AiError(
            f"{normalise_path(path)} is not recognisable as AI configuration: its path matches "
            f"none of the policy's ai.config_paths globs ({globs}) and its content is not "
            f"{LITELLM_SHAPE}; give --path with the file's path in the repository if a glob "
            "should match it, e.g. --path config/litellm.yaml",
            field="path",
        )
    return kind


def classify_file(
    path: str,
    old_text: str | None,
    new_text: str | None,
    config: AiPathConfig,
    *,
    rules: LiteLLMRules,
    incident: bool = False,
) -> AiChangeClassification | None:
    """Classify one file, or ``None`` when it is no AI configuration or did not change."""
    if (old_text is None and new_text is None) or old_text == new_text:
        return None
    kind = kind_of_file(path, old_text, new_text, config)
    if kind is None:
        return None
    return _classifier(kind, incident, rules)(old_text, new_text, normalise_path(path))


def classify_files(
    changes: Iterable[FileChange],
    config: AiPathConfig,
    incident: bool = False,
    *,
    rules: LiteLLMRules,
) -> AiChangeClassification:
    """Classify every AI file in ``changes`` and merge the results.

    The result's ``categories`` are sorted highest scrutiny first; ``paths`` lists the
    AI files that changed (empty when none did: then it is not an AI change). Files that are
    no AI configuration are ignored. Credential rotation stays a category only when nothing
    else changed in any file. Unparseable configuration raises
    :class:`~changegate.ai.errors.ConfigParseError` naming the file and line.
    """
    parts = [
        result
        for path, old, new in changes
        if (result := classify_file(path, old, new, config, rules=rules, incident=incident))
        is not None
    ]
    return rotation_alone(AiChangeClassification.merge(parts))
