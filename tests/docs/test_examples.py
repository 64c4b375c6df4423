"""Every example in README.md and docs/*.md runs, as a reader would run it.

Each document's shell blocks run in order in one bash session (`set -euo pipefail`) and its
Python blocks in one Python process, in a temporary copy of the repository (so paths such as
tests/data/junit_pass.xml resolve) with a fresh database in a temporary directory and this
environment's `changegate` first on PATH. The conventions (skip markers, `# exit N`) are in
tests/docs/markdown.py and docs/architecture.md.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.docs.markdown import (
    PYTHON,
    ROOT,
    SHELL,
    Block,
    blocks,
    documents,
    python_program,
    shell_script,
)

#: Blocks a document may leave unrun (each marked `<!-- docs-test: skip (why) -->` in place):
#: installing packages and `make` targets (CI has run `make install-dev`; `make test` would run
#: this test inside itself), servers in the foreground, and calls to a server at a real
#: hostname (the remote CLI, GitHub's API), which tests/api and tests/github run locally, a
#: pipeline's step, alerts that need violations first (tests/alerts), and the benchmarks.
SKIPS_ALLOWED = {
    "README.md": 8,
    "docs/server.md": 2,
    "docs/ai.md": 1,
    "docs/git.md": 2,
    "docs/policy.md": 1,
}
RUN_TIMEOUT = 600

ALL_BLOCKS = {path.relative_to(ROOT).as_posix(): blocks(path) for path in documents()}


def _docs_with(langs: frozenset[str]) -> list[str]:
    return [
        doc
        for doc, found in ALL_BLOCKS.items()
        if any(b.lang in langs and b.skip is None for b in found)
    ]


def _copy_repository(dest: Path) -> None:
    """The files a fresh clone has (plus files not yet committed), without ignored ones."""
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        src = ROOT / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)


def _status(repo: Path) -> set[str]:
    out = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return set(out.splitlines())


@pytest.fixture
def workdir(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    repo = tmp_path / "repo"
    repo.mkdir()
    _copy_repository(repo)
    git = ["git", "-c", "user.name=docs", "-c", "user.email=docs@example.com"]
    subprocess.run([*git, "init", "-q", "-b", "main"], cwd=repo, check=True)
    subprocess.run([*git, "add", "-A"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "the documented tree"], cwd=repo, check=True)
    home = tmp_path / "home"
    home.mkdir()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("CHANGEGATE_") and not k.startswith("RAG_")
    }
    env.update(
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        HOME=str(home),
        CHANGEGATE_DB=f"sqlite:///{tmp_path / 'docs.db'}",
        CHANGEGATE_DATA_DIR=str(tmp_path / "data"),
    )
    env.pop("VIRTUAL_ENV", None)
    yield repo, env


def _run(argv: list[str], repo: Path, env: dict[str, str], what: str) -> None:
    """Run in its own process group, so that servers a block starts in the background end with
    it; output goes to a file, which such a server keeps open after the script has ended."""
    before = _status(repo)
    log = repo.parent / "docs-examples.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            argv, cwd=repo, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            proc.wait(timeout=RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
    output = log.read_text(errors="replace")
    assert proc.returncode == 0, f"{what} failed (exit {proc.returncode}):\n{output[-8000:]}"
    left = sorted(_status(repo) - before)
    assert not left, f"{what} left files in the repository that .gitignore misses: {left}"


@contextlib.contextmanager
def _one_at_a_time() -> Iterator[None]:
    """The examples serve on fixed ports (the README's RAG services on 8765-8767): two test runs
    on one machine would answer each other's requests and stop each other's servers."""
    with (Path(tempfile.gettempdir()) / "changegate-docs-examples.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


@pytest.mark.parametrize("doc", _docs_with(SHELL))
def test_shell_examples_run(doc: str, workdir: tuple[Path, dict[str, str]]) -> None:
    repo, env = workdir
    script = repo.parent / "docs-examples.sh"
    script.write_text(shell_script(ALL_BLOCKS[doc]), encoding="utf-8")
    with _one_at_a_time():
        _run(["bash", str(script)], repo, env, f"the shell examples of {doc}")


@pytest.mark.parametrize("doc", _docs_with(PYTHON))
def test_python_examples_run(doc: str, workdir: tuple[Path, dict[str, str]]) -> None:
    repo, env = workdir
    program = repo.parent / "docs-examples.py"
    program.write_text(python_program(ALL_BLOCKS[doc]), encoding="utf-8")
    _run([sys.executable, str(program)], repo, env, f"the Python examples of {doc}")


def test_only_the_listed_blocks_are_skipped() -> None:
    skipped: dict[str, list[Block]] = {}
    for doc, found in ALL_BLOCKS.items():
        skipped[doc] = [b for b in found if b.skip is not None]
    over = {
        doc: [f"{b.where} ({b.skip})" for b in found]
        for doc, found in skipped.items()
        if len(found) > SKIPS_ALLOWED.get(doc, 0)
    }
    assert not over, f"more blocks skipped than SKIPS_ALLOWED lists: {over}"


def test_the_runner_finds_every_runnable_block() -> None:
    """The README's first flow and the AI walkthrough are found and run: a parser that missed
    fences would make the tests above pass on nothing."""
    readme = [b for b in ALL_BLOCKS["README.md"] if b.skip is None and b.lang in SHELL]
    assert any("changegate change new" in b.code for b in readme)
    assert any("changegate ai classify" in b.code for b in readme)
    assert any(b.lang in PYTHON for b in ALL_BLOCKS["docs/ai.md"])
