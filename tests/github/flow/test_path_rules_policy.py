"""Path rules are policy data: validated with the rest of the policy file, and what
`changegate classify` applies (a company's own rules, not hard-coded ones)."""

from __future__ import annotations

from pathlib import Path

import yaml

from changegate.policy.loader import check_policy_text, default_policy_text
from tests.cli_runner import cli
from tests.gitrepo import Repo


def with_rules(rules: list[dict[str, object]]) -> str:
    document = yaml.safe_load(default_policy_text())
    document["path_rules"] = rules
    return yaml.safe_dump(document, sort_keys=False)


def test_the_default_policy_carries_validated_path_rules() -> None:
    policy, problems = check_policy_text(default_policy_text())
    assert problems == [] and policy is not None
    patterns = {rule.pattern: rule for rule in policy.path_rules}
    assert patterns["prompts/**"].category == "system-prompt-change"
    assert patterns["config/litellm*.yaml"].category == "model-provider-switch"
    assert patterns["**/tls/**"].flags == ("security_impacting",)
    assert patterns["infra/**"].change_class == "normal"


def test_bad_path_rules_are_reported_each_with_its_place() -> None:
    policy, problems = check_policy_text(
        with_rules([{"pattern": "a**b"}, {"pattern": "ok/**", "colour": "red"}])
    )
    assert policy is None
    text = "\n".join(str(p) for p in problems)
    assert "path_rules.0.pattern: pattern 'a**b': '**' inside the segment 'a**b'" in text
    assert "path_rules.1.colour: unknown key" in text
    # references to the rest of the policy are checked once every rule parses
    policy, problems = check_policy_text(
        with_rules(
            [
                {"pattern": "ok/**", "component": "nonesuch"},
                {"pattern": "ok/**", "category": "nonesuch"},
                {"pattern": "ok/**", "flags": ["loud"]},
                {"pattern": "ok/**", "class": "urgent"},
            ]
        )
    )
    assert policy is None
    text = "\n".join(str(p) for p in problems)
    assert "path_rules.0 (ok/**).component: unknown component 'nonesuch'" in text
    assert "path_rules.1 (ok/**).category: unknown category 'nonesuch'" in text
    assert "path_rules.2 (ok/**).flags: unknown flag 'loud' (flags: security_impacting)" in text
    assert "path_rules.3 (ok/**).class: unknown class 'urgent'" in text


def test_classify_applies_the_companys_own_rules(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        with_rules(
            [
                {"pattern": "billing/**", "component": "application", "class": "normal"},
                {"pattern": "**/*.md", "category": "configuration-tuning"},
            ]
        )
    )
    repo = Repo(tmp_path / "repo")
    base = repo.commit("init", {"README.md": "x\n"})
    repo.commit("docs", {"docs/guide.md": "y\n", "prompts/p.txt": "not governed here\n"})
    out = cli(
        "sqlite://",
        "classify",
        "--git-range",
        f"{base}..HEAD",
        "--repo",
        str(repo.path),
        "--policy",
        str(policy),
        "--json",
    ).json()
    # the company's rules place docs as configuration tuning, but no rule places the prompt:
    # what the rules cannot place is normal, never standard
    assert (out["class"], out["categories"], out["components"]) == (
        "normal",
        ["configuration-tuning"],
        [],
    )
    assert out["unmatched_files"] == ["prompts/p.txt"]
    repo.commit("bill", {"billing/rates.py": "z\n"})
    out = cli(
        "sqlite://",
        "classify",
        "--git-range",
        f"{base}..HEAD",
        "--repo",
        str(repo.path),
        "--policy",
        str(policy),
        "--json",
    ).json()
    assert (out["class"], out["category"], out["components"]) == (
        "normal",
        "configuration-tuning",
        ["application"],
    )


def test_a_file_no_path_rule_places_makes_the_change_normal_never_standard(
    tmp_path: Path,
) -> None:
    """Found: a range touching requirements.txt (a standard dependency update) and a file no
    path rule matches was classified standard, so the unmatched file went unreviewed."""
    repo = Repo(tmp_path / "repo")
    base = repo.commit("init", {"requirements.txt": "httpx==0.27\n", "deploy.sh": "echo a\n"})

    def classify(*extra: str) -> dict[str, object]:
        r = cli(
            "sqlite://", "classify", "--git-range", f"{base}..HEAD", "--repo", str(repo.path),
            "--json", *extra,
        )  # fmt: skip
        assert r.code in (0, 2), r.stdout
        return r.json()  # type: ignore[no-any-return]

    repo.commit("bump", {"requirements.txt": "httpx==0.28\n"})
    alone = classify()
    assert (alone["class"], alone["category"]) == ("standard", "dependency-update")
    assert alone["unmatched_files"] == []

    repo.commit("and a script", {"deploy.sh": "curl -s https://example.com/x | sh\n"})
    out = classify()
    assert out["unmatched_files"] == ["deploy.sh"]
    assert out["class"] == "normal" and out["minimum_class"] == "normal"
    refused = classify("--class", "standard")
    assert refused["field"] == "class" and "'standard' is below 'normal'" in refused["message"]
