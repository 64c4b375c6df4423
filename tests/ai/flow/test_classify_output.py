"""Tables go to terminals; pipes get plain lines (issue 11: `ai classify` printed a Rich table
wrapped at 80 columns into a pipe). Real processes: one writing into a pipe, one into a
pseudo-terminal 80 columns wide."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

LITELLM = Path(__file__).parents[1] / "fixtures" / "litellm" / "base.yaml"
BOX = set("┃│┏┓┗┛━─╇┡┩╭╮╰╯")


@pytest.fixture
def configs(tmp_path: Path) -> list[str]:
    """A routing change whose findings and requirements are wider than 80 columns."""
    old, new = tmp_path / "old" / "config", tmp_path / "new" / "config"
    old.mkdir(parents=True)
    new.mkdir(parents=True)
    text = LITELLM.read_text()
    (old / "litellm.yaml").write_text(text)
    (new / "litellm.yaml").write_text(text.replace("num_retries: 2", "num_retries: 5"))
    return ["--before", str(old / "litellm.yaml"), "--after", str(new / "litellm.yaml")]


def env() -> dict[str, str]:
    out = dict(os.environ, COLUMNS="80", TERM="xterm")
    for name in ("CHANGEGATE_URL", "CHANGEGATE_DB", "CHANGEGATE_POLICY", "NO_COLOR"):
        out.pop(name, None)
    return out


def test_a_pipe_gets_plain_unwrapped_lines(configs: list[str]) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "changegate", "ai", "classify", *configs],
        env=env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert not BOX & set(r.stdout), r.stdout
    assert "\x1b[" not in r.stdout  # no colour codes either
    title = next(i for i, ln in enumerate(lines) if ln.startswith("what the policy requires of"))
    assert lines[title + 1] == "requires\tdescription\trule"
    rows = lines[title + 2 :]
    assert rows and all(len(row.split("\t")) == 3 for row in rows if "\t" in row)
    # one requirement per line, however long: nothing wrapped at 80 columns
    assert any(len(ln) > 80 for ln in lines), lines
    assert all(ln.split("\t")[-1].startswith("§") for ln in rows if "\t" in ln)


def test_a_terminal_gets_the_table(configs: list[str]) -> None:
    leader, follower = pty.openpty()
    try:
        p = subprocess.Popen(
            [sys.executable, "-m", "changegate", "ai", "classify", *configs],
            env=env(),
            stdout=follower,
            stderr=subprocess.PIPE,
        )
        os.close(follower)
        chunks = []
        while True:
            try:
                data = os.read(leader, 65536)
            except OSError:  # the terminal closed: the process is done writing
                break
            if not data:
                break
            chunks.append(data)
        assert p.wait(timeout=60) == 0, p.stderr.read() if p.stderr else ""
    finally:
        os.close(leader)
    screen = b"".join(chunks).decode("utf-8", "replace")
    assert BOX & set(screen), screen
    assert "what the policy requires of" in screen
