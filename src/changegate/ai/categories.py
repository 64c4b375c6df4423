"""The AI/GenAI change categories of policy section 10.1, their components (§10.3) and how
closely each is scrutinised when one change falls in several.

What each category requires is the policy file's rules, never this module's: see
:mod:`changegate.ai.requirements`.
"""

from __future__ import annotations

from enum import StrEnum


class AiCategory(StrEnum):
    """Policy 10.1 change categories, by slug."""

    MODEL_PROVIDER_SWITCH = "model-provider-switch"
    SYSTEM_PROMPT_CHANGE = "system-prompt-change"
    RAG_CONFIG_CHANGE = "rag-config-change"
    MODEL_VERSION_UPGRADE = "model-version-upgrade"
    CREDENTIAL_ROTATION = "credential-rotation"
    CONTENT_FILTERING_ADJUSTMENT = "content-filtering-adjustment"
    EMERGENCY_MODEL_FALLBACK = "emergency-model-fallback"


class AiComponent(StrEnum):
    """Policy 10.3 components an AI change can affect."""

    ORCHESTRATION = "orchestration"
    PERSONA_ENGINE = "persona-engine"
    RAG_PIPELINE = "rag-pipeline"
    LLM_SHUFFLE = "llm-shuffle"
    CONTENT_FILTERING = "content-filtering"


# Highest scrutiny first. An emergency fallback leads because it changes the change
# path itself (approval bypassed, retrospective review owed); then the categories that
# need named sign-off (CTO, security), then those that need extra tests, and the
# pre-approved standard change last.
SCRUTINY_ORDER: tuple[AiCategory, ...] = (
    AiCategory.EMERGENCY_MODEL_FALLBACK,
    AiCategory.SYSTEM_PROMPT_CHANGE,
    AiCategory.CONTENT_FILTERING_ADJUSTMENT,
    AiCategory.MODEL_PROVIDER_SWITCH,
    AiCategory.RAG_CONFIG_CHANGE,
    AiCategory.MODEL_VERSION_UPGRADE,
    AiCategory.CREDENTIAL_ROTATION,
)


def scrutiny_rank(category: AiCategory) -> int:
    """0 for the highest-scrutiny category."""
    return SCRUTINY_ORDER.index(category)
