"""The shipped CI integrations parse, and their shell steps do what they say.

The composite action's steps and the GitLab job's scripts run here for real, in bash, with
a stand-in ``changegate`` on PATH that records its arguments and passes or closes the gate
on demand. Only the GitHub-expression layer (``${{ inputs.x }}`` in ``env:``, simple
``if:`` conditions) is interpreted by the test.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ACTION = ROOT / "integrations/github/action.yml"
WORKFLOW = ROOT / "integrations/github/example-workflow.yml"
GITLAB = ROOT / "integrations/gitlab/changegate.gitlab-ci.yml"
SHA = "14091a9f2461267ee7e02525b4f1f2923f1c9849"

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")


def load(path: Path) -> dict[Any, Any]:
    document = yaml.safe_load(path.read_text())
    assert isinstance(document, dict)
    return document


# -- static checks --------------------------------------------------------------------------


def test_all_integration_files_parse() -> None:
    for path in (ACTION, WORKFLOW, GITLAB):
        assert load(path)


def test_action_shape() -> None:
    action = load(ACTION)
    assert action["runs"]["using"] == "composite"
    inputs = action["inputs"]
    for name in ("environment", "changegate-url", "changegate-token"):
        assert inputs[name]["required"] is True
    text = ACTION.read_text()
    referenced = set(re.findall(r"\$\{\{\s*inputs\.([A-Za-z0-9_-]+)\s*\}\}", text))
    assert referenced <= set(inputs), referenced - set(inputs)
    for step in action["runs"]["steps"]:
        if "run" in step:
            assert step.get("shell") == "bash", step["name"]
            # Inputs reach scripts through env only: no expression injection.
            assert "${{" not in step["run"], step["name"]
    steps = {step["name"]: step for step in action["runs"]["steps"]}
    gate = steps["changegate gate"]
    assert 'changegate gate --git-sha "$GATE_SHA" --env "$GATE_ENV"' in gate["run"]
    record = steps["Record the deployment in changegate"]
    assert 'changegate deploy --git-sha "$GATE_SHA" --env "$GATE_ENV"' in record["run"]
    for step in (gate, record):
        assert step["env"]["CHANGEGATE_URL"] == "${{ inputs.changegate-url }}"
        assert step["env"]["CHANGEGATE_TOKEN"] == "${{ inputs.changegate-token }}"
    assert "pip install" in steps["Install changegate"]["run"]


def test_example_workflow_uses_the_action_with_its_required_inputs() -> None:
    workflow = load(WORKFLOW)
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare 'on' as true
    assert "push" in triggers
    required = {
        name for name, spec in load(ACTION)["inputs"].items() if spec.get("required") is True
    }
    uses = 0
    for job in workflow["jobs"].values():
        for step in job["steps"]:
            if str(step.get("uses", "")).startswith("your-org/changegate/integrations/github@"):
                uses += 1
                assert required <= set(step["with"])
                assert step["with"]["changegate-token"] == "${{ secrets.CHANGEGATE_TOKEN }}"
    assert uses == 3
    assert workflow["jobs"]["deploy"]["environment"] == "production"


def test_gitlab_snippet_shape() -> None:
    gitlab = load(GITLAB)
    deploy = gitlab[".changegate-deploy"]
    assert any(
        'changegate gate --git-sha "$CI_COMMIT_SHA"' in line for line in deploy["before_script"]
    )
    assert any("changegate deploy --git-sha" in line for line in deploy["after_script"])
    for name, job in gitlab.items():
        if isinstance(job, dict) and "extends" in job:
            assert job["extends"] in gitlab, name


# -- running the steps -----------------------------------------------------------------------

FAKE_CHANGEGATE = """#!/usr/bin/env bash
printf '%s\\n' "$*" >> "$FAKE_LOG"
printf 'URL=%s TOKEN=%s\\n' "${CHANGEGATE_URL:-}" "${CHANGEGATE_TOKEN:-}" >> "$FAKE_LOG"
if [ "$1" = gate ] && [ "${FAKE_GATE:-open}" = closed ]; then
  echo "unmet: approval by role cto: missing"
  exit 1
fi
"""


@pytest.fixture
def fake_bin(tmp_path: Path) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, script in (("changegate", FAKE_CHANGEGATE), ("python", "#!/usr/bin/env bash\n")):
        path = bin_dir / name
        path.write_text(script)
        path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return bin_dir


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


def run_action(
    tmp_path: Path, fake_bin: Path, given: dict[str, str], *, gate: str = "open"
) -> tuple[int, list[str], dict[str, dict[str, str]], list[str]]:
    """Run the composite action's bash steps in order, as the runner would."""
    action = load(ACTION)
    github = {"sha": SHA, "actor": "octocat"}
    inputs = {
        name: _expression(str(spec.get("default", "")), {}, github)
        for name, spec in action["inputs"].items()
    }
    inputs.update(given)
    log = tmp_path / "changegate.log"
    log.touch()
    outputs: dict[str, dict[str, str]] = {}
    ran: list[str] = []
    for step in action["runs"]["steps"]:
        if "run" not in step:
            continue  # actions/setup-python
        if "if" in step and not _condition(step["if"], outputs):
            continue
        output_file = tmp_path / f"output-{len(ran)}"
        output_file.touch()
        env = {
            "PATH": f"{fake_bin}{os.pathsep}{os.environ['PATH']}",
            "FAKE_LOG": str(log),
            "FAKE_GATE": gate,
            "GITHUB_OUTPUT": str(output_file),
            "DEPLOY_MARKER": str(tmp_path / "deployed"),
            **{k: _expression(str(v), inputs, github) for k, v in step.get("env", {}).items()},
        }
        result = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
            env=env,
            capture_output=True,
            text=True,
            cwd=tmp_path,
        )
        ran.append(step["name"])
        if "id" in step:
            pairs = [line.split("=", 1) for line in output_file.read_text().splitlines() if line]
            outputs[step["id"]] = dict(pairs)
        if result.returncode != 0:
            return result.returncode, ran, outputs, log.read_text().splitlines()
    return 0, ran, outputs, log.read_text().splitlines()


BASE_INPUTS = {
    "environment": "production",
    "changegate-url": "https://changegate.example.com",
    "changegate-token": "cg_token",
}


def test_action_gates_deploys_and_records(tmp_path: Path, fake_bin: Path) -> None:
    inputs = {**BASE_INPUTS, "command": 'touch "$DEPLOY_MARKER"', "version": "v1.4.2"}
    code, ran, outputs, calls = run_action(tmp_path, fake_bin, inputs)
    assert code == 0
    assert ran == [
        "Install changegate",
        "Choose the steps",
        "changegate gate",
        "Deploy",
        "Record the deployment in changegate",
    ]
    assert outputs["gate"] == {"gate": "passed"}
    assert (tmp_path / "deployed").exists()
    assert calls == [
        f"gate --git-sha {SHA} --env production --deployer octocat",
        "URL=https://changegate.example.com TOKEN=cg_token",
        f"deploy --git-sha {SHA} --env production --version v1.4.2 --by octocat",
        "URL=https://changegate.example.com TOKEN=cg_token",
    ]


def test_a_closed_gate_stops_the_job_before_deploying(tmp_path: Path, fake_bin: Path) -> None:
    inputs = {**BASE_INPUTS, "command": 'touch "$DEPLOY_MARKER"'}
    code, ran, outputs, calls = run_action(tmp_path, fake_bin, inputs, gate="closed")
    assert code == 1
    assert ran[-1] == "changegate gate"
    assert outputs["gate"] == {"gate": "closed"}
    assert not (tmp_path / "deployed").exists()
    assert not any(call.startswith("deploy ") for call in calls)


def test_gate_only_and_record_only_modes(tmp_path: Path, fake_bin: Path) -> None:
    (tmp_path / "a").mkdir()
    code, ran, _, calls = run_action(tmp_path / "a", fake_bin, BASE_INPUTS)
    assert code == 0 and ran[-1] == "changegate gate"
    assert [c.split()[0] for c in calls if not c.startswith("URL=")] == ["gate"]
    (tmp_path / "b").mkdir()
    code, ran, _, calls = run_action(tmp_path / "b", fake_bin, {**BASE_INPUTS, "mode": "record"})
    assert code == 0 and "changegate gate" not in ran
    assert [c.split()[0] for c in calls if not c.startswith("URL=")] == ["deploy"]


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"mode": "sometimes"}, "mode: 'sometimes' is not one of"),
        ({"mode": "gate-deploy-record"}, "command: empty"),
    ],
)
def test_bad_modes_fail_clearly(
    tmp_path: Path, fake_bin: Path, given: dict[str, str], message: str
) -> None:
    action = load(ACTION)
    step = next(s for s in action["runs"]["steps"] if s.get("id") == "mode")
    env = {
        "PATH": os.environ["PATH"],
        "GITHUB_OUTPUT": str(tmp_path / "out"),
        "MODE": given.get("mode", "auto"),
        "COMMAND": given.get("command", ""),
    }
    result = subprocess.run(
        ["bash", "-eo", "pipefail", "-c", step["run"]], env=env, capture_output=True, text=True
    )
    assert result.returncode == 2
    assert message in result.stdout


def test_injection_through_inputs_does_not_run(tmp_path: Path, fake_bin: Path) -> None:
    hostile = {**BASE_INPUTS, "environment": 'production"; touch "$DEPLOY_MARKER"; echo "'}
    code, _, _, calls = run_action(tmp_path, fake_bin, hostile)
    assert code == 0
    assert not (tmp_path / "deployed").exists()
    assert calls[0].startswith(f'gate --git-sha {SHA} --env production"; touch')


def _gitlab_script(
    lines: list[str], env: dict[str, str], fake_bin: Path
) -> subprocess.CompletedProcess[str]:
    script = "\n".join(lines)
    return subprocess.run(
        ["bash", "-eo", "pipefail", "-c", script],
        env={"PATH": f"{fake_bin}{os.pathsep}{os.environ['PATH']}", **env},
        capture_output=True,
        text=True,
    )


@pytest.mark.parametrize("gate", ["open", "closed"])
def test_gitlab_job_scripts(tmp_path: Path, fake_bin: Path, gate: str) -> None:
    job = load(GITLAB)[".changegate-deploy"]
    log = tmp_path / "log"
    log.touch()
    env = {
        "FAKE_LOG": str(log),
        "FAKE_GATE": gate,
        "CI_COMMIT_SHA": SHA,
        "CI_ENVIRONMENT_NAME": "production",
        "CHANGEGATE_DEPLOYER": "octocat",
        "CHANGEGATE_PACKAGE": "changegate",
        "CHANGEGATE_URL": "https://changegate.example.com",
        "CHANGEGATE_TOKEN": "cg_token",
    }
    before = _gitlab_script(job["before_script"], env, fake_bin)
    assert before.returncode == (0 if gate == "open" else 1)
    status = "success" if gate == "open" else "failed"
    after = _gitlab_script(job["after_script"], {**env, "CI_JOB_STATUS": status}, fake_bin)
    assert after.returncode == 0
    calls = [line for line in log.read_text().splitlines() if not line.startswith("URL=")]
    if gate == "open":
        assert calls == [
            f"gate --git-sha {SHA} --env production --deployer octocat",
            f"deploy --git-sha {SHA} --env production --version {SHA} --by octocat",
        ]
    else:
        assert calls == [f"gate --git-sha {SHA} --env production --deployer octocat"]
        assert "no deployment recorded" in after.stdout
