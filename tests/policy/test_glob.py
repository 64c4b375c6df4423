from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from changegate.policy.errors import PathRuleError
from changegate.policy.glob import glob_match, translate

CASES: list[tuple[str, str, bool]] = [
    # trailing '/**': everything inside, at any depth, but not the directory itself
    ("prompts/**", "prompts/a.txt", True),
    ("prompts/**", "prompts/a/b/c.txt", True),
    ("prompts/**", "prompts", False),
    ("prompts/**", "prompts.txt", False),
    ("prompts/**", "other/prompts/a.txt", False),
    ("prompts/**", "promptsx/a.txt", False),
    # leading '**/': any depth, including the top level
    ("**/*.pem", "key.pem", True),
    ("**/*.pem", "infra/tls/key.pem", True),
    ("**/*.pem", "infra/tls/key.pem.bak", False),
    ("**/*.pem", ".pem", True),
    ("**/tls/**", "tls/cert", True),
    ("**/tls/**", "infra/tls/cert.pem", True),
    ("**/tls/**", "a/b/tls/c/d", True),
    ("**/tls/**", "infra/tls", False),
    ("**/tls/**", "infra/mtls/cert", False),
    ("**/tls/**", "infra/tlsx/cert", False),
    # inner '/**/': zero or more directories
    ("a/**/b", "a/b", True),
    ("a/**/b", "a/x/b", True),
    ("a/**/b", "a/x/y/b", True),
    ("a/**/b", "a/xb", False),
    ("a/**/b", "ab", False),
    ("a/**/b", "a/b/c", False),
    ("a/**/**/b", "a/b", True),
    ("**/a/**/b/**", "a/b/c", True),
    ("**/a/**/b/**", "x/a/y/b/z/w", True),
    ("**/a/**/b/**", "x/a/y/b", False),
    # '**' alone matches every path
    ("**", "a", True),
    ("**", "a/b/c", True),
    # '*' and '?' never cross '/'
    ("*.pem", "key.pem", True),
    ("*.pem", "tls/key.pem", False),
    ("config/litellm*.yaml", "config/litellm.yaml", True),
    ("config/litellm*.yaml", "config/litellm-prod.yaml", True),
    ("config/litellm*.yaml", "config/litellm/prod.yaml", False),
    ("config/litellm*.yaml", "config/litellm.yml", False),
    ("config/*", "config/x", True),
    ("config/*", "config/x/y", False),
    ("?.txt", "a.txt", True),
    ("?.txt", "ab.txt", False),
    ("a?b", "a/b", False),
    # dotfiles are not special
    ("*", ".env", True),
    (".github/**", ".github/workflows/deploy.yml", True),
    # bracket expressions
    ("[abc].txt", "b.txt", True),
    ("[abc].txt", "d.txt", False),
    ("[a-c].txt", "b.txt", True),
    ("[!a-c].txt", "b.txt", False),
    ("[!a-c].txt", "d.txt", True),
    ("[^a-c].txt", "d.txt", True),
    ("x[!a]y", "x/y", False),
    ("x[--0]y", "x/y", False),
    ("x[--0]y", "x.y", True),
    ("[]].txt", "].txt", True),
    ("[!]].txt", "a.txt", True),
    ("[!]].txt", "].txt", False),
    ("[*?].txt", "*.txt", True),
    ("[*?].txt", "a.txt", False),
    # escapes and regex metacharacters are literal
    (r"\*.txt", "*.txt", True),
    (r"\*.txt", "a.txt", False),
    ("a+b(c).txt", "a+b(c).txt", True),
    ("a.txt", "abtxt", False),
    ("$HOME/^x", "$HOME/^x", True),
    # literal paths match exactly and case-sensitively
    ("iam/policy.json", "iam/policy.json", True),
    ("iam/policy.json", "IAM/policy.json", False),
    ("iam/policy.json", "iam/policy.json/x", False),
    # unusual characters in paths
    ("**/*.md", "docs/with space/ünïcode.md", True),
    ("**/*.md", "docs/new\nline.md", True),
]


@pytest.mark.parametrize(("pattern", "path", "expected"), CASES)
def test_glob_cases(pattern: str, path: str, expected: bool) -> None:
    assert glob_match(pattern, path) is expected


@pytest.mark.parametrize(
    ("pattern", "fragment"),
    [
        ("", "is empty"),
        ("/prompts/**", "write 'prompts/**'"),
        ("infra/", "write 'infra/**'"),
        ("a//b", "empty path segment"),
        ("a**b", "'**' must be a whole path segment"),
        ("prompts/**.txt", "'**' must be a whole path segment"),
        ("[abc", "'[' is never closed"),
        ("a\\", "lone '\\'"),
        ("[z-a]", "runs backwards"),
    ],
)
def test_malformed_patterns_name_the_fix(pattern: str, fragment: str) -> None:
    with pytest.raises(PathRuleError) as excinfo:
        translate(pattern)
    assert fragment in str(excinfo.value)
    assert isinstance(excinfo.value, ValueError)
    assert excinfo.value.field == "pattern"


# -- the same answers as git's own ':(glob)' pathspecs ------------------------------------

TREE = [
    "README.md",
    ".env",
    "key.pem",
    "prompts/system.txt",
    "prompts/.hidden",
    "prompts/persona/alice.txt",
    "promptsx/a.txt",
    "config/litellm.yaml",
    "config/litellm-prod.yaml",
    "config/litellm/nested.yaml",
    "config/app.yaml",
    "infra/main.tf",
    "infra/tls/cert.pem",
    "infra/tls/deep/chain.pem",
    "infra/mtls/x.pem",
    "services/api/tls/server.pem",
    "services/api/src/main.py",
    "iam/roles/admin.json",
    "network/vpc.tf",
    "a/b",
    "a/x/b",
    "a/x/y/b",
    "a/xb",
    "docs/b.md",
]

GIT_PATTERNS = [
    "prompts/**",
    "prompts/*",
    "prompts/*.txt",
    "**/*.pem",
    "*.pem",
    "**/tls/**",
    "config/litellm*.yaml",
    "infra/**",
    "iam/**",
    "network/**",
    "**",
    "*",
    "**/*.md",
    "a/**/b",
    "**/b",
    "a/*/b",
    "**/[ab]",
    "?.env",
    "*/*/*.py",
    "services/**/*.pem",
    "[!p]*/**",
]


@pytest.fixture(scope="module")
def pathspec_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("pathspec")
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    for path in TREE:
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(path)
    subprocess.run(["git", "-C", str(root), "add", "-A"], check=True)
    return root


@pytest.mark.parametrize("pattern", GIT_PATTERNS)
def test_agrees_with_git_glob_pathspec(pathspec_repo: Path, pattern: str) -> None:
    listed = subprocess.run(
        ["git", "-C", str(pathspec_repo), "ls-files", "-z", "--", f":(glob){pattern}"],
        capture_output=True,
        check=True,
    ).stdout.decode()
    expected = {path for path in listed.split("\0") if path}
    assert {path for path in TREE if glob_match(pattern, path)} == expected


# -- against a slow reference matcher ------------------------------------------------------


def _segment_match(pattern: str, name: str) -> bool:
    """Reference match of one segment with only '*', '?' and literals."""
    if not pattern:
        return not name
    head = pattern[0]
    if head == "*":
        return any(_segment_match(pattern[1:], name[i:]) for i in range(len(name) + 1))
    if not name:
        return False
    return (head == "?" or head == name[0]) and _segment_match(pattern[1:], name[1:])


def _reference(pattern_segments: list[str], path_segments: list[str]) -> bool:
    if not pattern_segments:
        return not path_segments
    head = pattern_segments[0]
    if head == "**":
        rest = pattern_segments[1:]
        if not rest:
            return len(path_segments) >= 1
        return any(_reference(rest, path_segments[i:]) for i in range(len(path_segments) + 1))
    if not path_segments:
        return False
    return _segment_match(head, path_segments[0]) and _reference(
        pattern_segments[1:], path_segments[1:]
    )


_names = st.text(alphabet="ab.*?", min_size=1, max_size=4)
_pattern_segments = st.lists(st.one_of(_names, st.just("**")), min_size=1, max_size=5)
_path_segments = st.lists(st.text(alphabet="ab.", min_size=1, max_size=4), min_size=1, max_size=5)


@settings(max_examples=600, deadline=None)
@given(_pattern_segments, _path_segments)
def test_matches_reference_implementation(
    pattern_segments: list[str], path_segments: list[str]
) -> None:
    pattern_segments = [s for s in pattern_segments if "**" not in s or s == "**"]
    if not pattern_segments:
        return
    pattern = "/".join(pattern_segments)
    path = "/".join(path_segments)
    # A lone trailing '**' matches inside a directory only; the reference says the same.
    assert glob_match(pattern, path) is _reference(pattern_segments, path_segments)
