"""Every `ai` command gives the same output and exit code locally and against a server (both
databases), and with CHANGEGATE_URL set never falls back to a local database: the remote runs
name one that does not exist. The checks ask their targets where the CLI runs; the server
judges what they saw (tests/ai/flow/test_ai_verdicts.py: a forged verdict is not taken)."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.ai.flow.flow import FAST_SUITE, GOOD_CALLABLE, ISOLATED, LEAKY
from tests.api.remote_parity import comparable, normal, paired, run_remote
from tests.cli_runner import Run, cli

RESULTS = Path(__file__).parents[1] / "fixtures" / "results"
LITELLM = Path(__file__).parents[1] / "fixtures" / "litellm"
DEGRADED = "tests.ai.flow.targets:degraded"
TEAM = {
    "alice": ["engineer"],
    "bob": ["engineer"],
    "artur": ["cto"],
    "sam": ["security"],
    "audrey": ["auditor"],
    "ci-bot": ["ci"],
}
#: stored documents carry the time they were made, so their SHA-256 differs between runs
Pair = tuple[str, str, dict[str, str], Path]  # local database, server URL, tokens, a folder
SHA = re.compile(r"\b[0-9a-f]{64}\b|(?<=sha256 )[0-9a-f]{12}\b|(?<=document )[0-9a-f]{12}\b")


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def pair(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Pair]:
    """A local database and a server on another one, with the same team; their tokens."""
    tmp = tmp_path_factory.mktemp("ai-remote")
    with paired(request, tmp, TEAM) as (local_url, base, tokens):
        yield local_url, base, tokens, tmp


def masked(value: Any) -> Any:
    return SHA.sub("<sha>", value) if isinstance(value, str) else value


def _walk(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: _walk(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_walk(v) for v in data]
    return masked(data)


Same = Callable[..., Run]


@pytest.fixture
def same(pair: Pair, capsys: pytest.CaptureFixture[str]) -> Same:
    """``args`` locally and remotely: the same exit code (``code``), stderr and output."""
    local_url, base, tokens, _ = pair

    def run(who: str, *args: str, code: int) -> Run:
        here = cli(local_url, *args)
        there = run_remote(base, tokens[who], list(args), capsys)
        label = f"{who}: changegate {' '.join(args)}"
        assert there.code == here.code == code, (
            f"{label}\nlocal {here.code}: {here.stderr}\nremote {there.code}: {there.stderr}"
        )
        assert normal(there.stderr) == normal(here.stderr), label
        assert _walk(comparable(there)) == _walk(comparable(here)), label
        return there

    return run


def change(same: Same, title: str) -> str:
    args = [
        "change", "new", "--title", title, "--class", "normal", "--category",
        "system-prompt-change", "--risk", "availability=low", "--risk", "security=low",
        "--risk", "data=low", "--rollback", "restore the previous prompt", "--description",
        "An AI change.", "--author", "alice", "--json",
    ]  # fmt: skip
    return str(same("alice", *args, code=0).json()["id"])


def test_provider_register_locally_and_remotely(pair: Pair, same: Same) -> None:
    doc = pair[3] / "dpa.pdf"
    doc.write_bytes(b"%PDF-1.4 the signed DPA")
    later = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=400)).isoformat()
    add = ["ai", "provider", "add"]
    same("artur", *add, "openai", "--display-name", "OpenAI, L.L.C.", "--by", "artur",
         "--json", code=0)  # fmt: skip
    same("artur", *add, "google", "--by", "artur", code=0)
    same("artur", *add, "openai", "--by", "artur", code=1)  # already registered
    same("artur", *add, "Open AI!", "--by", "artur", code=2)
    same("bob", *add, "anthropic", "--by", "bob", code=1)  # not ai.provider.manage
    dpa = ["ai", "provider", "dpa"]
    same("artur", *dpa, "openai", "--status", "signed", "--by", "artur", code=2)
    same("artur", *dpa, "openai", "--status", "signed", "--signed", "2026-13-01",
         "--by", "artur", code=2)  # fmt: skip
    signed = ["--status", "signed", "--signed", "2026-01-10", "--expires", later]
    same("artur", *dpa, "openai", *signed, "--document", str(doc), "--by", "artur",
         "--json", code=0)  # fmt: skip
    same("artur", *dpa, "google", "--status", "pending", "--notes", "in legal review",
         "--by", "artur", code=0)  # fmt: skip
    same("sam", *dpa, "azure", "--status", "none", "--by", "sam", code=2)
    same("bob", *dpa, "openai", *signed, "--document", str(doc), "--by", "bob", code=1)
    listed = same("bob", "ai", "provider", "list", "--json", code=0).json()
    assert [p["provider"] for p in listed["flagged"]] == ["google"]
    human = same("bob", "ai", "provider", "list", code=0).stdout
    assert "PENDING" in human and "openai" in human


def test_assessment_and_imports_locally_and_remotely(same: Same) -> None:
    key = change(same, "Tighten the system prompt")
    rate = ["--prompt-injection", "low", "--data-leakage", "medium", "--content-filter", "low"]
    assess = ["ai", "assess", key, *rate, "--notes", "reviewed the diff"]
    out = same("sam", *assess, "--note", "data_leakage=logs", "--by", "sam", "--json",
               code=0).json()  # fmt: skip
    assert out["evidence"][0]["name"] == "security-impact-assessment"
    same("sam", *assess, "--by", "sam", code=0)
    same("bob", *assess, "--by", "bob", code=1)  # not a security assessor
    same("sam", *assess, "--note", "no equals sign", "--by", "sam", code=2)
    same("sam", "ai", "assess", key, "--prompt-injection", "severe", "--data-leakage",
         "low", "--content-filter", "low", "--by", "sam", code=2)  # fmt: skip
    imp = ["ai", "import"]
    by = ["--change", key, "--by", "ci-bot"]
    before, after = str(RESULTS / "promptfoo_before.json"), str(RESULTS / "promptfoo_after.json")
    same("ci-bot", *imp, before, "--phase", "pre", *by, "--json", code=0)
    post = same("ci-bot", *imp, after, *by, "--json", code=1).json()
    assert post["verdict"] == "fail" and post["format"] == "promptfoo"
    same("ci-bot", *imp, after, "--before", before, *by, code=1)
    garak = str(RESULTS / "garak.report.jsonl")
    same("ci-bot", *imp, garak, *by, "--json", code=1)
    same("ci-bot", *imp, garak, "--phase", "pre", *by, code=2)
    same("ci-bot", *imp, after, "--format", "yaml", *by, code=2)
    same("ci-bot", *imp, after, "--phase", "during", *by, code=2)
    same("audrey", *imp, after, "--change", key, "--by", "audrey", code=1)
    same("ci-bot", *imp, after, "--change", "CHG-999", "--by", "ci-bot", code=2)


def test_checks_locally_and_remotely(same: Same) -> None:
    key = change(same, "Route the support bot through the new model")
    fresh = change(same, "Another model")
    by = ["--change", key, "--by", "ci-bot"]
    suite = ["ai", "regress", str(FAST_SUITE)]
    same("ci-bot", *suite, "--target", GOOD_CALLABLE, "--before-target", GOOD_CALLABLE,
         *by, "--json", code=0)  # fmt: skip
    same("ci-bot", *suite, "--target", DEGRADED, "--before-target", GOOD_CALLABLE, *by,
         code=1)  # fmt: skip
    # no pre-change results on the fresh change: refused before anything runs
    same("ci-bot", *suite, "--target", GOOD_CALLABLE, "--change", fresh, "--by", "ci-bot",
         code=2)  # fmt: skip
    pre = ["--target", GOOD_CALLABLE, "--phase", "pre", "--change", fresh, "--by", "ci-bot"]
    same("ci-bot", *suite, *pre, code=0)
    same("ci-bot", *suite, *pre, "--json", code=0)
    same("ci-bot", *suite, *pre, "--before-model", "old", code=2)
    stored = ["--target", DEGRADED, "--change", fresh, "--by", "ci-bot"]
    assert not same("ci-bot", *suite, *stored, "--json", code=1).json()["passed"]
    same("audrey", *suite, "--target", GOOD_CALLABLE, "--phase", "pre", "--change", fresh,
         "--by", "audrey", code=1)  # fmt: skip

    iso = ["ai", "isolation", "--tenants", "acme,globex", "--probes-per-pair", "1", "--seed", "5"]
    out = same("ci-bot", *iso, "--target", ISOLATED, *by, "--json", code=0).json()
    assert out["status"] == "pass"
    same("ci-bot", *iso, "--target", LEAKY, *by, code=1)
    same("ci-bot", "ai", "isolation", "--tenants", "acme", "--target", ISOLATED, *by,
         code=2)  # fmt: skip
    same("audrey", *iso, "--target", ISOLATED, "--change", key, "--by", "audrey", code=1)

    inj = ["ai", "injection", "--seed", "3", *by]
    out = same("ci-bot", *inj, "--target", ISOLATED, "--json", code=0).json()
    assert out["status"] == "pass" and out["validation"]["name"] == "security-impact"
    same("ci-bot", *inj, "--target", LEAKY, code=1)
    same("ci-bot", *inj, "--target", ISOLATED, "--interface", "fax", code=2)


def test_classify_reads_local_files_only_with_a_server_set(pair: Pair, same: Same) -> None:
    """`ai classify` needs no database and no server: with CHANGEGATE_URL set it reads the
    files and the policy where it runs, the same as without."""
    old = pair[3] / "old" / "config"
    new = pair[3] / "new" / "config"
    old.mkdir(parents=True, exist_ok=True)
    new.mkdir(parents=True, exist_ok=True)
    text = (LITELLM / "base.yaml").read_text()
    (old / "litellm.yaml").write_text(text)
    (new / "litellm.yaml").write_text(text.replace("num_retries: 2", "num_retries: 5"))
    args = ["ai", "classify", "--before", str(old / "litellm.yaml"), "--after"]
    out = same("bob", *args, str(new / "litellm.yaml"), "--json", code=0).json()
    assert out["is_ai_change"]
    same("bob", *args, str(new / "litellm.yaml"), code=0)
    same("bob", *args, str(new / "missing.yaml"), code=2)


def test_remote_provider_list_imports_no_database_or_web_framework(pair: Pair) -> None:
    """The remote backend is standard library only: what the register costs a pipeline is
    its round trip."""
    _, base, tokens, _ = pair
    env = dict(os.environ, CHANGEGATE_URL=base, CHANGEGATE_TOKEN=tokens["bob"])
    r = subprocess.run(
        [
            sys.executable,
            "-X",
            "importtime",
            "-m",
            "changegate",
            "ai",
            "provider",
            "list",
            "--json",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    assert "providers" in json.loads(r.stdout)
    modules = {ln.split("|")[-1].strip().split(".")[0] for ln in r.stderr.splitlines() if "|" in ln}
    heavy = {"sqlalchemy", "fastapi", "starlette", "pydantic", "typer", "alembic", "rich"}
    assert not modules & heavy, modules & heavy
