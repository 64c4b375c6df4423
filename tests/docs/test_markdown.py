"""The runner's conventions on small documents: what runs, what is skipped, what exit a comment
expects, and that a broken example fails."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.docs import markdown
from tests.docs.markdown import Block, console_commands, expect_exits, shell_script


def _bash(script: str) -> int:
    return subprocess.run(["bash", "-c", script], capture_output=True, timeout=30).returncode


def test_blocks_skip_markers_and_fences_in_lists(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(markdown, "ROOT", tmp_path)
    doc = tmp_path / "x.md"
    doc.write_text(
        "<!-- docs-test: skip (installs) -->\n```sh\npip install x\n```\n\n"
        "1. step\n   ```bash\n   echo one\n   ```\n\n```yaml\na: 1\n```\n"
    )
    found = markdown.blocks(doc)
    assert [(b.lang, b.skip) for b in found] == [("sh", "installs"), ("bash", None), ("yaml", None)]
    assert found[1].code == "echo one\n"


def test_console_blocks_run_their_dollar_lines_only() -> None:
    code = "$ echo a \\\n  b\noutput line\n$ echo c\n"
    assert console_commands(code) == "echo a \\\n  b\necho c\n"


def test_exit_comments() -> None:
    assert _bash(expect_exits("false  # exit 1: closed\n", "x")) == 0
    assert _bash(expect_exits("true  # exit 1: closed\n", "x")) == 1
    assert _bash(expect_exits("sh -c 'exit 2'  # exit 1\n", "x")) == 1
    # a comment that describes exit codes expects nothing: the command must succeed
    assert _bash("set -e\n" + expect_exits("false  # exit 1 when overdue\n", "x")) == 1


def test_a_broken_example_fails_the_session() -> None:
    blocks = [
        Block("x.md", 1, "sh", "true\n", None),
        Block("x.md", 5, "sh", "false\n", None),
        Block("x.md", 9, "sh", "echo unreachable\n", None),
    ]
    script = shell_script(blocks).replace("changegate init >/dev/null", "true")
    assert _bash(script) == 1
