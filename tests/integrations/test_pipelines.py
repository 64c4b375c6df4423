"""The shipped GitHub Action and GitLab template, run as a runner runs them, against a real
`changegate serve` (SQLite and PostgreSQL) whose policy trusts a local OIDC issuer.

The Action's ``run:`` steps and the template's ``before_script``/``script`` lines are read
from the YAML with ``yaml.safe_load`` and run with bash. Only the runner's own layer is
interpreted here: ``${{ inputs.x }}``/``${{ github.x }}`` in ``env:``, simple ``if:``
conditions, GitLab's ``$VARIABLE`` references in ``variables:``, and GitLab's flattening of
nested script lists. The ID token comes from the local issuer: GitHub's token request
endpoint (ACTIONS_ID_TOKEN_REQUEST_URL) and GitLab's ``id_tokens:`` variable. Installing
changegate is the one line skipped (it is installed here already).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from sqlalchemy import func, select

from changegate.deployments.models import Deployment
from tests.api.support import SECRET, Org, database
from tests.auth.oidc.issuer import Issuer, policy_with_trust, serving_issuer
from tests.factories import DEFAULT, tx

ROOT = Path(__file__).resolve().parents[2]
ACTION = ROOT / "integrations/github/action.yml"
GITLAB = ROOT / "integrations/gitlab/changegate.gitlab-ci.yml"
BIN = Path(sys.executable).parent

pytestmark = pytest.mark.skipif(
    shutil.which("bash") is None or shutil.which("curl") is None, reason="needs bash and curl"
)


def load(path: Path) -> dict[Any, Any]:
    document = yaml.safe_load(path.read_text())
    assert isinstance(document, dict)
    return document


@dataclass
class Server:
    url: str
    db_url: str
    issuer: Issuer

    def ready_change(self, sha: str) -> str:
        """An approved change with its evidence on commit ``sha``."""
        from changegate.db import make_engine

        engine = make_engine(self.db_url)
        try:  # the factory of the API tests, over the database only
            org = Org(app=None, engine=engine, client=None)  # type: ignore[arg-type]
            org._ci, org._helpers = "ci-bot", ("rev", "dep")
            return org.change("alice", "ready", commits=[sha])
        finally:
            engine.dispose()

    def deployments(self, key: str) -> int:
        from changegate.changes.service import get_change

        def count(s: Any) -> int:
            stmt = select(func.count()).select_from(Deployment)
            return int(s.scalar(stmt.where(Deployment.change_id == get_change(s, key).id)))

        from changegate.db import make_engine

        engine = make_engine(self.db_url)
        try:
            return tx(engine, count)
        finally:
            engine.dispose()


def _people(db_url: str) -> None:
    from changegate.db import make_engine
    from changegate.users.service import add_user

    engine = make_engine(db_url)
    team = {
        "alice": (["engineer"], {}),
        "rev": (["engineer"], {}),
        "dep": (["deployer"], {}),
        "ci-bot": (["ci", "deployer"], {}),
        "carol": (["deployer"], {"github_login": "carol-gh", "gitlab_login": "carol-gl"}),
    }
    for name, (roles, logins) in team.items():
        tx(
            engine,
            lambda s, n=name, r=roles, lg=logins: add_user(
                s, DEFAULT.policy, name=n, roles=r, **lg
            ),
        )
    engine.dispose()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("pipelines")
    with serving_issuer() as issuer, database(str(request.param), request, tmp) as db_url:
        _people(db_url)
        policy = policy_with_trust(issuer, tmp)
        port = _free_port()
        env = dict(os.environ, CHANGEGATE_SECRET_KEY=SECRET, CHANGEGATE_DATA_DIR=str(tmp))
        env.pop("CHANGEGATE_URL", None)
        command = [str(BIN / "changegate"), "serve", "--port", str(port)]
        command += ["--db", db_url, "--policy", str(policy)]
        log = (tmp / "serve.log").open("w")
        proc = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert proc.poll() is None, (tmp / "serve.log").read_text()
                assert time.monotonic() < deadline, "changegate serve did not start"
                time.sleep(0.2)
            yield Server(url, db_url, issuer)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
            log.close()


# -- the GitHub Action -------------------------------------------------------------------


def _expression(text: str, inputs: dict[str, str], github: dict[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        scope, _, name = match.group(1).partition(".")
        return {"inputs": inputs, "github": github}[scope][name]

    return re.sub(r"\$\{\{\s*([a-z]+\.[A-Za-z0-9_-]+)\s*\}\}", value, text)


def _condition(expression: str, outputs: dict[str, dict[str, str]]) -> bool:
    match = re.fullmatch(r"steps\.(\w+)\.outputs\.(\w+) (==|!=) '([^']*)'", expression.strip())
    assert match is not None, f"unsupported condition {expression!r}"
    actual = outputs.get(match[1], {}).get(match[2], "")
    return (actual == match[4]) == (match[3] == "==")


@dataclass
class Job:
    code: int
    ran: list[str]
    log: str


def run_action(server: Server, work: Path, sha: str, given: dict[str, str]) -> Job:
    """The composite action's bash steps in order, as the runner runs them."""
    action = load(ACTION)
    github = {"sha": sha, "actor": "carol-gh"}
    inputs = {
        name: _expression(str(spec.get("default", "")), {}, github)
        for name, spec in action["inputs"].items()
    }
    inputs |= {"changegate-url": server.url, "environment": "production", **given}
    outputs: dict[str, dict[str, str]] = {}
    ran: list[str] = []
    log: list[str] = []
    work.mkdir()
    for step in action["runs"]["steps"]:
        if "run" not in step or step["name"] == "Install changegate":
            continue  # actions/setup-python, and pip (changegate is installed here)
        if "if" in step and not _condition(step["if"], outputs):
            continue
        output_file = work / f"output-{len(ran)}"
        output_file.touch()
        env = {
            "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
            "HOME": str(work),
            "GITHUB_OUTPUT": str(output_file),
            "GITHUB_ACTION_PATH": str(ACTION.parent),
            "ACTIONS_ID_TOKEN_REQUEST_URL": f"{server.issuer.base}/github/idtoken",
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN": server.issuer.runner_secret,
            "DEPLOY_MARKER": str(work / "deployed"),
            **{k: _expression(str(v), inputs, github) for k, v in step.get("env", {}).items()},
        }
        result = subprocess.run(
            ["bash", "--noprofile", "--norc", "-e", "-o", "pipefail", "-c", step["run"]],
            env=env,
            capture_output=True,
            text=True,
            cwd=work,
            timeout=120,
        )
        ran.append(step["name"])
        log.append(result.stdout + result.stderr)
        if "id" in step:
            pairs = [line.split("=", 1) for line in output_file.read_text().splitlines() if line]
            outputs[step["id"]] = dict(pairs)
        if result.returncode != 0:
            return Job(result.returncode, ran, "\n".join(log))
    return Job(0, ran, "\n".join(log))


def test_action_first_run_re_run_and_an_untrusted_repository(
    server: Server, tmp_path: Path
) -> None:
    sha = f"{abs(hash((tmp_path, 'gh'))):040x}"[-40:]
    key = server.ready_change(sha)
    server.issuer.job = {"sha": sha, "actor": "carol-gh", "repository": "acme/shop"}
    given = {"command": 'touch "$DEPLOY_MARKER"', "version": "v1"}
    first = run_action(server, tmp_path / "first", sha, given)
    assert first.code == 0, first.log
    assert first.ran[-3:] == ["changegate gate", "Deploy", "Record the deployment in changegate"]
    assert (tmp_path / "first" / "deployed").exists()
    assert f"{key} deployed to production at v1 by carol" in first.log
    again = run_action(server, tmp_path / "again", sha, given)
    assert again.code == 0, again.log
    assert "already deployed to production at v1: recorded once" in again.log
    assert server.deployments(key) == 1
    other = run_action(server, tmp_path / "other", sha, {**given, "version": "v2"})
    assert other.code == 1 and "Deploy" not in other.ran  # a new version needs a new gate
    assert "v2 is a new deployment" in other.log
    server.issuer.job = {"sha": sha, "actor": "carol-gh", "repository": "acme/fork"}
    refused = run_action(server, tmp_path / "refused", sha, given)
    assert refused.code == 1 and refused.ran[-1] == "changegate gate", refused.log
    assert "repository 'acme/fork' (github) is not trusted" in refused.log
    assert not (tmp_path / "refused" / "deployed").exists()
    assert server.deployments(key) == 1


def test_action_without_id_token_permission_says_so(server: Server, tmp_path: Path) -> None:
    action = load(ACTION)
    step = next(s for s in action["runs"]["steps"] if s.get("id") == "gate")
    env = {
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        "GITHUB_OUTPUT": str(tmp_path / "out"),
        "GITHUB_ACTION_PATH": str(ACTION.parent),
    }
    result = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", step["run"]], env=env, capture_output=True, text=True
    )
    assert result.returncode == 2
    assert "permissions: id-token: write" in result.stderr


# -- the GitLab template -----------------------------------------------------------------


def _flatten(lines: list[Any]) -> list[str]:
    out: list[str] = []
    for line in lines:
        out.extend(_flatten(line) if isinstance(line, list) else [str(line)])
    return out


def _job(name: str) -> dict[str, Any]:
    """A hidden job with what it extends merged in (hashes merged, lists replaced)."""
    template = load(GITLAB)
    job = template[name]
    base = _job(job["extends"]) if "extends" in job else {}
    merged = {**base, **job}
    merged["variables"] = {**base.get("variables", {}), **job.get("variables", {})}
    return merged


def run_gitlab(server: Server, job_name: str, token: str, variables: dict[str, str]) -> Job:
    job = _job(job_name)
    predefined = {
        "CI_COMMIT_SHA": variables.pop("CI_COMMIT_SHA"),
        "CI_ENVIRONMENT_NAME": "production",
        "CHANGEGATE_URL": server.url,
        "CHANGEGATE_ID_TOKEN": token,  # id_tokens: as GitLab sets it
        **load(GITLAB)["variables"],
    }
    assert job["id_tokens"]["CHANGEGATE_ID_TOKEN"]["aud"] == "changegate"
    env = dict(predefined)
    for name, value in {**job["variables"], **variables}.items():
        env[name] = re.sub(r"\$(\w+)", lambda m: env.get(m[1], ""), str(value))
    lines = [
        line
        for line in _flatten(job["before_script"]) + _flatten(job["script"])
        if not line.startswith("python -m pip install")  # installed here already
    ]
    assert "after_script" not in job  # a failed recording must fail the job
    result = subprocess.run(
        ["bash", "--noprofile", "--norc", "-e", "-o", "pipefail", "-c", "\n".join(lines)],
        env={"PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "HOME": "/tmp", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    return Job(result.returncode, [], result.stdout + result.stderr)


def test_gitlab_first_run_re_run_and_an_untrusted_project(server: Server, tmp_path: Path) -> None:
    sha = f"{abs(hash((tmp_path, 'gl'))):040x}"[-40:]
    key = server.ready_change(sha)
    marker = tmp_path / "deployed"
    token = server.issuer.token("gitlab", alg="ES256", sha=sha)
    variables = {"CHANGEGATE_DEPLOY_COMMAND": f"touch {marker}", "CHANGEGATE_VERSION": "v7"}
    first = run_gitlab(server, ".changegate-deploy", token, {"CI_COMMIT_SHA": sha, **variables})
    assert first.code == 0, first.log
    assert marker.exists() and f"{key} deployed to production at v7 by carol" in first.log
    again = run_gitlab(server, ".changegate-deploy", token, {"CI_COMMIT_SHA": sha, **variables})
    assert again.code == 0 and "recorded once" in again.log, again.log
    assert server.deployments(key) == 1
    marker.unlink()
    fork = server.issuer.token("gitlab", sha=sha, project_path="someone/shop")
    refused = run_gitlab(server, ".changegate-deploy", fork, {"CI_COMMIT_SHA": sha, **variables})
    assert refused.code == 1 and "repository 'someone/shop' (gitlab) is not trusted" in refused.log
    assert not marker.exists()


def test_gitlab_deploy_without_a_command_fails_clearly(server: Server) -> None:
    out = run_gitlab(server, ".changegate-deploy", "unused", {"CI_COMMIT_SHA": "a" * 40})
    assert out.code == 2 and "CHANGEGATE_DEPLOY_COMMAND is empty" in out.log
