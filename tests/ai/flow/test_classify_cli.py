"""`changegate ai classify` on real LiteLLM, prompt, RAG and content-filter files, from file
pairs, directories and a real git range; the requirements come from the policy file."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from tests.cli_runner import Run, cli

FIX = Path(__file__).parents[1] / "fixtures"
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
    # outside the globs a LiteLLM config is still recognised, by its content
    out = classify("--before", str(base), "--after", str(loose))
    assert out["category"] == "model-version-upgrade" and out["paths"] == ["litellm-new.yaml"]
    out = classify("--before", str(base), "--after", str(loose), "--path", "config/litellm.yaml")
    assert out["category"] == "model-version-upgrade" and out["paths"] == ["config/litellm.yaml"]
    notes = tmp_path / "notes.yaml"
    notes.write_text("title: release notes\n")
    r: Run = cli(DB, "ai", "classify", "--before", str(notes), "--after", str(loose), "--json")
    assert r.code == 0  # one side is a LiteLLM config: its content says what the file is
    r = cli(DB, "ai", "classify", "--before", str(notes), "--after", str(notes), "--json")
    assert r.code == 2 and r.json()["field"] == "path"
    assert "give --path with the file's path in the repository" in r.json()["message"]

    bad = tmp_path / "broken" / "config" / "litellm.yaml"
    bad.parent.mkdir(parents=True)
    bad.write_text("model_list: [\n  - {model_name: chat\n")
    r = cli(DB, "ai", "classify", "--before", str(base), "--after", str(bad), "--json")
    assert r.code == 2 and "config/litellm.yaml:" in r.json()["message"]


# --- Found with LiteLLM's own configurations (issue 10, section 4) ------------------------

DATA = Path(__file__).parents[2] / "data" / "litellm"
PROXY = (DATA / "proxy_server_config.yaml").read_text()


def pair(tmp_path: Path, name: str, old: str, new: str) -> tuple[Path, Path]:
    a = tree(tmp_path / "old", {name: old})
    b = tree(tmp_path / "new", {name: new})
    return a / name, b / name


def edited(text: str, fn: Any) -> str:
    doc = yaml.safe_load(text)
    fn(doc)
    return yaml.safe_dump(doc, sort_keys=False)


def drop_anthropic(doc: dict[str, Any]) -> None:
    doc["model_list"] = [
        d for d in doc["model_list"] if not d["litellm_params"]["model"].startswith("anthropic/")
    ]


def test_a_litellm_file_named_as_litellms_docs_name_it_is_classified(tmp_path: Path) -> None:
    """Found: outside the default globs the file was refused, and with --path set to
    proxy_server_config.yaml or config.yaml a provider removal was "no AI configuration
    changed", exit 0."""
    for name in ("proxy_server_config.yaml", "config.yaml", "deploy/prod/litellm-proxy.yml"):
        old, new = pair(
            tmp_path / name.replace("/", "_"), name, PROXY, edited(PROXY, drop_anthropic)
        )
        for extra in ((), ("--path", name)):
            out = classify("--before", str(old), "--after", str(new), *extra)
            assert out["is_ai_change"] is True, (name, extra)
            assert out["category"] == "model-provider-switch", (name, extra)
            assert out["class"] == "normal"
            assert "anthropic" in out["providers"]
            assert out["paths"] == [name if extra else new.name]


def test_a_litellm_file_in_a_git_range_is_classified_whatever_its_name(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    tree(repo, {"proxy_server_config.yaml": PROXY, "README.md": "x\n"})

    def git(*args: str) -> None:
        subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
            cwd=repo, check=True, capture_output=True,
        )  # fmt: skip

    git("init", "-q", "-b", "main")
    git("add", ".")
    git("commit", "-q", "-m", "base")
    (repo / "proxy_server_config.yaml").write_text(edited(PROXY, drop_anthropic))
    (repo / "README.md").write_text("y\n")
    git("commit", "-q", "-am", "drop anthropic")
    out = classify("--git-range", "HEAD~1..HEAD", "--repo", str(repo))
    assert out["category"] == "model-provider-switch"
    assert out["paths"] == ["proxy_server_config.yaml"]


def test_a_file_that_is_no_ai_configuration_is_refused_saying_what_was_looked_for(
    tmp_path: Path,
) -> None:
    compose = "services:\n  proxy:\n    image: ghcr.io/berriai/litellm:main\n"
    old, new = pair(tmp_path, "docker-compose.yml", compose, compose.replace("main", "v1"))
    for extra in ((), ("--path", "docker-compose.yml")):
        r = cli(DB, "ai", "classify", "--before", str(old), "--after", str(new), *extra, "--json")
        assert r.code == 2, (r.code, r.stdout)
        err = r.json()
        assert err["field"] == "path"
        assert "model_list" in err["message"] and "litellm_params" in err["message"]
        assert "config/litellm*.yaml" in err["message"]  # the globs it was matched against


def test_every_documented_fallback_setting_is_a_routing_change(tmp_path: Path) -> None:
    """Found: litellm_settings.default_fallbacks was not seen as a routing change."""
    changes = {
        "default_fallbacks": lambda d: d["litellm_settings"].update(default_fallbacks=["gpt-4o"]),
        "context_window_fallbacks": lambda d: d["litellm_settings"].update(
            context_window_fallbacks=[{"gpt-4o": ["groq/llama-3.3-70b"]}]
        ),
        "content_policy_fallbacks": lambda d: d["litellm_settings"].pop("content_policy_fallbacks"),
        "fallbacks": lambda d: d["router_settings"].update(fallbacks=[]),
        "litellm_settings.fallbacks": lambda d: d["litellm_settings"].update(
            fallbacks=[{"claude-sonnet": ["embeddings"]}]
        ),
    }
    for label, fn in changes.items():
        old, new = pair(tmp_path / label, "config/litellm.yaml", PROXY, edited(PROXY, fn))
        out = classify("--before", str(old), "--after", str(new))
        assert out["category"] == "model-provider-switch", (label, out["findings"])
        assert out["class"] == "normal"


def test_setting_names_containing_api_key_or_token_are_not_credential_rotation(
    tmp_path: Path,
) -> None:
    """Found: a log-redaction switch and a tokenizer-download switch were credential rotation
    (a standard, pre-approved class): a security-relevant change dropped out of review."""

    def flip(section: str, key: str, value: Any) -> Any:
        return lambda d: d[section].update({key: value})

    cases = {
        # setting: (change, security impacting)
        "redact_user_api_key_info": (flip("litellm_settings", "redact_user_api_key_info", False), True),
        "disable_hf_tokenizer_download": (
            flip("litellm_settings", "disable_hf_tokenizer_download", True), False,
        ),
        "master_key": (flip("general_settings", "master_key", "os.environ/MASTER_KEY_2"), True),
        "custom_auth": (flip("general_settings", "custom_auth", "my_auth.allow_all"), True),
        "enable_jwt_auth": (flip("general_settings", "enable_jwt_auth", True), True),
        "guardrails": (
            flip("litellm_settings", "guardrails", [{"prompt_injection": {"default_on": True}}]),
            True,
        ),
    }  # fmt: skip
    for label, (fn, security) in cases.items():
        old, new = pair(tmp_path / label, "config/litellm.yaml", PROXY, edited(PROXY, fn))
        out = classify("--before", str(old), "--after", str(new))
        assert "credential-rotation" not in out["categories"], (label, out["findings"])
        assert out["class"] == "normal", (label, out["class"])
        assert out["security_impacting"] is security, label
        assert "standard-pre-approved" not in rules(out)
        if label == "redact_user_api_key_info":
            human = cli(DB, "ai", "classify", "--before", str(old), "--after", str(new)).stdout
            assert "no §10.1 category covers: normal" in human
            assert "what the policy requires of a normal change" in human
            assert "security-scrutiny" in human and "--class normal" in human


def test_credential_rotation_only_when_nothing_but_credential_references_changed(
    tmp_path: Path,
) -> None:
    def rotate(d: dict[str, Any]) -> None:
        d["model_list"][2]["litellm_params"]["api_key"] = "os.environ/ANTHROPIC_API_KEY_2026"

    old, new = pair(tmp_path / "a", "config/litellm.yaml", PROXY, edited(PROXY, rotate))
    out = classify("--before", str(old), "--after", str(new))
    assert (out["category"], out["class"]) == ("credential-rotation", "standard")

    def rotate_and_tune(d: dict[str, Any]) -> None:
        rotate(d)
        d["litellm_settings"]["num_retries"] = 0

    def rotate_to_a_literal(d: dict[str, Any]) -> None:
        d["model_list"][2]["litellm_params"]["api_key"] = "sk-ant-literal"

    def model_info_only(d: dict[str, Any]) -> None:
        d["model_list"][4]["model_info"]["mode"] = "chat"

    for label, fn in (
        ("with tuning", rotate_and_tune),
        ("literal", rotate_to_a_literal),
        ("model_info", model_info_only),
    ):
        old, new = pair(tmp_path / label, "config/litellm.yaml", PROXY, edited(PROXY, fn))
        out = classify("--before", str(old), "--after", str(new))
        assert out["category"] != "credential-rotation", (label, out["findings"])
        assert out["class"] == "normal", (label, out["findings"])
