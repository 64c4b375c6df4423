"""Classify a commit range of a real repository: changed files plus path rules in one call.

This is what ``changegate classify --git-range BASE..HEAD [--repo PATH]`` and the creation of
a change from a pull request or a commit range need.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from changegate.scm.gitrepo import ChangedFile, GitRepo, RevisionRange
from changegate.scm.pathrules import DEFAULT_CLASS_ORDER, Classification, PathRule, classify_paths


@dataclass(frozen=True, slots=True)
class RangeClassification:
    """The resolved range, its changed files, and what the path rules make of them."""

    git_range: str
    base: str
    head: str
    files: tuple[ChangedFile, ...]
    classification: Classification

    def to_dict(self) -> dict[str, object]:
        c = self.classification
        return {
            "git_range": self.git_range,
            "base": self.base,
            "head": self.head,
            "minimum_class": c.minimum_class,
            "components": list(c.components),
            "categories": list(c.categories),
            "flags": list(c.flags),
            "files": [
                {
                    "path": f.path,
                    "old_path": f.old_path,
                    "status": f.status,
                    "rules": sorted(
                        {
                            rule.pattern
                            for match in c.files
                            if match.path in f.paths
                            for rule in match.rules
                        }
                    ),
                }
                for f in self.files
            ],
        }


def classify_git_range(
    repo: GitRepo | str | os.PathLike[str],
    git_range: str,
    rules: Sequence[PathRule],
    class_order: Sequence[str] = DEFAULT_CLASS_ORDER,
) -> RangeClassification:
    """Classify ``BASE..HEAD`` (or ``BASE...HEAD``) of ``repo`` with ``rules``.

    Both paths of a rename count, so moving a file out of ``prompts/`` is still a prompt
    change. The paths in which any commit of the range differs from the base count too, not
    only the net diff: each commit of the range is one of the change's commits and can be
    deployed by its SHA (a commit that opens IAM and a later one that closes it again are not
    a lock-file bump).
    Raises ``NotARepository`` or ``BadRevision`` for a bad path or range.
    """
    git_repo = repo if isinstance(repo, GitRepo) else GitRepo(repo)
    parsed = RevisionRange.parse(git_range)
    head = git_repo.resolve(parsed.head, field="git_range")
    if parsed.symmetric:
        base = git_repo.merge_base(parsed.base, parsed.head)
    else:
        base = git_repo.resolve(parsed.base, field="git_range")
    files = git_repo.changed_files(RevisionRange(base, head))
    paths = [path for changed in files for path in changed.paths]
    paths.extend(git_repo.paths_of_commits(base, head))
    return RangeClassification(
        git_range=str(parsed),
        base=base,
        head=head,
        files=tuple(files),
        classification=classify_paths(paths, rules, class_order),
    )
