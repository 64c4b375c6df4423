"""Duplicate keys in a policy file are refused, never silently resolved (gate integrity §5).

Found: a second `segregation_of_duties:` block replaced the first without a word, so a policy
that reads as "authors may not approve" further up was in force as "authors may approve".
"""

from __future__ import annotations

from pathlib import Path

import pytest

from changegate.errors import InvalidInput
from changegate.policy.loader import check_policy_text, default_policy_text, parse_policy
from tests.cli_runner import cli

DEFAULT_TEXT = default_policy_text()
#: a second block at the end of the file: YAML's last-one-wins would make it the one in force
SECOND_SOD = "\nsegregation_of_duties:\n  author_may_approve: true\n"


def _line_of_second(text: str, key: str) -> int:
    lines = [i + 1 for i, line in enumerate(text.splitlines()) if line.startswith(key)]
    assert len(lines) == 2, lines
    return lines[1]


def test_a_second_top_level_block_is_refused_with_its_line(tmp_path: Path) -> None:
    text = DEFAULT_TEXT + SECOND_SOD
    policy, problems = check_policy_text(text)
    assert policy is None
    line = _line_of_second(text, "segregation_of_duties:")
    assert any(
        "duplicate key 'segregation_of_duties'" in p.message and f"line {line}" in p.path
        for p in problems
    ), problems
    path = tmp_path / "dup.yaml"
    path.write_text(text)
    r = cli("sqlite:///unused.db", "policy", "check", str(path))
    assert r.code == 1, r.stdout + r.stderr
    assert "duplicate key 'segregation_of_duties'" in r.stderr and f"line {line}" in r.stderr
    r = cli("sqlite:///unused.db", "policy", "check", str(path), "--json")
    assert r.json()["valid"] is False
    assert any("duplicate key" in e["message"] for e in r.json()["errors"])


def test_duplicates_at_any_depth_are_refused() -> None:
    nested = DEFAULT_TEXT.replace(
        "  author_may_approve: false\n",
        "  author_may_approve: false\n  author_may_approve: true\n",
        1,
    )
    assert nested != DEFAULT_TEXT
    policy, problems = check_policy_text(nested)
    assert policy is None
    assert any("duplicate key 'author_may_approve'" in p.message for p in problems), problems
    in_a_list = "a:\n  - x: 1\n    y: 2\n    x: 3\n"
    _, problems = check_policy_text(in_a_list)
    assert problems and "duplicate key 'x'" in problems[0].message
    assert "line 4" in problems[0].path
    # merge keys (<<) are YAML's own way of overriding, not a duplicate
    merged = "base: &b {x: 1}\nother:\n  <<: *b\n  x: 2\n"
    _, problems = check_policy_text(merged)
    assert not any("duplicate" in p.message for p in problems)


def test_loading_a_policy_with_duplicate_keys_is_refused() -> None:
    with pytest.raises(InvalidInput, match="duplicate key 'segregation_of_duties'"):
        parse_policy(DEFAULT_TEXT + SECOND_SOD, "dup.yaml")


def test_init_and_commands_refuse_a_policy_with_duplicate_keys(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "dup.yaml"
    path.write_text(DEFAULT_TEXT + SECOND_SOD)
    r = cli(db_url, "init", policy=str(path))
    assert r.code == 2 and "duplicate key 'segregation_of_duties'" in r.stderr, r.stderr
    assert cli(db_url, "init").code == 0
    r = cli(db_url, "user", "list", policy=str(path))
    assert r.code == 2 and "duplicate key" in r.stderr
