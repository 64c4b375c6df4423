"""`changegate ai classify` on real LiteLLM, prompt, RAG and content-filter files, from file
pairs, directories and a real git range; the requirements come from the policy file."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from tests.cli_runner import Run, cli

FIX = Path(__file__).parents[1] / "ai" / "fixtures"
LITELLM = (FIX / "litellm" / "base.yaml").read_text()
DB = "sqlite:///unused-by-classify.db"


def classify(*args: str, code: int = 0, policy: str | None = None) -> Any:
    r = cli(DB, "ai", "classify", *args, "--json", policy=policy)
    assert r.code == code, (r.code, r.stdout, r.stderr)
    return r.json()


def tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def rules(out: dict[str, Any]) -> list[str]:
    return [r["rule"] for r in out["requirements"]]


def test_provider_switch_from_a_litellm_file_pair(tmp_path: Path) -> None:
    old = tree(tmp_path / "old", {"config/litellm.yaml": LITELLM})
    new = tree(
        tmp_path / "new",
        {
            "config/litellm.yaml": LITELLM.replace(
                "anthropic/claude-3-5-sonnet-20240620", "vertex_ai/gemini-1.5-pro"
            )
        },
    )
    out = classify(
        "--before", str(old / "config/litellm.yaml"), "--after", str(new / "config/litellm.yaml")
    )
    assert out["category"] == "model-provider-switch" and out["class"] == "normal"
    assert out["component"] == "llm-shuffle"
    assert out["providers"] == ["anthropic", "vertex_ai"]
    assert out["security_impacting"] is False
    assert out["paths"] == ["config/litellm.yaml"]  # the globs saw the repository path
    assert {"cto-sign-off", "ai-provider-dpa", "ai-providers-documented"} <= set(rules(out))
    dpa = next(r for r in out["requirements"] if r["rule"] == "ai-provider-dpa")
    assert dpa == {
        "rule": "ai-provider-dpa",
        "section": "10.2",
        "description": "Provider Data Processing Agreement in place and current",
        "kind": "dpa",
        "requires": "provider DPA signed and current",
        "stage": "gate",
        "bypassed": False,
    }
    assert out["change_new"] == (
        "changegate change new --class normal --category model-provider-switch "
        "--ai-component llm-shuffle --provider anthropic --provider vertex_ai ..."
    )
    human = cli(
        DB, "ai", "classify", "--before", str(old / "config/litellm.yaml"),
        "--after", str(new / "config/litellm.yaml"),
    ).stdout  # fmt: skip
    assert "category  model-provider-switch (Model Provider Switch, normal)" in human
    assert "provider vertex_ai added (vertex_ai/gemini-1.5-pro) [model-provider-switch]" in human


def test_version_upgrade_rotation_and_emergency_fallback(tmp_path: Path) -> None:
    old = tree(tmp_path / "old", {"config/litellm.yaml": LITELLM})

    def after(text: str, *extra: str) -> Any:
        new = tree(tmp_path / "new", {"config/litellm.yaml": text})
        return classify(
            "--before", str(old / "config/litellm.yaml"), "--after",
            str(new / "config/litellm.yaml"), *extra,
        )  # fmt: skip

    up = after(LITELLM.replace("openai/gpt-4o-mini", "openai/gpt-4.1-mini"))
    assert up["category"] == "model-version-upgrade" and up["providers"] == ["openai"]
    assert "model-upgrade-regression" in rules(up)

    rot = after(LITELLM.replace("os.environ/OPENAI_API_KEY", "os.environ/OPENAI_API_KEY_2025"))
    assert rot["category"] == "credential-rotation" and rot["class"] == "standard"
    assert rules(rot) == [
        "standard-pre-approved",
        "ai-component-documented",
        "ai-providers-documented",
    ]

    # the primary provider pulled during an outage: fallback to the next one
    doc = yaml.safe_load(LITELLM)
    doc["model_list"] = [
        d for d in doc["model_list"] if d.get("model_info", {}).get("id") != "chat-openai"
    ]
    fallback = after(yaml.safe_dump(doc), "--incident")
    assert fallback["category"] == "emergency-model-fallback" and fallback["class"] == "emergency"
    assert fallback["incident"] is True
    by_rule = {r["rule"]: r for r in fallback["requirements"]}
    assert by_rule["peer-review"]["bypassed"] is True
    assert by_rule["ai-provider-dpa"]["stage"] == "gate"
    assert by_rule["retrospective-review"]["stage"] == "post_deploy"
    assert by_rule["ai-emergency-behavioral-results"]["stage"] == "post_deploy"


def test_directories_with_prompt_rag_and_filter_changes(tmp_path: Path) -> None:
    files = {
        "config/rag.yaml": (FIX / "rag" / "rag.yaml").read_text(),
        "config/content_filter.yaml": (FIX / "rag" / "content_filter.yaml").read_text(),
        "prompts/persona/system.txt": (FIX / "rag" / "system.txt").read_text(),
        "src/app.py": "print('hello')\n",
    }
    old = tree(tmp_path / "old", files)
    new = tree(tmp_path / "new", files)
    (new / "config/rag.yaml").write_text(
        files["config/rag.yaml"].replace(
            "enabled: true\n  filter_field", "enabled: false\n  filter_field"
        )
    )
    (new / "src/app.py").write_text("print('changed, not AI')\n")
    out = classify("--before", str(old), "--after", str(new))
    assert out["category"] == "rag-config-change"
    assert out["security_impacting"] is True  # the tenant filter switched off
    assert out["paths"] == ["config/rag.yaml"]
    assert "security-scrutiny" in rules(out)  # extra scrutiny comes from the policy's rule
    assert out["change_new"].endswith("--security-impacting ...")

    (new / "prompts/persona/system.txt").write_text(
        files["prompts/persona/system.txt"].replace(
            "Do not use documents that belong to other customers.\n", ""
        )
    )
    (new / "config/content_filter.yaml").write_text(
        files["config/content_filter.yaml"].replace("toxicity: 0.7", "toxicity: 0.9")
    )
    both = classify("--before", str(old), "--after", str(new))
    assert both["categories"] == [
        "system-prompt-change",
        "content-filtering-adjustment",
        "rag-config-change",
    ]
    assert both["component"] == "persona-engine"
    assert "cto-sign-off" in rules(both)


def test_requirements_are_read_from_the_policy_file(tmp_path: Path) -> None:
    import changegate.policy

    data = yaml.safe_load((Path(changegate.policy.__file__).parent / "default.yaml").read_text())
    data["rules"].append(
        {
            "id": "rag-red-team",
            "section": "10.2",
            "description": "RAG changes are red-teamed",
            "when": {"category": ["rag-config-change"]},
            "require": {"kind": "validation", "name": "red-team"},
        }
    )
    edited = tmp_path / "policy.yaml"
    edited.write_text(yaml.safe_dump(data, sort_keys=False))
    old = tree(tmp_path / "old", {"config/rag.yaml": (FIX / "rag" / "rag.yaml").read_text()})
    new = tree(
        tmp_path / "new",
        {"config/rag.yaml": (FIX / "rag" / "rag.yaml").read_text().replace("top_k: 5", "top_k: 8")},
    )
    args = ("--before", str(old), "--after", str(new))
    assert "rag-red-team" not in rules(classify(*args))
    out = classify(*args, policy=str(edited))
    assert "rag-red-team" in rules(out)
    assert out["requirements"][-1]["requires"] == "validation red-team"


def test_git_range_and_paths_outside_the_globs(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    tree(repo, {"config/litellm.yaml": LITELLM, "README.md": "x\n"})

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
            cwd=repo, check=True, capture_output=True, text=True,
        ).stdout.strip()  # fmt: skip

    git("init", "-q", "-b", "main")
    git("add", ".")
    git("commit", "-q", "-m", "base")
    (repo / "config/litellm.yaml").write_text(
        LITELLM.replace("openai/gpt-4o-mini", "openai/gpt-4.1-mini")
    )
    (repo / "prompts").mkdir()
    (repo / "prompts/support.txt").write_text("You are a support assistant for {{ tenant }}.\n")
    git("add", ".")
    git("commit", "-q", "-m", "upgrade")
    out = classify("--git-range", "HEAD~1..HEAD", "--repo", str(repo))
    assert out["categories"] == ["system-prompt-change", "model-version-upgrade"]
    assert sorted(out["paths"]) == ["config/litellm.yaml", "prompts/support.txt"]

    loose = tmp_path / "litellm-new.yaml"
    shutil.copy(repo / "config/litellm.yaml", loose)
    base = tmp_path / "litellm-old.yaml"
    base.write_text(LITELLM)
    r: Run = cli(DB, "ai", "classify", "--before", str(base), "--after", str(loose), "--json")
    assert r.code == 2 and r.json()["field"] == "path"
    assert "give --path with the file's path in the repository" in r.json()["message"]
    out = classify("--before", str(base), "--after", str(loose), "--path", "config/litellm.yaml")
    assert out["category"] == "model-version-upgrade"

    bad = tmp_path / "broken" / "config" / "litellm.yaml"
    bad.parent.mkdir(parents=True)
    bad.write_text("model_list: [\n  - {model_name: chat\n")
    r = cli(DB, "ai", "classify", "--before", str(base), "--after", str(bad), "--json")
    assert r.code == 2 and "config/litellm.yaml:" in r.json()["message"]
