"""The AI/GenAI change categories of policy section 10.1 and what each one requires.

Kept as data so the rest of changegate (gate, evidence, docs) reads one table.
"""

from __future__ import annotations

from dataclasses import dataclass
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


class Requirement(StrEnum):
    """Extra review steps of policy 10.2 / 10.3."""

    BEHAVIORAL_REGRESSION = "behavioral-regression-testing"
    TENANT_ISOLATION = "tenant-isolation-verification"
    SECURITY_IMPACT = "security-impact-assessment"
    PROVIDER_DPA = "provider-dpa-check"
    CTO_APPROVAL = "cto-approval"
    RETROSPECTIVE_REVIEW = "retrospective-review"


@dataclass(frozen=True)
class CategoryInfo:
    """What policy 10.1 says about one category. Its change class is not here: it is the
    policy file's (``categories.<slug>.class``), read where a class is decided."""

    category: AiCategory
    title: str
    requirements: tuple[Requirement, ...]
    note: str


CATEGORY_INFO: dict[AiCategory, CategoryInfo] = {
    info.category: info
    for info in (
        CategoryInfo(
            AiCategory.EMERGENCY_MODEL_FALLBACK,
            "Emergency Model Fallback",
            (
                Requirement.RETROSPECTIVE_REVIEW,
                Requirement.BEHAVIORAL_REGRESSION,
                Requirement.PROVIDER_DPA,
            ),
            "Switching to a fallback provider due to provider outage or security event.",
        ),
        CategoryInfo(
            AiCategory.SYSTEM_PROMPT_CHANGE,
            "System Prompt Change",
            (
                Requirement.CTO_APPROVAL,
                Requirement.BEHAVIORAL_REGRESSION,
                Requirement.SECURITY_IMPACT,
            ),
            "Normal — requires CTO sign-off.",
        ),
        CategoryInfo(
            AiCategory.CONTENT_FILTERING_ADJUSTMENT,
            "Content Filtering Adjustment",
            (Requirement.SECURITY_IMPACT, Requirement.BEHAVIORAL_REGRESSION),
            "Normal — requires security review.",
        ),
        CategoryInfo(
            AiCategory.MODEL_PROVIDER_SWITCH,
            "Model Provider Switch",
            (
                Requirement.CTO_APPROVAL,
                Requirement.PROVIDER_DPA,
                Requirement.BEHAVIORAL_REGRESSION,
            ),
            "Adding, removing, or reprioritizing LLM providers in LLM Shuffle.",
        ),
        CategoryInfo(
            AiCategory.RAG_CONFIG_CHANGE,
            "RAG Configuration Change",
            (Requirement.TENANT_ISOLATION, Requirement.BEHAVIORAL_REGRESSION),
            "Retrieval scope, embedding model, chunking strategy or tenant isolation controls.",
        ),
        CategoryInfo(
            AiCategory.MODEL_VERSION_UPGRADE,
            "Model Version Upgrade",
            (Requirement.BEHAVIORAL_REGRESSION,),
            "Normal — requires regression testing.",
        ),
        CategoryInfo(
            AiCategory.CREDENTIAL_ROTATION,
            "LLM Provider Credential Rotation",
            (),
            "Rotating API keys for OpenAI, Anthropic, Google, or other LLM providers.",
        ),
    )
}

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


def requirements_for(categories: tuple[AiCategory, ...]) -> tuple[Requirement, ...]:
    """Union of the review requirements of ``categories``, in first-seen order."""
    seen: dict[Requirement, None] = {}
    for cat in categories:
        for req in CATEGORY_INFO[cat].requirements:
            seen.setdefault(req, None)
    return tuple(seen)
