"""A command whose optional extra is not installed names the `pip install` to run (exit 2),
never a traceback (found: `changegate serve` on a plain install died in argon2's import)."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

from changegate.extras import EXTRA_OF

ROOT = Path(__file__).resolve().parents[2]
#: imported first by the interpreter (PYTHONPATH precedes site-packages): hides one module, as
#: a plain `pip install changegate` without the server extra would
BLOCKER = """
import sys
class _Hide:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == {module!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None
sys.meta_path.insert(0, _Hide())
"""


def run_without(module: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(BLOCKER.format(module=module))
    env = dict(os.environ, PYTHONPATH=str(site), CHANGEGATE_SECRET_KEY="k" * 48)
    env.pop("CHANGEGATE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "changegate", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_serve_without_the_server_extra_names_the_install(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'cg.db'}"
    run = run_without("argon2", tmp_path, "serve", "--db", db, "--port", "1")
    assert run.returncode == 2, (run.stdout, run.stderr)
    assert "pip install 'changegate[server]'" in run.stderr
    assert "Traceback" not in run.stderr


def test_an_unknown_missing_module_is_not_disguised(tmp_path: Path) -> None:
    """Only the extras' modules get the install hint; anything else is a real bug and shows."""
    policy = ROOT / "src" / "changegate" / "policy" / "default.yaml"
    run = run_without("yaml", tmp_path, "policy", "check", str(policy))
    assert run.returncode != 0
    assert "No module named 'yaml'" in run.stderr
    assert "pip install 'changegate[" not in run.stderr


def test_every_extra_named_is_declared_in_pyproject() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    assert set(EXTRA_OF.values()) <= set(declared), set(EXTRA_OF.values()) - set(declared)
