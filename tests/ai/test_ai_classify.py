"""AI change classification on real LiteLLM, RAG, content-filter and prompt files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from changegate.ai import classify as ai_classify
from changegate.ai import litellm_diff
from changegate.ai.categories import SCRUTINY_ORDER, AiCategory, AiComponent
from changegate.ai.classification import AiChangeClassification
from changegate.ai.errors import AiError, ConfigParseError
from changegate.ai.litellm_config import LiteLLMRules
from changegate.ai.paths import AiPathConfig, path_matches
from changegate.ai.prompt_diff import classify_prompt_change, placeholders
from changegate.ai.rag_diff import classify_content_filter_change, classify_rag_change
from changegate.ai.requirements import change_class_of, classification_report
from changegate.errors import InvalidInput
from changegate.policy.loader import load_policy

FIX = Path(__file__).parent / "fixtures"
BASE = (FIX / "litellm" / "base.yaml").read_text()
PATH = "config/litellm.yaml"
CONFIG = AiPathConfig.from_mapping(
    {
        "llm_routing": ["config/litellm*.yaml", "config/litellm*.json"],
        "prompts": ["prompts/**"],
        "rag": ["config/rag*.yaml"],
        "content-filter": ["config/content_filter*.yaml"],
    }
)
POLICY = load_policy().policy
RULES = LiteLLMRules.from_policy(POLICY.ai.litellm)  # the default policy's ai.litellm


def classify_litellm_change(
    old: str | None, new: str | None, *, path: str, incident: bool = False
) -> AiChangeClassification:
    return litellm_diff.classify_litellm_change(old, new, path=path, rules=RULES, incident=incident)


def classify_files(
    changes: list[tuple[str, str | None, str | None]],
    config: AiPathConfig,
    incident: bool = False,
) -> AiChangeClassification:
    return ai_classify.classify_files(changes, config, incident, rules=RULES)


def edit(**changes: object) -> str:
    """BASE with a function applied to its parsed document, dumped back to YAML."""
    doc = yaml.safe_load(BASE)
    for fn in changes.values():
        fn(doc)  # type: ignore[operator]
    return yaml.safe_dump(doc, sort_keys=False)


def deployments(doc: dict) -> list[dict]:
    return doc["model_list"]


def owed(result, *, incident: bool = False) -> set[str]:  # type: ignore[no-untyped-def]
    """The ids of the default policy file's rules the classified change owes (the report
    `changegate ai classify` prints)."""
    report = classification_report(POLICY, result, incident=incident)
    return {r["rule"] for r in report["requirements"]}


def cats(result) -> list[str]:  # type: ignore[no-untyped-def]
    return [c.value for c in result.categories]


# --- LiteLLM ----------------------------------------------------------------------------


def test_unchanged_config_has_no_findings() -> None:
    r = classify_litellm_change(BASE, edit(), path=PATH)
    assert r.categories == ()
    assert r.findings == ()


def test_provider_added_to_group_is_provider_switch() -> None:
    def add_azure(doc: dict) -> None:
        deployments(doc).append(
            {
                "model_name": "chat",
                "litellm_params": {
                    "model": "azure/gpt-4o-mini-eu",
                    "api_base": "https://eu.example.azure.com/",
                    "api_key": "os.environ/AZURE_API_KEY",
                    "order": 3,
                },
            }
        )

    r = classify_litellm_change(BASE, edit(a=add_azure), path=PATH)
    assert cats(r) == ["model-provider-switch"]
    assert r.component is AiComponent.LLM_SHUFFLE
    assert r.providers == ("azure",)
    assert "provider azure added" in str(r.findings[0])
    assert {"ai-provider-dpa", "cto-sign-off"} <= owed(r)


def test_provider_removed_is_provider_switch() -> None:
    def drop_anthropic(doc: dict) -> None:
        doc["model_list"] = [
            d for d in deployments(doc) if "anthropic" not in d["litellm_params"]["model"]
        ]

    r = classify_litellm_change(BASE, edit(a=drop_anthropic), path=PATH)
    assert cats(r) == ["model-provider-switch"]
    assert r.providers == ("anthropic",)
    assert any("provider anthropic removed" in f.message for f in r.findings)


def test_reordering_model_list_reprioritizes_providers() -> None:
    def swap(doc: dict) -> None:
        ml = deployments(doc)
        for d in ml:
            d["litellm_params"].pop("order", None)
        ml[0], ml[1] = ml[1], ml[0]

    def no_order(doc: dict) -> None:
        for d in deployments(doc):
            d["litellm_params"].pop("order", None)

    r = classify_litellm_change(edit(a=no_order), edit(a=swap), path=PATH)
    assert cats(r) == ["model-provider-switch"]
    assert "reprioritized (openai > anthropic -> anthropic > openai)" in r.findings[0].message
    assert set(r.providers) == {"openai", "anthropic"}


def test_order_param_reprioritizes_providers() -> None:
    def flip(doc: dict) -> None:
        deployments(doc)[0]["litellm_params"]["order"] = 5

    r = classify_litellm_change(BASE, edit(a=flip), path=PATH)
    assert cats(r) == ["model-provider-switch"]
    assert "reprioritized" in r.findings[0].message


def test_weights_change_is_provider_switch() -> None:
    def weights(w1: int, w2: int):  # type: ignore[no-untyped-def]
        def apply(doc: dict) -> None:
            deployments(doc)[0]["litellm_params"]["weight"] = w1
            deployments(doc)[1]["litellm_params"]["weight"] = w2

        return apply

    r = classify_litellm_change(edit(a=weights(9, 1)), edit(a=weights(1, 9)), path=PATH)
    assert cats(r) == ["model-provider-switch"]
    assert (
        "traffic weights changed (openai 90% -> 10%, anthropic 10% -> 90%)" in r.findings[0].message
    )


def test_fallbacks_reordered_is_provider_switch() -> None:
    def two(doc: dict) -> None:
        doc["router_settings"]["fallbacks"] = [{"chat": ["fast", "embeddings"]}]

    def swapped(doc: dict) -> None:
        doc["router_settings"]["fallbacks"] = [{"chat": ["embeddings", "fast"]}]

    r = classify_litellm_change(edit(a=two), edit(a=swapped), path=PATH)
    assert cats(r) == ["model-provider-switch"]
    assert (
        "fallbacks for 'chat' reordered: fast > embeddings -> embeddings > fast"
        in r.findings[0].message
    )
    assert "groq" in r.providers


def test_same_provider_new_model_is_version_upgrade() -> None:
    def upgrade(doc: dict) -> None:
        deployments(doc)[0]["litellm_params"]["model"] = "openai/gpt-4.1-mini"

    r = classify_litellm_change(BASE, edit(a=upgrade), path=PATH)
    assert cats(r) == ["model-version-upgrade"]
    assert r.providers == ("openai",)
    assert "openai model gpt-4o-mini -> gpt-4.1-mini" in r.findings[0].message
    assert "model-upgrade-regression" in owed(r) and "cto-sign-off" not in owed(r)
    assert not r.security_impacting


def test_only_api_key_changed_is_credential_rotation() -> None:
    def rotate(doc: dict) -> None:
        deployments(doc)[1]["litellm_params"]["api_key"] = "os.environ/ANTHROPIC_API_KEY_2026_04"

    r = classify_litellm_change(BASE, edit(a=rotate), path=PATH)
    assert cats(r) == ["credential-rotation"]
    assert r.providers == ("anthropic",)
    assert not owed(r) & {"cto-sign-off", "ai-behavioral-regression", "ai-provider-dpa"}
    assert (
        "os.environ/ANTHROPIC_API_KEY -> os.environ/ANTHROPIC_API_KEY_2026_04"
        in r.findings[0].message
    )


def test_master_key_change_is_security_impacting_not_credential_rotation() -> None:
    """The proxy's master key authenticates every caller: not an LLM provider credential."""

    def rotate(doc: dict) -> None:
        doc["general_settings"]["master_key"] = "os.environ/LITELLM_MASTER_KEY_V2"

    r = classify_litellm_change(BASE, edit(a=rotate), path=PATH)
    assert r.categories == ()
    assert r.component is AiComponent.ORCHESTRATION
    assert r.security_impacting
    assert change_class_of(POLICY, r) == "normal"


def test_literal_secret_is_flagged_and_never_printed() -> None:
    def literal(doc: dict) -> None:
        deployments(doc)[0]["litellm_params"]["api_key"] = "sk-live-abc123"

    r = classify_litellm_change(BASE, edit(a=literal), path=PATH)
    assert r.security_impacting
    assert "credential-rotation" not in cats(r)  # a literal is no reference being rotated
    assert change_class_of(POLICY, r) == "normal"
    text = json.dumps(r.to_dict())
    assert "sk-live-abc123" not in text
    assert "<literal secret>" in text
    assert any("literal secret in the file" in f.message for f in r.findings)


def test_incident_with_fallback_activated_is_emergency_first() -> None:
    """OpenAI outage: the openai deployment is pulled, anthropic (the fallback) serves."""

    def outage(doc: dict) -> None:
        doc["model_list"] = [
            d for d in deployments(doc) if d.get("model_info", {}).get("id") != "chat-openai"
        ]

    r = classify_litellm_change(BASE, edit(a=outage), path=PATH, incident=True)
    assert cats(r)[0] == "emergency-model-fallback"
    assert "model-provider-switch" in cats(r)
    emergency = next(f for f in r.findings if f.category is AiCategory.EMERGENCY_MODEL_FALLBACK)
    assert "primary provider openai -> anthropic" in emergency.message
    assert "retrospective-review" in owed(r, incident=True)


def test_incident_with_fallback_list_switched_is_emergency() -> None:
    def to_fast(doc: dict) -> None:
        doc["router_settings"]["fallbacks"] = [{"chat": ["embeddings", "fast"]}]

    r = classify_litellm_change(BASE, edit(a=to_fast), path=PATH, incident=True)
    assert r.category is AiCategory.EMERGENCY_MODEL_FALLBACK


def test_same_change_without_incident_is_not_emergency() -> None:
    def outage(doc: dict) -> None:
        doc["model_list"] = [
            d for d in deployments(doc) if d.get("model_info", {}).get("id") != "chat-openai"
        ]

    r = classify_litellm_change(BASE, edit(a=outage), path=PATH, incident=False)
    assert cats(r) == ["model-provider-switch"]


def test_incident_without_fallback_is_not_emergency() -> None:
    def rotate(doc: dict) -> None:
        deployments(doc)[0]["litellm_params"]["api_key"] = "os.environ/OPENAI_API_KEY_2"

    r = classify_litellm_change(BASE, edit(a=rotate), path=PATH, incident=True)
    assert cats(r) == ["credential-rotation"]
    assert any("activates no fallback" in f.message for f in r.findings)


def test_several_categories_highest_scrutiny_first() -> None:
    def many(doc: dict) -> None:
        ml = deployments(doc)
        ml[0]["litellm_params"]["model"] = "openai/gpt-4.1-mini"  # upgrade
        ml[2]["litellm_params"]["api_key"] = "os.environ/GROQ_API_KEY_2"  # rotation
        ml.append({"model_name": "fast", "litellm_params": {"model": "mistral/mistral-small"}})
        doc["guardrails"] = [
            {
                "guardrail_name": "pii-mask",
                "litellm_params": {"guardrail": "presidio", "mode": "pre_call"},
            }
        ]

    r = classify_litellm_change(BASE, edit(a=many), path=PATH)
    assert cats(r) == [
        "content-filtering-adjustment",
        "model-provider-switch",
        "model-version-upgrade",
    ]  # the rotated key rides along: not a credential rotation alone
    assert any("not a credential rotation alone" in f.message for f in r.unplaced)
    assert list(r.categories) == sorted(r.categories, key=SCRUTINY_ORDER.index)
    assert r.component is AiComponent.CONTENT_FILTERING
    assert r.security_impacting
    assert set(r.providers) == {"openai", "groq", "mistral"}


def test_tuning_only_has_no_category() -> None:
    def tune(doc: dict) -> None:
        deployments(doc)[0]["litellm_params"]["temperature"] = 0.2
        doc["router_settings"]["num_retries"] = 5

    r = classify_litellm_change(BASE, edit(a=tune), path=PATH)
    assert r.categories == ()
    assert r.category is None
    assert {f.message for f in r.findings} >= {
        "model group 'chat' (openai): temperature (unset) -> 0.2",
        "router_settings.num_retries 2 -> 5",
    }


def test_logging_callback_change_is_security_impacting() -> None:
    def callbacks(doc: dict) -> None:
        doc["litellm_settings"]["success_callback"] = ["langfuse", "s3"]

    r = classify_litellm_change(BASE, edit(a=callbacks), path=PATH)
    assert r.security_impacting
    assert r.categories == ()


def test_routing_strategy_change_with_multi_provider_group() -> None:
    def strategy(doc: dict) -> None:
        doc["router_settings"]["routing_strategy"] = "latency-based-routing"

    r = classify_litellm_change(BASE, edit(a=strategy), path=PATH)
    assert cats(r) == ["model-provider-switch"]
    assert "simple-shuffle -> latency-based-routing" in r.findings[0].message


def test_json_config_with_custom_llm_provider() -> None:
    old = (FIX / "litellm" / "base.json").read_text()
    doc = json.loads(old)
    doc["model_list"][0]["litellm_params"]["api_base"] = "https://us.example-openai.azure.com/"
    r = classify_litellm_change(old, json.dumps(doc), path="config/litellm.json")
    assert cats(r) == ["model-provider-switch"]
    assert r.providers == ("azure",)
    assert "endpoint changed: api_base" in r.findings[0].message


def test_new_config_file_adds_every_provider() -> None:
    r = classify_litellm_change(None, BASE, path=PATH)
    assert r.category is AiCategory.MODEL_PROVIDER_SWITCH
    assert set(r.providers) == {"openai", "anthropic", "groq"}


def test_deleted_config_file_removes_every_provider() -> None:
    r = classify_litellm_change(BASE, None, path=PATH)
    assert r.category is AiCategory.MODEL_PROVIDER_SWITCH
    switches = [f for f in r.findings if f.category is AiCategory.MODEL_PROVIDER_SWITCH]
    assert {f.message for f in switches} >= {
        "provider anthropic removed (model group 'chat' removed)",
        "provider groq removed (model group 'fast' removed)",
    }


def test_unparseable_yaml_names_file_and_line() -> None:
    broken = BASE.replace("  num_retries: 2", "  num_retries: [2")  # line 29
    with pytest.raises(ConfigParseError) as exc:
        classify_litellm_change(BASE, broken, path=PATH)
    assert exc.value.path == PATH
    assert exc.value.line in (29, 30)  # the parser notices on the next line
    assert str(exc.value).startswith(f"{PATH}:{exc.value.line}: not valid YAML")
    assert isinstance(exc.value, ValueError)
    assert isinstance(exc.value, InvalidInput)


def test_unparseable_json_names_file_and_line() -> None:
    with pytest.raises(ConfigParseError, match=r"^config/litellm.json:3: not valid JSON"):
        classify_litellm_change(None, '{\n "model_list": [\n  {,\n]}', path="config/litellm.json")


def test_missing_model_names_field_line_and_fix() -> None:
    bad = BASE.replace("      model: groq/llama-3.1-8b-instant\n", "")
    with pytest.raises(ConfigParseError) as exc:
        classify_litellm_change(BASE, bad, path=PATH)
    msg = str(exc.value)
    assert exc.value.field == "model_list[2].litellm_params.model"
    assert "model_list[2].litellm_params.model is required" in msg
    assert "provider/model" in msg
    assert exc.value.line == 19  # the deployment's litellm_params, which lacks model


def test_model_list_wrong_type() -> None:
    with pytest.raises(ConfigParseError, match=r"model_list must be a list of deployments"):
        classify_litellm_change(None, "model_list: {a: 1}\n", path=PATH)


def test_malformed_fallbacks() -> None:
    bad = BASE.replace('    - chat: ["fast"]', "    - 42")
    with pytest.raises(ConfigParseError, match=r"router_settings.fallbacks\[0\] must be a mapping"):
        classify_litellm_change(BASE, bad, path=PATH)


# --- RAG, content filter, prompts --------------------------------------------------------

RAG = (FIX / "rag" / "rag.yaml").read_text()
FILTER = (FIX / "rag" / "content_filter.yaml").read_text()
PROMPT = (FIX / "rag" / "system.txt").read_text()


def test_rag_embedding_model_change() -> None:
    new = RAG.replace("openai/text-embedding-3-small", "cohere/embed-english-v3.0")
    r = classify_rag_change(RAG, new, path="config/rag.yaml")
    assert cats(r) == ["rag-config-change"]
    assert r.component is AiComponent.RAG_PIPELINE
    assert set(r.providers) == {"openai", "cohere"}
    assert "embedding model changed: embedding.model" in r.findings[0].message
    assert not r.security_impacting


def test_rag_chunking_and_top_k() -> None:
    new = RAG.replace("chunk_size: 800", "chunk_size: 1200").replace("top_k: 5", "top_k: 8")
    r = classify_rag_change(RAG, new, path="config/rag.yaml")
    msgs = [f.message for f in r.findings]
    assert "chunking strategy changed: chunking.chunk_size 800 -> 1200" in msgs
    assert "retrieval parameters changed: retrieval.top_k 5 -> 8" in msgs
    assert not r.security_impacting


def test_rag_scope_widened() -> None:
    new = RAG.replace(
        "[product-docs, support-articles]", "[product-docs, support-articles, all-tickets]"
    )
    r = classify_rag_change(RAG, new, path="config/rag.yaml")
    assert "scope widened by all-tickets" in r.findings[0].message


def test_rag_tenant_filter_change_is_security_impacting() -> None:
    new = RAG.replace("  enabled: true\n  filter_field", "  enabled: false\n  filter_field")
    r = classify_rag_change(RAG, new, path="config/rag.yaml")
    assert cats(r) == ["rag-config-change"]
    assert r.security_impacting
    assert (
        "tenant isolation control changed: tenant_isolation.enabled true -> false"
        in r.findings[0].message
    )
    assert {"ai-tenant-isolation", "ai-security-impact"} <= owed(r)


def test_content_filter_threshold_and_rule() -> None:
    doc = yaml.safe_load(FILTER)
    doc["thresholds"]["toxicity"] = 0.9
    doc["rules"] = [doc["rules"][1]]  # drop the credit card rule
    r = classify_content_filter_change(
        FILTER, yaml.safe_dump(doc), path="config/content_filter.yaml"
    )
    assert cats(r) == ["content-filtering-adjustment"]
    assert r.security_impacting
    assert r.component is AiComponent.CONTENT_FILTERING
    msgs = [f.message for f in r.findings]
    assert "rule removed: rules[id=block-credit-cards]" in msgs
    assert "threshold changed: thresholds.toxicity 0.7 -> 0.9" in msgs


def test_content_filter_reordered_rules_is_no_change() -> None:
    doc = yaml.safe_load(FILTER)
    doc["rules"].reverse()
    r = classify_content_filter_change(
        FILTER, yaml.safe_dump(doc), path="config/content_filter.yaml"
    )
    assert r.findings == ()


def test_content_filter_switched_off() -> None:
    new = FILTER.replace("enabled: true", "enabled: false")
    r = classify_content_filter_change(FILTER, new, path="config/content_filter.yaml")
    assert r.findings[0].message == "filter switched off: enabled true -> false"


def test_prompt_change_is_system_prompt_change() -> None:
    new = PROMPT.replace("Keep answers under 200 words.", "Keep answers under 150 words.")
    r = classify_prompt_change(PROMPT, new, path="prompts/persona/system.txt")
    assert cats(r) == ["system-prompt-change"]
    assert r.component is AiComponent.PERSONA_ENGINE
    assert not r.security_impacting
    assert r.findings[0].message == "prompt template changed: +1 / -1 lines"
    assert "cto-sign-off" in owed(r)


def test_prompt_guard_removed_and_context_injected() -> None:
    new = PROMPT.replace("Do not use documents that belong to other customers.\n", "").replace(
        "Keep answers", "Previous conversation: {{ history }}\nKeep answers"
    )
    r = classify_prompt_change(PROMPT, new, path="prompts/persona/system.txt")
    assert r.security_impacting
    msgs = [f.message for f in r.findings]
    assert "new placeholders inject context into the prompt: history" in msgs
    assert any(
        m.startswith("guard instruction removed or reworded: 'Do not use documents") for m in msgs
    )


def test_placeholder_syntaxes() -> None:
    assert placeholders("{{ a.b }} {c} ${d} {{e|trim}} {% include 'f.txt' %} {{{x}}}") >= {
        "a.b",
        "c",
        "d",
        "e",
        "f.txt",
    }


# --- classify_files and path config ----------------------------------------------------


def test_classify_files_routes_by_glob_and_merges() -> None:
    def rotate(doc: dict) -> None:
        deployments(doc)[0]["litellm_params"]["api_key"] = "os.environ/OPENAI_API_KEY_2"

    changes = [
        ("src/app/main.py", "a", "b"),
        ("config/litellm.yaml", BASE, edit(a=rotate)),
        ("prompts/persona/system.txt", PROMPT, PROMPT + "Be concise.\n"),
        ("config/rag.yaml", RAG, RAG.replace("top_k: 5", "top_k: 6")),
        ("config/content_filter.yaml", FILTER, FILTER.replace("pii: 0.5", "pii: 0.6")),
        ("README.md", None, "new"),
    ]
    r = classify_files(changes, CONFIG, incident=False)
    assert cats(r) == [
        "system-prompt-change",
        "content-filtering-adjustment",
        "rag-config-change",
    ]  # a key rotated alongside other changes is no credential rotation alone
    assert r.components == (
        AiComponent.PERSONA_ENGINE,
        AiComponent.CONTENT_FILTERING,
        AiComponent.RAG_PIPELINE,
        AiComponent.LLM_SHUFFLE,
    )
    assert r.paths == (
        "config/litellm.yaml",
        "prompts/persona/system.txt",
        "config/rag.yaml",
        "config/content_filter.yaml",
    )
    assert r.is_ai_change and r.security_impacting
    json.dumps(r.to_dict())  # serialisable


def test_classify_files_without_ai_files() -> None:
    r = classify_files([("src/a.py", "x", "y")], CONFIG)
    assert not r.is_ai_change
    assert r.category is None and r.categories == () and r.findings == ()


def test_classify_files_error_names_the_file() -> None:
    with pytest.raises(ConfigParseError, match=r"^config/rag-eu.yaml:2: not valid YAML"):
        classify_files([("config/rag-eu.yaml", RAG, "a: [1\n")], CONFIG)


def test_path_config_from_mapping_errors() -> None:
    with pytest.raises(AiError, match="unknown key 'llm-routes'") as exc:
        AiPathConfig.from_mapping({"llm-routes": ["x"]})
    assert exc.value.field == "ai_paths.llm-routes"
    with pytest.raises(AiError, match=r"ai_paths.rag must be a list of glob strings"):
        AiPathConfig.from_mapping({"rag": {"a": 1}})
    with pytest.raises(AiError, match=r"ai_paths.prompts\[1\] must be a non-empty glob"):
        AiPathConfig.from_mapping({"prompts": ["prompts/**", ""]})
    with pytest.raises(AiError, match=r"ai_paths.prompts\[0\]: pattern 'prompts/': ends with '/'"):
        AiPathConfig.from_mapping({"prompts": ["prompts/"]})
    assert AiPathConfig.from_mapping({"rag": "config/rag.yaml"}).rag == ("config/rag.yaml",)
    assert AiPathConfig.from_mapping(None) == AiPathConfig()


@pytest.mark.parametrize(
    ("path", "pattern", "expected"),
    [
        ("config/litellm.yaml", "config/litellm*.yaml", True),
        ("config/litellm-prod.yaml", "config/litellm*.yaml", True),
        ("config/sub/litellm.yaml", "config/litellm*.yaml", False),
        ("prompts/a/b/c.txt", "prompts/**", True),
        ("prompts", "prompts/**", False),
        ("x/prompts/a.txt", "**/prompts/*.txt", True),
        ("prompts/a.txt", "**/prompts/*.txt", True),
        ("./config/rag.yaml", "config/rag?.yaml", False),
        ("config/rag1.yaml", "config/rag[0-9].yaml", True),
        ("config/rag.yaml.bak", "config/rag*.yaml", False),
    ],
)
def test_glob_semantics(path: str, pattern: str, expected: bool) -> None:
    assert path_matches(path, pattern) is expected


def test_content_filter_rule_added_and_action_flag() -> None:
    doc = yaml.safe_load(FILTER)
    doc["rules"].append({"id": "block-ssn", "pattern": r"\d{3}-\d{2}-\d{4}", "action": "block"})
    doc["log_only"] = False
    old = yaml.safe_load(FILTER)
    old["log_only"] = True
    r = classify_content_filter_change(
        yaml.safe_dump(old), yaml.safe_dump(doc), path="config/content_filter.yaml"
    )
    msgs = [f.message for f in r.findings]
    assert "rule added: rules[id=block-ssn]" in msgs
    assert "filter setting changed: log_only true -> false" in msgs


# --- Found with LiteLLM's own configurations (issue 10, section 4) ------------------------

DATA = Path(__file__).resolve().parents[1] / "data" / "litellm"
PROXY = (DATA / "proxy_server_config.yaml").read_text()
SORTED_CRLF = (DATA / "config_sorted_crlf.yaml").read_bytes().decode()


def edit_text(text: str, fn) -> str:  # type: ignore[no-untyped-def]
    doc = yaml.safe_load(text)
    fn(doc)
    return yaml.safe_dump(doc, sort_keys=False)


@pytest.mark.parametrize(
    "name", ["proxy_server_config.yaml", "config.yaml", "deploy/litellm/values.yml", "x.json"]
)
def test_a_litellm_config_is_recognised_by_content_whatever_its_name(name: str) -> None:
    text = json.dumps(yaml.safe_load(PROXY)) if name.endswith(".json") else PROXY
    assert ai_classify.kind_of_file(name, None, text, CONFIG) is not None
    assert ai_classify.kind_of_file(name, text, None, CONFIG) is not None  # deleted too
    assert ai_classify.kind_of_file("config/sorted.yaml", None, SORTED_CRLF, CONFIG) is not None
    new = edit_text(text, lambda d: d["model_list"].pop(2))  # anthropic's only deployment
    if name.endswith(".json"):
        new = json.dumps(yaml.safe_load(new))
    r = classify_files([(name, text, new), ("README.md", "a", "b")], CONFIG)
    assert cats(r) == ["model-provider-switch"] and r.providers == ("anthropic",)
    assert r.paths == (name,)


@pytest.mark.parametrize(
    "text",
    [
        "services:\n  proxy:\n    image: litellm\n",
        "model_list: []\n",  # no entry with litellm_params
        "model_list:\n  - model_name: a\n    params: {model: x}\n# litellm_params\n",
        "model_list: [\n",  # does not parse
        "- model_list\n- litellm_params\n",
    ],
)
def test_a_file_recognisable_as_no_ai_configuration(text: str) -> None:
    assert ai_classify.kind_of_file("deploy/values.yaml", text, text + "\n", CONFIG) is None
    assert classify_files([("deploy/values.yaml", text, text + "#\n")], CONFIG).paths == ()
    with pytest.raises(AiError) as exc:
        ai_classify.require_ai_file("deploy/values.yaml", text, text, CONFIG)
    assert exc.value.field == "path"
    message = str(exc.value)
    assert "config/litellm*.yaml" in message  # the globs
    assert "a model_list whose entries have litellm_params" in message  # the content


def test_default_fallbacks_a_plain_list_is_a_routing_change() -> None:
    new = edit_text(PROXY, lambda d: d["litellm_settings"].update(default_fallbacks=["gpt-4o"]))
    r = classify_litellm_change(PROXY, new, path="proxy_server_config.yaml")
    assert cats(r) == ["model-provider-switch"]
    assert r.findings[0].message == (
        "litellm_settings.default_fallbacks (every model group) changed: claude-sonnet -> gpt-4o"
    )
    assert set(r.providers) == {"anthropic", "openai", "azure"}


@pytest.mark.parametrize(
    ("section", "setting"),
    [
        ("litellm_settings", "fallbacks"),
        ("litellm_settings", "context_window_fallbacks"),
        ("litellm_settings", "content_policy_fallbacks"),
        ("litellm_settings", "default_fallbacks"),
        ("router_settings", "fallbacks"),
        ("router_settings", "default_fallbacks"),
        ("router_settings", "context_window_fallbacks"),
    ],
)
def test_every_documented_fallback_setting_in_either_section(section: str, setting: str) -> None:
    def add(doc: dict) -> None:
        doc[section][setting] = [{"embeddings": ["gpt-4o"]}]

    r = classify_litellm_change(PROXY, edit_text(PROXY, add), path=PATH)
    assert cats(r) == ["model-provider-switch"], r.findings
    assert any(f.message.startswith(f"{section}.{setting} for 'embeddings'") for f in r.findings)


def test_a_fallback_in_both_sections_is_seen_in_each() -> None:
    """router_settings.fallbacks must not hide a change to litellm_settings.fallbacks."""
    both = edit_text(PROXY, lambda d: d["litellm_settings"].update(fallbacks=[{"x": ["y"]}]))
    changed = edit_text(both, lambda d: d["litellm_settings"].update(fallbacks=[{"x": ["z"]}]))
    r = classify_litellm_change(both, changed, path=PATH)
    assert cats(r) == ["model-provider-switch"]


@pytest.mark.parametrize(
    ("section", "setting", "value", "security"),
    [
        ("litellm_settings", "redact_user_api_key_info", False, True),
        ("litellm_settings", "turn_off_message_logging", True, True),
        ("litellm_settings", "success_callback", ["langfuse", "s3"], True),
        ("litellm_settings", "disable_hf_tokenizer_download", True, False),
        ("litellm_settings", "max_tokens_default", 512, False),
        ("general_settings", "master_key", "os.environ/LITELLM_MASTER_KEY_2", True),
        ("general_settings", "custom_auth", "auth.allow_everyone", True),
        ("general_settings", "enable_jwt_auth", True, True),
        ("general_settings", "public_routes", ["/key/generate"], True),
        ("general_settings", "alerting_api_token", "os.environ/SLACK_TOKEN_2", False),
        ("router_settings", "redis_password", "os.environ/REDIS_PASSWORD_2", False),
        ("environment_variables", "OPENAI_API_KEY", "os.environ/X", False),
    ],
)
def test_a_setting_is_never_credential_rotation_by_its_name(
    section: str, setting: str, value: object, security: bool
) -> None:
    def flip(doc: dict) -> None:
        doc.setdefault(section, {})[setting] = value

    r = classify_litellm_change(PROXY, edit_text(PROXY, flip), path=PATH)
    assert r.categories == (), r.findings
    assert r.security_impacting is security
    assert len(r.unplaced) == 1
    assert change_class_of(POLICY, r) == "normal"


def test_credential_rotation_only_inside_litellm_params_and_only_alone() -> None:
    def rotate(doc: dict) -> None:
        doc["model_list"][0]["litellm_params"]["api_key"] = "os.environ/OPENAI_API_KEY_V2"
        doc["model_list"][1]["litellm_params"]["api_key"] = "os.environ/AZURE_API_KEY_V2"

    r = classify_litellm_change(PROXY, edit_text(PROXY, rotate), path=PATH)
    assert cats(r) == ["credential-rotation"] and r.providers == ("azure", "openai")
    assert r.unplaced == () and change_class_of(POLICY, r) == "standard"

    others = {
        "a tuning value": lambda d: d["model_list"][0]["litellm_params"].update(rpm=10),
        "model_info": lambda d: d["model_list"][1]["model_info"].update(base_model="gpt-4"),
        "a setting": lambda d: d["litellm_settings"].update(num_retries=0),
        "a comment-free top-level key": lambda d: d.update(files_settings=[{"x": 1}]),
    }
    for label, fn in others.items():

        def both(doc: dict, fn=fn) -> None:  # type: ignore[no-untyped-def]
            rotate(doc)
            fn(doc)

        r = classify_litellm_change(PROXY, edit_text(PROXY, both), path=PATH)
        assert "credential-rotation" not in cats(r), label
        assert change_class_of(POLICY, r) == "normal", label

    def to_literal(doc: dict) -> None:
        doc["model_list"][0]["litellm_params"]["api_key"] = "sk-proj-literal"

    def dropped(doc: dict) -> None:
        del doc["model_list"][0]["litellm_params"]["api_key"]

    for fn in (to_literal, dropped):
        r = classify_litellm_change(PROXY, edit_text(PROXY, fn), path=PATH)
        assert r.categories == () and change_class_of(POLICY, r) == "normal"
        assert "sk-proj-literal" not in json.dumps(r.to_dict())


def test_literal_keys_in_sorted_crlf_config() -> None:
    """LiteLLM's own test configs: keys in sorted order (litellm_params before model_name),
    CRLF endings and a literal api_key. Changing the literal is no rotation."""
    new = SORTED_CRLF.replace("api_key: 73g", "api_key: 74h")
    r = classify_litellm_change(SORTED_CRLF, new, path="config.yaml")
    assert r.categories == () and r.security_impacting
    assert change_class_of(POLICY, r) == "normal"
    assert "74h" not in json.dumps(r.to_dict()) and "73g" not in json.dumps(r.to_dict())
    swapped = SORTED_CRLF.replace("id: 4d1ee26c", "id: 5d1ee26c")
    r = classify_litellm_change(SORTED_CRLF, swapped, path="config.yaml")
    assert r.unplaced and change_class_of(POLICY, r) == "normal"


def test_an_ai_change_no_category_covers_is_normal_and_advice_places_nothing() -> None:
    comment_only = PROXY.replace("# A LiteLLM proxy config", "# The LiteLLM proxy config")
    r = classify_litellm_change(PROXY, comment_only, path=PATH)
    assert r.findings == () and r.is_ai_change
    assert change_class_of(POLICY, r) == "normal"  # changed, yet nothing placed it
    assert change_class_of(POLICY, classify_files([], CONFIG)) is None

    def rotate(doc: dict) -> None:
        doc["model_list"][2]["litellm_params"]["api_key"] = "os.environ/ANTHROPIC_API_KEY_2"

    r = classify_litellm_change(PROXY, edit_text(PROXY, rotate), path=PATH, incident=True)
    assert cats(r) == ["credential-rotation"]  # the incident remark is advice, not a change
    assert [f.advisory for f in r.findings] == [False, True]
