"""``ai classify`` of two versions on disk or a git range (policy §10.1): which files changed,
under which repository path the policy's globs see them, and the report. Reads local files
and the policy only: no database and no server are involved.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from changegate.ai.classify import FileChange
from changegate.ai.paths import AiPathConfig
from changegate.errors import InvalidInput

if TYPE_CHECKING:
    from changegate.policy.schema import Policy


def _config(policy: Policy) -> AiPathConfig:
    from changegate.policy.snapshot import as_data

    return AiPathConfig.from_mapping(as_data(policy.ai.config_paths))


def _read_text(path: Path, field: str) -> str:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InvalidInput(
            f"--{field} {path}: cannot read the file ({exc.strerror})", field=field
        ) from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"--{field} {path}: not UTF-8 text", field=field) from exc


def _tree(root: Path) -> dict[str, Path]:
    return {p.relative_to(root).as_posix(): p for p in sorted(root.rglob("*")) if p.is_file()}


def repo_path(path: Path, policy: Policy, given: str | None) -> str:
    """The repository path the policy's globs see: ``--path``, else the first tail of the
    file's own path that an AI glob matches (``/tmp/new/config/litellm.yaml`` →
    ``config/litellm.yaml``), else the file's name (its content may still make it AI
    configuration: a LiteLLM config is recognised whatever its name)."""
    if given:
        return given
    config = _config(policy)
    parts = path.resolve().parts
    for i in range(len(parts)):
        candidate = "/".join(parts[i:])
        if config.kind_of(candidate) is not None:
            return candidate
    return path.name


def file_changes(
    before: Path | None, after: Path | None, path: str | None, policy: Policy
) -> list[FileChange]:
    """What differs between two files or two directories."""
    from changegate.ai.classify import require_ai_file

    if before is None or after is None:
        raise InvalidInput(
            "give --before OLD --after NEW (two files or two directories), or --git-range "
            "BASE..HEAD",
            field="before",
        )
    for p, opt in ((before, "before"), (after, "after")):
        if not p.exists():
            raise InvalidInput(f"--{opt} {p}: no such file or directory", field=opt)
    if before.is_dir() != after.is_dir():
        raise InvalidInput("--before and --after must both be files or both directories")
    if not before.is_dir():
        repo = repo_path(after, policy, path)
        old, new = _read_text(before, "before"), _read_text(after, "after")
        # a single file is given as AI configuration: one that is none is refused, not passed
        require_ai_file(repo, old, new, _config(policy))
        return [(repo, old, new)]
    old_tree, new_tree = _tree(before), _tree(after)
    out: list[FileChange] = []
    for rel in sorted(set(old_tree) | set(new_tree)):
        a = old_tree[rel].read_bytes() if rel in old_tree else None
        b = new_tree[rel].read_bytes() if rel in new_tree else None
        if a == b:
            continue
        try:
            out.append((rel, None if a is None else a.decode(), None if b is None else b.decode()))
        except UnicodeDecodeError:
            continue  # binary files are never AI configuration
    return out


def git_changes(git_range: str, repo: Path) -> list[FileChange]:
    """What a git range changed, renames as a removal and an addition."""
    from changegate.scm.gitrepo import GitRepo

    out: list[FileChange] = []
    for f in GitRepo(repo).changed_files(git_range, contents=True):
        try:
            old = None if f.old_content is None else f.old_content.decode()
            new = None if f.new_content is None else f.new_content.decode()
        except UnicodeDecodeError:
            continue
        if f.old_path and f.old_path != f.path:
            out.append((f.old_path, old, None))  # moving a prompt out of prompts/ counts too
            out.append((f.path, None, new))
        else:
            out.append((f.path, old, new))
    return out


def classify_local(
    policy: Policy,
    *,
    before: Path | None = None,
    after: Path | None = None,
    path: str | None = None,
    git_range: str | None = None,
    repo: Path = Path("."),
    incident: bool = False,
) -> dict[str, Any]:
    """Classify two versions (``before``/``after``) or a ``git_range`` of ``repo``: the
    report ``ai classify --json`` prints."""
    from changegate.ai.classify import classify_files
    from changegate.ai.litellm_config import LiteLLMRules
    from changegate.ai.requirements import classification_report

    if git_range:
        if before or after:
            raise InvalidInput(
                "give either --git-range or --before/--after, not both", field="git_range"
            )
        files = git_changes(git_range, repo)
    else:
        files = file_changes(before, after, path, policy)
    rules = LiteLLMRules.from_policy(policy.ai.litellm)
    result = classify_files(files, _config(policy), incident=incident, rules=rules)
    return classification_report(policy, result, incident=incident)
