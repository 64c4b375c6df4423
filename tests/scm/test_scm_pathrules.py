from __future__ import annotations

import pytest
import yaml

from changegate.changes.floor import effective_class
from changegate.policy.errors import PathRuleError
from changegate.policy.pathrules import (
    DEFAULT_PATH_RULES_YAML,
    PathRule,
    default_path_rules,
    load_path_rules,
)
from changegate.scm.classify import classify_paths
from changegate.scm.errors import ClassTooLow


def test_default_rules_load_and_classify_the_policy_examples() -> None:
    rules = default_path_rules()
    result = classify_paths(
        [
            "prompts/persona/system.txt",
            "config/litellm.yaml",
            "infra/tls/server.pem",
            "README.md",
        ],
        rules,
    )
    assert result.components == ("infrastructure", "llm-shuffle", "persona-engine")
    assert result.categories == (
        "infrastructure-change",
        "model-provider-switch",
        "system-prompt-change",
    )
    assert result.flags == ("security_impacting",)
    assert result.minimum_class == "normal"
    assert result.unmatched == ("README.md",)
    by_path = {f.path: [r.pattern for r in f.rules] for f in result.files}
    # Every matching rule applies, in rule order: not first-match.
    assert by_path["infra/tls/server.pem"] == ["infra/**", "**/tls/**", "**/*.pem"]
    assert by_path["README.md"] == []


@pytest.mark.parametrize(
    ("path", "flagged"),
    [
        ("iam/roles/admin.json", True),
        ("network/vpc.tf", True),
        ("services/api/tls/ca.crt", True),
        ("deploy/keys/server.pem", True),
        ("src/app.py", False),
        ("docs/tls.md", False),
    ],
)
def test_default_security_rules(path: str, flagged: bool) -> None:
    result = classify_paths([path], default_path_rules())
    assert result.has_flag("security_impacting") is flagged


def test_no_paths_and_no_rules_give_the_lowest_class() -> None:
    assert classify_paths([], default_path_rules()).minimum_class == "standard"
    result = classify_paths(["a.txt"], [])
    assert result.minimum_class == "standard"
    assert result.components == result.categories == result.flags == ()
    assert result.unmatched == ("a.txt",)


def test_minimum_class_is_the_highest_any_matching_rule_names() -> None:
    rules = load_path_rules(
        [
            {"pattern": "docs/**", "class": "standard"},
            {"pattern": "src/**", "class": "normal"},
            {"pattern": "hotfix/**", "class": "emergency"},
        ]
    )
    assert classify_paths(["docs/a.md"], rules).minimum_class == "standard"
    assert classify_paths(["docs/a.md", "src/x.py"], rules).minimum_class == "normal"
    assert classify_paths(["hotfix/x", "src/x.py"], rules).minimum_class == "emergency"


def test_custom_class_order() -> None:
    rules = load_path_rules([{"pattern": "**", "class": "high"}], class_order=["low", "high"])
    result = classify_paths(["x"], rules, class_order=["low", "high"])
    assert result.minimum_class == "high"
    with pytest.raises(PathRuleError, match=r"path_rules\[0\]\.class: unknown class 'high'"):
        classify_paths(["x"], rules)


def test_duplicate_paths_are_classified_once() -> None:
    result = classify_paths(["a", "a", "b"], [])
    assert [f.path for f in result.files] == ["a", "b"]


def test_rule_model_accepts_any_key_but_pattern_as_optional() -> None:
    rule = PathRule.model_validate({"pattern": "x/**"})
    assert rule.component is None and rule.category is None
    assert rule.flags == () and rule.change_class is None
    assert rule.matches("x/y") and not rule.matches("y/x")
    full = PathRule.model_validate(
        {
            "pattern": "prompts/**",
            "component": "persona-engine",
            "category": "system-prompt-change",
            "flags": ["security_impacting"],
            "class": "normal",
        }
    )
    assert full.change_class == "normal"
    assert full.model_dump(by_alias=True, exclude_none=True)["class"] == "normal"


def test_load_reports_every_problem_with_its_location() -> None:
    data = [
        {"pattern": "ok/**"},
        {"component": "x"},
        {"pattern": "a**b"},
        {"pattern": "x", "flags": "security_impacting"},
        {"pattern": "x", "class": "urgent"},
        {"pattern": "x", "colour": "red"},
        "prompts/**",
        {"pattern": "x", "component": "  "},
    ]
    with pytest.raises(PathRuleError) as excinfo:
        load_path_rules(data)
    message = str(excinfo.value)
    assert excinfo.value.field == "path_rules"
    assert "path_rules[1].pattern: Field required" in message
    assert "path_rules[2].pattern: pattern 'a**b': '**' inside the segment" in message
    assert "path_rules[3].flags: must be a list; write [security_impacting]" in message
    assert (
        "path_rules[4].class: unknown class 'urgent'; use one of standard, normal, emergency"
        in message
    )
    assert "path_rules[5].colour: Extra inputs are not permitted" in message
    assert "path_rules[6]: expected a mapping with a 'pattern' key" in message
    assert "path_rules[7].component: must not be blank" in message
    assert "path_rules[0]" not in message


def test_load_accepts_none_and_rejects_a_non_list() -> None:
    assert load_path_rules(None) == []
    with pytest.raises(PathRuleError, match="expected a list of rules"):
        load_path_rules({"pattern": "x"})


def test_rules_from_a_policy_yaml_document() -> None:
    document = yaml.safe_load(
        """
        name: Example
        path_rules:
          - pattern: "rag/**"
            component: rag-pipeline
            category: rag-config-change
          - pattern: "filters/**"
            category: content-filtering-adjustment
            flags: [security_review]
        """
    )
    rules = load_path_rules(document["path_rules"])
    result = classify_paths(["rag/chunking.yaml", "filters/toxicity.yaml"], rules)
    assert result.categories == ("content-filtering-adjustment", "rag-config-change")
    assert result.flags == ("security_review",)
    assert "path_rules:" in DEFAULT_PATH_RULES_YAML


def test_effective_class_may_raise_but_never_lower() -> None:
    assert effective_class(None, "normal") == "normal"
    assert effective_class("normal", "normal") == "normal"
    assert effective_class("emergency", "normal") == "emergency"
    with pytest.raises(ClassTooLow) as excinfo:
        effective_class("standard", "normal")
    assert str(excinfo.value) == (
        "class: 'standard' is below 'normal', the minimum the changed files require; "
        "use 'normal' or higher"
    )
    assert isinstance(excinfo.value, ValueError)
    with pytest.raises(PathRuleError, match="unknown class 'urgent'"):
        effective_class("urgent", "normal")
    with pytest.raises(PathRuleError, match="minimum class 'x' is unknown"):
        effective_class(None, "x")


def test_empty_class_order_is_refused() -> None:
    with pytest.raises(PathRuleError, match="class_order: is empty"):
        classify_paths(["x"], [], class_order=[])
