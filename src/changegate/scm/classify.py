"""Classify a change by the files it touches: changed paths matched against the policy's path
rules (``changegate.policy.pathrules``), and a commit range of a real repository, its changed
files and path rules in one call.

Every rule that matches a file applies (rules are not first-match): a certificate under
``infra/tls/`` is both infrastructure and security-impacting. The resulting minimum class is
the highest class any matching rule names.

``classify_git_range`` is what ``changegate classify --git-range BASE..HEAD [--repo PATH]`` and
the creation of a change from a pull request or a commit range need.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from changegate.policy.errors import PathRuleError
from changegate.policy.glob import compile_glob
from changegate.policy.pathrules import DEFAULT_CLASS_ORDER, PathRule
from changegate.scm.gitformats import ChangedFile
from changegate.scm.gitrepo import GitRepo

if TYPE_CHECKING:
    from changegate.scm.range_read import RangeRead


@dataclass(frozen=True, slots=True)
class FileMatch:
    """The rules that matched one changed file, in rule order."""

    path: str
    rules: tuple[PathRule, ...]


@dataclass(frozen=True, slots=True)
class Classification:
    """What the changed files say about a change.

    ``components``, ``categories`` and ``flags`` are sorted and free of duplicates.
    ``minimum_class`` is the lowest class the change may have; it is the first class of the
    order when no matching rule names one. ``files`` has one entry per changed path, in the
    order given, including paths that matched no rule (their ``rules`` is empty).
    """

    components: tuple[str, ...]
    categories: tuple[str, ...]
    flags: tuple[str, ...]
    minimum_class: str
    files: tuple[FileMatch, ...]

    @property
    def unmatched(self) -> tuple[str, ...]:
        """Changed paths no rule matched."""
        return tuple(f.path for f in self.files if not f.rules)

    def has_flag(self, flag: str) -> bool:
        return flag in self.flags


def classify_paths(
    paths: Iterable[str],
    rules: Sequence[PathRule],
    class_order: Sequence[str] = DEFAULT_CLASS_ORDER,
) -> Classification:
    """Classify a change from its changed paths.

    ``paths`` are repository-relative with '/' separators (as git prints them; for a rename
    pass both the old and the new path). ``class_order`` runs from lowest to highest.
    """
    if not class_order:
        raise PathRuleError(
            "class_order: is empty; give the classes from lowest to highest",
            field="class_order",
        )
    rank = {name: position for position, name in enumerate(class_order)}
    for index, rule in enumerate(rules):
        if rule.change_class is not None and rule.change_class not in rank:
            raise PathRuleError(
                f"path_rules[{index}].class: unknown class {rule.change_class!r}; "
                f"use one of {', '.join(class_order)}",
                field="path_rules",
            )
    compiled = [(rule, compile_glob(rule.pattern)) for rule in rules]
    components: set[str] = set()
    categories: set[str] = set()
    flags: set[str] = set()
    minimum = 0
    files: list[FileMatch] = []
    seen: set[str] = set()
    for path in paths:
        if path in seen:
            continue
        seen.add(path)
        matched = tuple(rule for rule, regex in compiled if regex.match(path) is not None)
        for rule in matched:
            if rule.component is not None:
                components.add(rule.component)
            if rule.category is not None:
                categories.add(rule.category)
            flags.update(rule.flags)
            if rule.change_class is not None:
                minimum = max(minimum, rank[rule.change_class])
        files.append(FileMatch(path=path, rules=matched))
    return Classification(
        components=tuple(sorted(components)),
        categories=tuple(sorted(categories)),
        flags=tuple(sorted(flags)),
        minimum_class=class_order[minimum],
        files=tuple(files),
    )


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


def classify_read(
    read: RangeRead,
    rules: Sequence[PathRule],
    class_order: Sequence[str] = DEFAULT_CLASS_ORDER,
) -> RangeClassification:
    """Classify a range already read (``scm.range_read``) with ``rules``: every path it
    reports, both sides of a rename and the paths its commits touch (see ``read_range``)."""
    return RangeClassification(
        git_range=read.git_range,
        base=read.base,
        head=read.head,
        files=read.files,
        classification=classify_paths(read.paths, rules, class_order),
    )


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
    from changegate.scm.range_read import read_range

    return classify_read(read_range(repo, git_range, people=False), rules, class_order)
