"""The code blocks of the README and docs/*.md, and how each runs as a test.

Blocks are found with markdown-it-py (the CommonMark parser Rich already depends on), so a fence
inside a list item, an indented fence or a fence in a fence is read as a reader's renderer reads
it. The conventions a reader needs to know are in docs/architecture.md ("How the docs are
tested"):

- ```sh, ```bash and ```console blocks run; in a console block only the `$ ` lines (and their
  `\\` continuations) run, the rest is output. ```python blocks run. Other fences are data.
- `<!-- docs-test: skip (why) -->` right before a block keeps it from running; the reason is
  required, and tests/docs/test_examples.py lists how many a document may skip.
- Each document starts on a fresh database (`CHANGEGATE_DB` in a temporary directory) that
  `changegate init` has created; users and changes are the document's to create.
- A command whose trailing comment starts `# exit N:` (the colon, or nothing after N) must exit
  with N (a closed gate, a failed check): `changegate gate CHG-2 ...   # exit 1: closed`.
  A comment that describes exit codes in general (`# exit 0 open, 1 closed`, `# exit 1 when
  overdue`) expects nothing: every command without `# exit N:` must succeed (`set -euo
  pipefail`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from markdown_it import MarkdownIt

ROOT = Path(__file__).resolve().parents[2]
SHELL = frozenset({"sh", "bash", "console"})
PYTHON = frozenset({"python", "py"})
SKIP = re.compile(r"<!--\s*docs-test:\s*skip\s*\((?P<why>[^)]+)\)\s*-->")
EXIT = re.compile(r"\s#\s*exit\s+(?P<code>\d+)\s*(?::|$)")


@dataclass(frozen=True)
class Block:
    doc: str  # path relative to the repository, e.g. "docs/ai.md"
    line: int  # 1-based line of the opening fence
    lang: str
    code: str
    skip: str | None  # the reason given by a skip marker, None when the block runs

    @property
    def where(self) -> str:
        return f"{self.doc}:{self.line}"


def documents() -> list[Path]:
    """Every document whose examples run: the README and everything in docs/."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def blocks(path: Path) -> list[Block]:
    doc = path.relative_to(ROOT).as_posix()
    tokens = MarkdownIt("commonmark").parse(path.read_text(encoding="utf-8"))
    found: list[Block] = []
    previous = None
    for token in tokens:
        if token.type == "fence" and token.map is not None:
            lang = token.info.split()[0].lower() if token.info.strip() else ""
            marker = SKIP.search(previous.content) if previous is not None else None
            if previous is not None and previous.type != "html_block":
                marker = None
            why = marker.group("why").strip() if marker else None
            found.append(Block(doc, token.map[0] + 1, lang, token.content, why))
        previous = token
    return found


def console_commands(code: str) -> str:
    """The commands of a console block: `$ ` lines and their continuation lines."""
    out: list[str] = []
    continued = False
    for line in code.splitlines():
        if continued or line.startswith("$ "):
            out.append(line[2:] if not continued else line)
            continued = line.rstrip().endswith("\\")
    return "\n".join(out) + "\n"


def logical_lines(code: str) -> list[str]:
    """Physical lines joined where a line ends with a backslash continuation."""
    lines: list[str] = []
    current: list[str] = []
    for line in code.splitlines():
        current.append(line)
        if not line.rstrip().endswith("\\"):
            lines.append("\n".join(current))
            current = []
    if current:
        lines.append("\n".join(current))
    return lines


def expect_exits(code: str, where: str) -> str:
    """Wrap each command commented `# exit N` (N > 0) so that it must exit with exactly N."""
    out: list[str] = []
    for logical in logical_lines(code):
        last = logical.splitlines()[-1] if logical else ""
        match = EXIT.search(last)
        if match is None or match.group("code") == "0":
            out.append(logical)
            continue
        want = match.group("code")
        command = logical[: len(logical) - len(last) + match.start()].rstrip()
        out.append(
            f"if {command}\nthen __rc=0; else __rc=$?; fi\n"
            f'test "$__rc" -eq {want} || {{ echo "{where}: expected exit {want}, got $__rc:" '
            f"{_quote(command)} >&2; exit 1; }}"
        )
    return "\n".join(out) + "\n"


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def shell_script(doc_blocks: list[Block]) -> str:
    """One bash session for a document's shell blocks, in order, on a fresh database that
    `changegate init` has created (as a reader's is; the README's own `init` finds it ready)."""
    parts = ["set -euo pipefail", "changegate init >/dev/null"]
    for block in doc_blocks:
        if block.skip is not None or block.lang not in SHELL:
            continue
        code = console_commands(block.code) if block.lang == "console" else block.code
        parts.append(f"echo '>>> {block.where}' >&2")
        parts.append(expect_exits(code, block.where))
    return "\n".join(parts) + "\n"


def python_program(doc_blocks: list[Block]) -> str:
    """One Python process for a document's Python blocks, in order, sharing one namespace."""
    sources = [(b.where, b.code) for b in doc_blocks if b.skip is None and b.lang in PYTHON]
    return (
        "import sys\n"
        f"__blocks = {sources!r}\n"
        "__ns = {'__name__': '__main__'}\n"
        "for __where, __code in __blocks:\n"
        "    print('>>> ' + __where, file=sys.stderr)\n"
        "    exec(compile(__code, __where, 'exec'), __ns)\n"
    )
