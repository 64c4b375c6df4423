"""Conformance of `changegate ai classify` on LiteLLM's own example configurations.

Reads every file of ``../shared/testdata/realworld/litellm/`` (third-party files, never copied
into this repository; see SOURCES.txt there) and derives modified versions in a temporary
directory: a provider removed, a fallback setting changed, only a credential reference
rotated, a security setting flipped, a setting nobody classifies changed, the file renamed to
the names LiteLLM's documentation uses. The expected classification is computed here from the
YAML with PyYAML and from the policy file's own ``categories`` (read as YAML), never from
changegate's output. The renamed files go through the real CLI; the other cases call what
the CLI calls (``classify_files`` and ``classification_report`` under the default policy),
which keeps the module fast.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

import changegate.policy
from changegate.ai.classify import classify_files
from changegate.ai.litellm_config import LiteLLMRules
from changegate.ai.paths import AiPathConfig
from changegate.ai.requirements import classification_report
from changegate.policy.loader import load_policy
from changegate.policy.snapshot import as_data
from tests.cli_runner import cli
from tests.realworld import REALWORLD, require

FOLDER = REALWORLD / "litellm"
DB = "sqlite:///unused-by-classify.db"
POLICY = yaml.safe_load((Path(changegate.policy.__file__).parent / "default.yaml").read_text())
#: the fallback settings LiteLLM documents (issue 10: every one is a routing change)
FALLBACK_SETTINGS = ("fallbacks", "default_fallbacks", "context_window_fallbacks",
                     "content_policy_fallbacks")  # fmt: skip
ENV = "os.environ/"


def _files() -> list[Path]:
    require(FOLDER, "the LiteLLM conformance test")
    files = sorted(FOLDER.glob("*.yaml"))
    assert len(files) == 8, files  # SOURCES.txt lists eight
    return files


@pytest.fixture(scope="module")
def corpus() -> list[Path]:
    return _files()


def class_of(category: str) -> str:
    return str(POLICY["categories"][category]["class"])


def provider(params: dict[str, Any]) -> str | None:
    """The provider a deployment names explicitly (``provider/model`` or
    custom_llm_provider); ``None`` when LiteLLM would have to infer it."""
    if params.get("custom_llm_provider"):
        return str(params["custom_llm_provider"])
    model = str(params.get("model", ""))
    return model.split("/", 1)[0] if "/" in model else None


def classify(tmp: Path, name: str, old: str, new: str) -> dict[str, Any]:
    a, b = tmp / "old" / name, tmp / "new" / name
    for p, text in ((a, old), (b, new)):
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(text.encode())
    r = cli(DB, "ai", "classify", "--before", str(a), "--after", str(b), "--json")
    assert r.code == 0, (name, r.stdout, r.stderr)
    return r.json()  # type: ignore[no-any-return]


LOADED = load_policy().policy


def report(name: str, old: str, new: str) -> dict[str, Any]:
    """What `changegate ai classify --json` prints for the pair, without the process."""
    config = AiPathConfig.from_mapping(as_data(LOADED.ai.config_paths))
    rules = LiteLLMRules.from_policy(LOADED.ai.litellm)
    result = classify_files([(name, old, new)], config, rules=rules)
    return classification_report(LOADED, result)


def dump(doc: dict[str, Any]) -> str:
    return yaml.safe_dump(doc, sort_keys=False)


def variant(doc: dict[str, Any], fn: Callable[[dict[str, Any]], None]) -> str:
    new = copy.deepcopy(doc)
    fn(new)
    return dump(new)


def test_every_file_is_a_litellm_config_by_its_content(corpus: list[Path]) -> None:
    for path in corpus:
        doc = yaml.safe_load(path.read_bytes())
        entries = doc["model_list"]
        assert isinstance(entries, list) and entries
        assert all(isinstance(e.get("litellm_params"), dict) for e in entries), path.name


def test_a_provider_removed_under_any_file_name(corpus: list[Path], tmp_path: Path) -> None:
    """Found: under the names LiteLLM's docs use, a provider removal was "no AI configuration
    changed", exit 0 (and, without --path, the file was refused)."""
    for path in corpus:
        text = path.read_bytes().decode()
        doc = yaml.safe_load(text)
        counts: dict[str, int] = {}
        for entry in doc["model_list"]:
            p = provider(entry["litellm_params"])
            if p is not None:
                counts[p] = counts.get(p, 0) + 1
        gone = min(sorted(counts), key=lambda p: counts[p])  # every deployment of it goes

        def drop(d: dict[str, Any], gone: str = gone) -> None:
            d["model_list"] = [e for e in d["model_list"] if provider(e["litellm_params"]) != gone]

        new = variant(doc, drop)
        for name in ("config.yaml", "proxy_server_config.yaml", path.name):
            out = classify(tmp_path / path.stem / name, name, text, new)
            assert out["is_ai_change"] and out["paths"] == [name], (path.name, name)
            assert "model-provider-switch" in out["categories"], (path.name, out["findings"])
            assert gone in out["providers"], (path.name, gone, out["providers"])
            assert out["class"] == class_of("model-provider-switch")


def test_every_fallback_setting_is_a_routing_change(corpus: list[Path]) -> None:
    """Found: litellm_settings.default_fallbacks was not seen as a routing change."""
    for path in corpus:
        text = path.read_bytes().decode()
        doc = yaml.safe_load(text)
        groups = list(dict.fromkeys(e["model_name"] for e in doc["model_list"]))
        target = "fallback-model-" + path.stem
        for setting in FALLBACK_SETTINGS:
            for section in ("litellm_settings", "router_settings"):
                changed = copy.deepcopy(doc)
                settings = changed.get(section) or {}
                changed[section] = settings
                if setting == "default_fallbacks":  # a plain list: for every model group
                    settings[setting] = [target]
                else:
                    settings[setting] = [{groups[0]: [target]}]
                new = dump(changed)
                out = report(path.name, text, new)
                assert out["categories"] == ["model-provider-switch"], (path.name, section, setting)
                assert out["class"] == class_of("model-provider-switch")


def test_only_a_credential_reference_rotated(corpus: list[Path]) -> None:
    """credential-rotation only when nothing but credential references inside litellm_params
    changed; a literal key changed is no rotation of a reference."""
    seen = {"reference": 0, "literal": 0}
    for path in corpus:
        text = path.read_bytes().decode()
        doc = yaml.safe_load(text)
        for i, entry in enumerate(doc["model_list"]):
            key = entry["litellm_params"].get("api_key")
            if not isinstance(key, str):
                continue
            is_ref = key.startswith(ENV)

            def rotate(
                d: dict[str, Any], i: int = i, key: str = key, is_ref: bool = is_ref
            ) -> None:
                d["model_list"][i]["litellm_params"]["api_key"] = (
                    f"{key}_ROTATED" if is_ref else "sk-rotated-literal"
                )

            out = report(path.name, text, variant(doc, rotate))
            if is_ref:
                seen["reference"] += 1
                assert out["categories"] == ["credential-rotation"], (path.name, i)
                assert out["class"] == class_of("credential-rotation")
                assert out["security_impacting"] is False
            else:
                seen["literal"] += 1
                assert "credential-rotation" not in out["categories"], (path.name, i)
                assert out["class"] == "normal" and out["security_impacting"] is True
                assert "sk-rotated-literal" not in str(out) and key not in str(out)

            def rotate_and_tune(d: dict[str, Any], i: int = i) -> None:
                rotate(d)
                d["model_list"][i]["litellm_params"]["timeout"] = 7

            out = report(path.name, text, variant(doc, rotate_and_tune))
            assert out["class"] == "normal" and out["category"] != "credential-rotation"
    assert seen["reference"] > 0 and seen["literal"] > 0, seen  # the corpus has both kinds


SECURITY_FLIPS: dict[str, tuple[str, str, Callable[[Any], Any]]] = {
    # what the issue names: redaction, guardrail, master key and authentication settings
    "redaction": ("litellm_settings", "redact_user_api_key_info", lambda v: not v),
    "message logging": ("litellm_settings", "turn_off_message_logging", lambda v: not v),
    "guardrail": ("litellm_settings", "guardrails", lambda v: [{"hide_secrets": {}}]),
    "master key": ("general_settings", "master_key", lambda v: ENV + "LITELLM_MASTER_KEY_2"),
    "custom auth": ("general_settings", "custom_auth", lambda v: "auth.accept_everyone"),
    "jwt auth": ("general_settings", "enable_jwt_auth", lambda v: not v),
}


def test_security_settings_are_never_credential_rotation(corpus: list[Path]) -> None:
    """Found: setting names that merely contain "api_key" or "token" were credential rotation
    (standard, pre-approved): a security-relevant change dropped out of review."""
    for path in corpus:
        text = path.read_bytes().decode()
        doc = yaml.safe_load(text)
        for label, (section, key, flip) in SECURITY_FLIPS.items():

            def change(d: dict[str, Any], s: str = section, k: str = key, f: Any = flip) -> None:
                settings = d.get(s) or {}
                d[s] = settings
                settings[k] = f(settings.get(k))

            out = report(path.name, text, variant(doc, change))
            assert out["security_impacting"] is True, (path.name, label)
            assert "credential-rotation" not in out["categories"], (path.name, label)
            assert out["class"] == "normal", (path.name, label)


def test_what_nobody_classifies_is_normal(corpus: list[Path]) -> None:
    for path in corpus:
        text = path.read_bytes().decode()
        doc = yaml.safe_load(text)
        same = report(path.name, text, dump(doc))
        assert same["findings"] == [], (path.name, same["findings"])  # only formatting changed
        for label, change in {
            "tokenizer switch": lambda d: (
                (d.get("litellm_settings") or {}) | {"disable_hf_tokenizer_download": True}
            ),
            "verbosity": lambda d: (d.get("litellm_settings") or {}) | {"set_verbose": False},
        }.items():

            def apply(d: dict[str, Any], change: Any = change) -> None:
                d["litellm_settings"] = change(d)

            new = variant(doc, apply)
            if yaml.safe_load(new) == doc:
                continue  # the file already says so
            out = report(path.name, text, new)
            assert out["categories"] == [] and out["category"] is None, (path.name, label)
            assert out["class"] == "normal", (path.name, label)
            assert out["security_impacting"] is False
