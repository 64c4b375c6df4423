"""Which changed files are AI configuration, decided by glob patterns given as data.

The patterns live in the company's policy file (for example ``config/litellm*.yaml``), so
nothing here hard-codes them: :class:`AiPathConfig` is built from that mapping.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from changegate.ai.errors import AiError
from changegate.policy.errors import PathRuleError
from changegate.policy.glob import compile_glob, glob_match


class AiFileKind(StrEnum):
    """The kind of AI configuration a path holds; decides which classifier reads it."""

    LLM_ROUTING = "llm_routing"
    RAG = "rag"
    CONTENT_FILTER = "content_filter"
    PROMPTS = "prompts"


# Checked in this order; the first kind whose globs match a path wins.
KIND_PRECEDENCE: tuple[AiFileKind, ...] = (
    AiFileKind.LLM_ROUTING,
    AiFileKind.RAG,
    AiFileKind.CONTENT_FILTER,
    AiFileKind.PROMPTS,
)


def normalise_path(path: str) -> str:
    """Repository-relative, forward slashes, no leading ``./``."""
    p = path.replace("\\", "/")
    while p.startswith("./"):
        p = p[2:]
    return p.lstrip("/")


def path_matches(path: str, pattern: str) -> bool:
    """True when ``path`` matches the glob ``pattern``.

    The glob semantics are changegate's everywhere (:mod:`changegate.policy.glob`): git
    pathspec style, ``*`` within a segment, ``**`` across segments.
    """
    return glob_match(pattern, normalise_path(path))


def _globs(value: Any, key: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple):
        raise AiError(
            f"ai_paths.{key} must be a list of glob strings, got {type(value).__name__}; "
            f"write it as a YAML list, e.g. {key}: ['config/litellm*.yaml']",
            field=f"ai_paths.{key}",
        )
    out: list[str] = []
    for i, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            raise AiError(
                f"ai_paths.{key}[{i}] must be a non-empty glob string, got {item!r}",
                field=f"ai_paths.{key}[{i}]",
            )
        try:
            compile_glob(item.strip())
        except PathRuleError as exc:
            raise AiError(
                f"ai_paths.{key}[{i}]: {exc.message}", field=f"ai_paths.{key}[{i}]"
            ) from exc
        out.append(item.strip())
    return tuple(out)


@dataclass(frozen=True)
class AiPathConfig:
    """Glob patterns that mark files as AI configuration, one list per kind."""

    llm_routing: tuple[str, ...] = ()
    prompts: tuple[str, ...] = ()
    rag: tuple[str, ...] = ()
    content_filter: tuple[str, ...] = ()

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> AiPathConfig:
        """Build from the policy file's mapping; keys may use ``_`` or ``-``.

        Unknown keys are refused so that a typo does not silently switch a check off.
        """
        if data is None:
            return cls()
        if not isinstance(data, Mapping):
            raise AiError(
                "ai_paths must be a mapping of kind -> list of globs "
                "(keys: llm_routing, prompts, rag, content_filter)",
                field="ai_paths",
            )
        known = {k.value for k in AiFileKind}
        values: dict[str, tuple[str, ...]] = {}
        for raw_key, value in data.items():
            key = str(raw_key).replace("-", "_")
            if key not in known:
                raise AiError(
                    f"ai_paths has unknown key {raw_key!r}; use one of {', '.join(sorted(known))}",
                    field=f"ai_paths.{raw_key}",
                )
            values[key] = _globs(value, key)
        return cls(**values)

    def globs_for(self, kind: AiFileKind) -> tuple[str, ...]:
        return tuple(getattr(self, kind.value))

    def kind_of(self, path: str) -> AiFileKind | None:
        """The kind of AI file ``path`` is, or ``None`` when no glob matches."""
        for kind in KIND_PRECEDENCE:
            if any(path_matches(path, g) for g in self.globs_for(kind)):
                return kind
        return None

    def ai_paths(self, paths: Iterable[str]) -> list[str]:
        """The subset of ``paths`` that match any glob, in input order."""
        return [p for p in paths if self.kind_of(p) is not None]

    def to_dict(self) -> dict[str, list[str]]:
        return {k.value: list(self.globs_for(k)) for k in AiFileKind}
