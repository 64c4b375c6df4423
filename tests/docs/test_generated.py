"""The generated documentation is what scripts/gen_docs.py generates today: the command
reference, the event catalogue and the tables that restate the default policy."""

from __future__ import annotations

import subprocess
import sys

from tests.docs.markdown import ROOT


def test_generated_docs_are_up_to_date() -> None:
    r = subprocess.run(
        [sys.executable, "scripts/gen_docs.py", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr


def test_a_hand_edited_table_is_regenerated() -> None:
    """A hand-edited table between the markers differs from what --check compares it with."""
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import gen_docs
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    text = "a\n<!-- gen:ai-requirements -->\n| hand | written |\n<!-- /gen -->\nb\n"
    filled = gen_docs.fill_sections(text, "x.md")
    assert filled != text
    assert "`rag-config-change` | normal |" in filled
    assert "`ai-security-impact`" in filled.split("`rag-config-change`")[1].split("\n")[0]
    assert gen_docs.fill_sections(filled, "x.md") == filled
