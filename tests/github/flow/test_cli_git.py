"""The git commands on real repositories and both databases: classify a range, create a
change from one (the class floor held on later edits), gate and deploy by commit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine

from changegate.changes import service as changes
from changegate.evidence import service as evidence
from changegate.reviews import service as reviews
from tests.cli_runner import cli
from tests.factories import DEFAULT, JUNIT_PASS, make_change, risk, tx
from tests.github.flow.conftest import make_team
from tests.gitrepo import Repo

P = DEFAULT.policy


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    repo = Repo(tmp_path / "service")
    repo.commit("Initial import", {"src/app.py": "x = 1\n", "prompts/persona.txt": "Be kind.\n"})
    return repo


def test_classify_a_range_from_the_files_it_changes(repo: Repo, tmp_path: Path) -> None:
    base = repo.head()
    repo.branch("feature")
    repo.commit("Reorder providers", {"config/litellm.yaml": "model_list: []\n"})
    repo.git("mv", "prompts/persona.txt", "prompts/persona-v2.txt")
    repo.commit("Rename the persona prompt")
    repo.commit("Rotate the chain", {"infra/tls/chain.pem": "-----BEGIN-----\n"})
    run = cli(
        "sqlite://",
        "classify",
        "--git-range",
        f"{base}..feature",
        "--repo",
        str(repo.path),
        "--json",
    )
    assert run.code == 0, run.stderr
    out = run.json()
    assert out["base"] == base and out["head"] == repo.head()
    assert out["class"] == out["minimum_class"] == "normal"
    assert out["categories"] == ["infrastructure", "model-provider-switch", "system-prompt-change"]
    assert out["category"] == "model-provider-switch"  # the one with the most requirements
    assert out["components"] == ["infrastructure", "llm-shuffle", "persona-engine", "tls"]
    assert out["flags"] == ["security_impacting"]
    rules = [r["rule"] for r in out["requirements"]]
    for rule in ("peer-review", "security-scrutiny", "cto-sign-off", "tls-validation"):
        assert rule in rules
    assert "ai-providers-documented" in rules
    assert any("split the change" in n or "add no requirement" in n for n in out["notes"])
    files = {f["path"]: f for f in out["files"]}
    assert files["prompts/persona-v2.txt"]["old_path"] == "prompts/persona.txt"
    assert files["prompts/persona-v2.txt"]["rules"] == ["prompts/**"]
    assert files["infra/tls/chain.pem"]["rules"] == ["**/*.pem", "**/tls/**", "infra/**"]
    assert len(out["commits"]) == 3

    # it reads local files only: with CHANGEGATE_URL set (no server there) it runs the same
    from click.testing import CliRunner

    from changegate.cli.main import cli as root

    env = {"CHANGEGATE_URL": "http://127.0.0.1:9", "CHANGEGATE_TOKEN": "x", "CHANGEGATE_DB": None}
    args = ["classify", "--git-range", f"{base}..feature", "--repo", str(repo.path), "--json"]
    there = CliRunner(env=env).invoke(root, args, prog_name="changegate")
    assert there.exit_code == 0, there.stderr
    assert json.loads(there.stdout) == out

    # three dots: what a pull request from feature into main changes
    repo.checkout("main")
    repo.commit("Unrelated on main", {"README.md": "x\n"})
    run = cli(
        "sqlite://", "classify", "--git-range", "main...feature", "--repo", str(repo.path), "--json"
    )
    assert run.code == 0 and "README.md" not in {f["path"] for f in run.json()["files"]}

    # raising is allowed, lowering is refused with the fix
    raised = cli(
        "sqlite://",
        "classify",
        "--git-range",
        f"{base}..feature",
        "--repo",
        str(repo.path),
        "--class",
        "emergency",
        "--json",
    )
    assert raised.code == 0 and raised.json()["class"] == "emergency"
    assert raised.json()["category"] is None  # no path-rule category is an emergency one
    lowered = cli(
        "sqlite://",
        "classify",
        "--git-range",
        f"{base}..feature",
        "--repo",
        str(repo.path),
        "--class",
        "standard",
    )
    assert lowered.code == 2
    assert "class: 'standard' is below 'normal', the minimum the changed files require" in (
        lowered.stderr
    )
    # only lock files: a standard dependency update
    repo.checkout("main")
    start = repo.head()
    repo.commit("Bump deps", {"requirements.txt": "httpx==0.28.1\n"})
    deps = cli(
        "sqlite://", "classify", "--git-range", f"{start}..main", "--repo", str(repo.path), "--json"
    ).json()
    assert (deps["class"], deps["category"]) == ("standard", "dependency-update")
    assert [r["rule"] for r in deps["requirements"]] == ["standard-pre-approved"]
    # human output
    human = cli(
        "sqlite://", "classify", "--git-range", f"{base}..feature", "--repo", str(repo.path)
    )
    assert human.code == 0 and "cto-sign-off" in human.stdout and "**/*.pem" in human.stdout
    # bad input
    assert (
        cli("sqlite://", "classify", "--git-range", "nope..feature", "--repo", str(repo.path)).code
        == 2
    )
    notrepo = cli("sqlite://", "classify", "--git-range", "a..b", "--repo", str(tmp_path))
    assert notrepo.code == 2 and "is not a git repository" in notrepo.stderr


def test_a_change_from_a_range_keeps_its_class_floor(
    repo: Repo, db_url: str, engine: Engine
) -> None:
    make_team(engine)
    base = repo.head()
    first = repo.commit("Rotate the chain", {"certs/tls/chain.pem": "-----BEGIN-----\n"})
    second = repo.commit("Tighten the ACL", {"network/acl.yaml": "deny: all\n"})
    run = cli(
        db_url,
        "change",
        "from-git",
        "--git-range",
        f"{base}..HEAD",
        "--repo",
        str(repo.path),
        "--title",
        "Rotate the TLS chain",
        "--author",
        "alice",
        "--risk",
        "availability=low",
        "--risk",
        "security=medium",
        "--risk",
        "data=low",
        "--risk-note",
        "security=new chain",
        "--rollback",
        "redeploy the old chain",
        "--json",
    )
    assert run.code == 0, run.stderr
    out = run.json()
    assert out["id"] == "CHG-1"
    assert (out["change_class"], out["category"], out["security_flag"]) == ("normal", None, True)
    assert out["components"] == ["network", "tls"]
    assert out["commits"] == [first, second]
    assert out["classification"]["minimum_class"] == "normal"
    lowered = cli(db_url, "change", "edit", "CHG-1", "--class", "standard", "--by", "alice")
    assert lowered.code == 2
    assert "'standard' is below 'normal', the minimum the changed files require" in lowered.stderr
    # a change made by hand has no floor (as standard it names its procedure, §3a)
    make_change(engine, change_class="normal")
    assert (
        cli(
            db_url,
            "change",
            "edit",
            "CHG-2",
            "--class",
            "standard",
            "--category",
            "dependency-update",
            "--by",
            "alice",
        ).code
        == 0
    )
    too_low = cli(
        db_url,
        "change",
        "from-git",
        "--git-range",
        f"{base}..HEAD",
        "--repo",
        str(repo.path),
        "--title",
        "x",
        "--author",
        "alice",
        "--class",
        "standard",
    )
    assert too_low.code == 2 and "below 'normal'" in too_low.stderr


def test_gate_and_deploy_find_the_change_by_commit(repo: Repo, db_url: str, engine: Engine) -> None:
    make_team(engine)
    sha = repo.commit("Round tax", {"src/tax.py": "x\n"})
    other = repo.commit("Unrelated", {"src/other.py": "x\n"})
    key = make_change(engine, commits=[sha])  # the CLI stores full SHAs (expanded)

    def prepare(s: object) -> None:
        c = changes.get_change(s, key)  # type: ignore[arg-type]
        changes.submit_change(s, P, c, actor="alice")  # type: ignore[arg-type]
        reviews.approve(s, P, c, actor="bob")  # type: ignore[arg-type]
        evidence.add_junit(s, P, c, content=JUNIT_PASS, filename="j.xml", actor="ci-bot")  # type: ignore[arg-type]
        evidence.add_validation(s, P, c, name="staging", result="pass", actor="ci-bot")  # type: ignore[arg-type]

    tx(engine, prepare)
    # --deployer may be a GitHub login: monalisa is carol
    run = cli(
        db_url, "gate", "--git-sha", sha, "--env", "production", "--deployer", "monalisa", "--json"
    )
    assert run.code == 0, run.stdout + run.stderr
    out = run.json()
    assert (out["change"], out["deployer"], out["passed"]) == (key, "carol", True)
    assert out["commit"] == {"sha": sha, "linked_as": "commit"}
    short = cli(db_url, "gate", "--git-sha", sha[:10], "--env", "production", "--deployer", "carol")
    assert short.code == 2 and "full 40 (or 64) hex digits" in short.stderr
    none = cli(db_url, "gate", "--git-sha", other, "--env", "production", "--deployer", "carol")
    assert none.code == 1
    assert f"no change record is linked to commit {other[:12]}" in none.stderr
    both = cli(db_url, "gate", key, "--git-sha", sha, "--env", "production", "--deployer", "carol")
    assert both.code == 2
    assert (
        cli(db_url, "gate", "--git-sha", "xyz", "--env", "production", "--deployer", "carol").code
        == 2
    )
    neither = cli(db_url, "gate", "--env", "production", "--deployer", "carol")
    assert neither.code == 2 and "--git-sha" in neither.stderr
    # deploy by commit, deployer from $GITHUB_ACTOR as in GitHub Actions
    import os

    os.environ["GITHUB_ACTOR"] = "monalisa"
    try:
        run = cli(
            db_url, "deploy", "--git-sha", sha, "--env", "production", "--version", "v1", "--json"
        )
    finally:
        del os.environ["GITHUB_ACTOR"]
    assert run.code == 0, run.stderr
    assert run.json()["deployment"]["actor"] == "carol"
    assert run.json()["state"] == "deployed"
    # a commit in two changes is ambiguous
    make_change(engine, commits=[other])
    make_change(engine, commits=[other], title="Again")
    ambiguous = cli(
        db_url, "gate", "--git-sha", other, "--env", "production", "--deployer", "carol"
    )
    assert ambiguous.code == 2 and "belongs to several changes (CHG-2, CHG-3)" in ambiguous.stderr


def test_risk_factory_is_complete() -> None:
    assert set(risk()) == set(P.risk.dimensions)
