"""The shipped CI integrations parse, define every variable they use, and keep inputs out of
their scripts' text (the running of them is tests/integrations/test_pipelines.py)."""

from __future__ import annotations

import os
import re
import subprocess
from typing import Any

import pytest

from tests.integrations.test_pipelines import ACTION, GITLAB, ROOT, _flatten, _job, load

WORKFLOW = ROOT / "integrations/github/example-workflow.yml"
#: what GitLab defines for every job (the template reads these, and nothing else undeclared)
GITLAB_PREDEFINED = {"CI_COMMIT_SHA", "CI_ENVIRONMENT_NAME", "CHANGEGATE_URL"}


def test_all_integration_files_parse() -> None:
    for path in (ACTION, WORKFLOW, GITLAB):
        assert load(path)


def test_action_inputs_reach_scripts_through_env_only() -> None:
    action = load(ACTION)
    assert action["runs"]["using"] == "composite"
    inputs = action["inputs"]
    for name in ("environment", "changegate-url"):
        assert inputs[name]["required"] is True
    assert inputs["changegate-token"]["required"] is False  # the ID token is the default
    referenced = set(re.findall(r"\$\{\{\s*inputs\.([A-Za-z0-9_-]+)\s*\}\}", ACTION.read_text()))
    assert referenced <= set(inputs), referenced - set(inputs)
    for step in action["runs"]["steps"]:
        if "run" in step:
            assert step.get("shell") == "bash", step["name"]
            assert "${{" not in step["run"], step["name"]  # no expression injection
    assert "after_script" not in ACTION.read_text()


def test_example_workflow_grants_the_id_token_and_uses_the_action() -> None:
    workflow = load(WORKFLOW)
    assert workflow["permissions"]["id-token"] == "write"
    required = {n for n, spec in load(ACTION)["inputs"].items() if spec.get("required") is True}
    uses = [
        step
        for job in workflow["jobs"].values()
        for step in job["steps"]
        if str(step.get("uses", "")).startswith("your-org/changegate/integrations/github@")
    ]
    assert len(uses) == 3
    for step in uses:
        assert required <= set(step["with"]) and "changegate-token" not in step["with"]


def _variables_used(lines: list[str]) -> set[str]:
    used = set(re.findall(r"\$\{?([A-Z_][A-Z0-9_]*)", "\n".join(lines)))
    assigned = set(re.findall(r"(?:export )?\b([A-Z_][A-Z0-9_]*)=", "\n".join(lines)))
    return used - assigned


@pytest.mark.parametrize("name", [".changegate-deploy", ".changegate-gate", ".changegate-record"])
def test_gitlab_jobs_define_every_variable_they_use(name: str) -> None:
    job = _job(name)
    lines = _flatten(job["before_script"]) + _flatten(job["script"])
    defined = set(job["variables"]) | set(load(GITLAB)["variables"]) | GITLAB_PREDEFINED
    defined |= set(job["id_tokens"])
    assert _variables_used(lines) <= defined, _variables_used(lines) - defined
    assert "after_script" not in job
    assert any("changegate" in line for line in _flatten(job["script"]))


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"MODE": "sometimes"}, "mode: 'sometimes' is not one of"),
        ({"MODE": "gate-deploy-record"}, "command: empty"),
    ],
)
def test_bad_modes_fail_clearly(tmp_path: Any, given: dict[str, str], message: str) -> None:
    step = next(s for s in load(ACTION)["runs"]["steps"] if s.get("id") == "mode")
    env = {"PATH": os.environ["PATH"], "GITHUB_OUTPUT": str(tmp_path / "out"), "COMMAND": ""}
    result = subprocess.run(
        ["bash", "-eo", "pipefail", "-c", step["run"]],
        env=env | given,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2 and message in result.stdout
