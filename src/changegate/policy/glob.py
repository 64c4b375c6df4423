"""Path globs with ``**``, compiled to regular expressions.

The semantics are those of git's ``:(glob)`` pathspecs, anchored at the repository root:

- a pattern is matched against the whole repository-relative path (``a/b/c.txt``);
- ``*`` matches any run of characters except ``/`` (dotfiles included);
- ``?`` matches one character except ``/``;
- ``[abc]``, ``[a-z]``, ``[!abc]`` (or ``[^abc]``) match one character of (not of) a set,
  never ``/``;
- ``**`` as a whole path segment matches any number of segments: ``**/x`` matches ``x`` at
  any depth, ``a/**`` everything inside ``a``, ``a/**/b`` ``a/b``, ``a/x/b``, ``a/x/y/b``;
  ``**`` alone matches every path;
- ``\\`` escapes the next character.

A pattern without ``/`` therefore matches only at the top level: ``*.pem`` matches
``key.pem`` but not ``tls/key.pem``; write ``**/*.pem`` for any depth.
"""

from __future__ import annotations

import re
from functools import lru_cache

from changegate.policy.errors import PathRuleError

_ANY_SEGMENTS_PREFIX = "(?:[^/]+/)*"


def _bad(pattern: str, problem: str, fix: str) -> PathRuleError:
    return PathRuleError(f"pattern {pattern!r}: {problem}; {fix}", field="pattern")


def _class_char(pattern: str, segment: str, i: int) -> tuple[str, int]:
    """The character at ``i`` inside ``[...]`` (a ``\\`` escapes the next one), and the index
    after it."""
    if segment[i] != "\\":
        return segment[i], i + 1
    if i + 1 >= len(segment):
        raise _bad(pattern, "ends with a lone '\\'", "remove it or write '\\\\'")
    return segment[i + 1], i + 2


def _translate_class(pattern: str, segment: str, start: int) -> tuple[str, int]:
    """Translate the bracket expression opening at ``segment[start]``.

    Returns the regex and the index just past the closing ``]``.
    """
    i = start + 1
    negate = False
    if i < len(segment) and segment[i] in "!^":
        negate = True
        i += 1
    items: list[str] = []
    first = True
    while True:
        if i >= len(segment):
            raise _bad(pattern, "'[' is never closed", "close it with ']' or escape it as '\\['")
        if segment[i] == "]" and not first:
            i += 1
            break
        first = False
        ch, i = _class_char(pattern, segment, i)
        if i + 1 < len(segment) and segment[i] == "-" and segment[i + 1] != "]":
            end, i = _class_char(pattern, segment, i + 1)
            if ord(end) < ord(ch):
                raise _bad(
                    pattern,
                    f"range '{ch}-{end}' runs backwards",
                    f"write it as '{end}-{ch}'",
                )
            items.append(f"{re.escape(ch)}-{re.escape(end)}")
        else:
            items.append(re.escape(ch))
    body = "".join(items)
    if negate:
        return f"[^/{body}]", i
    return f"(?!/)[{body}]", i


def _translate_segment(pattern: str, segment: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(segment):
        ch = segment[i]
        if ch == "*":
            if i + 1 < len(segment) and segment[i + 1] == "*":
                raise _bad(
                    pattern,
                    f"'**' inside the segment {segment!r}",
                    "'**' must be a whole path segment ('a/**/b'); use '*' within a name",
                )
            out.append("[^/]*")
            i += 1
        elif ch == "?":
            out.append("[^/]")
            i += 1
        elif ch == "[":
            regex, i = _translate_class(pattern, segment, i)
            out.append(regex)
        elif ch == "\\":
            if i + 1 >= len(segment):
                raise _bad(pattern, "ends with a lone '\\'", "remove it or write '\\\\'")
            out.append(re.escape(segment[i + 1]))
            i += 2
        else:
            out.append(re.escape(ch))
            i += 1
    return "".join(out)


def translate(pattern: str) -> str:
    """Translate a glob into a regular expression matching whole paths.

    Raises ``PathRuleError`` naming the problem and the fix for a malformed glob.
    """
    if not pattern:
        raise _bad(pattern, "is empty", "give a glob such as 'prompts/**'")
    if pattern.startswith("/"):
        raise _bad(
            pattern,
            "starts with '/'",
            f"patterns are relative to the repository root: write {pattern.lstrip('/')!r}",
        )
    if pattern.endswith("/"):
        raise _bad(
            pattern,
            "ends with '/'",
            f"changed paths are files: write {pattern + '**'!r} for everything inside",
        )
    segments = pattern.split("/")
    if any(segment == "" for segment in segments):
        raise _bad(pattern, "has an empty path segment ('//')", "use a single '/'")
    # Collapse runs of '**' segments: '**/**' means the same as '**'.
    collapsed: list[str] = []
    for segment in segments:
        if segment == "**" and collapsed and collapsed[-1] == "**":
            continue
        collapsed.append(segment)
    if collapsed == ["**"]:
        return r"\A.+\Z"
    parts: list[str] = []
    last = len(collapsed) - 1
    for index, segment in enumerate(collapsed):
        if segment == "**":
            # Leading or inner '**/': zero or more whole segments, each with its '/'.
            # Trailing '/**': one or more segments inside the directory.
            parts.append(r"(?:/[^/]+)+" if index == last else _ANY_SEGMENTS_PREFIX)
            continue
        regex = _translate_segment(pattern, segment)
        parts.append(regex)
        if index < last and collapsed[index + 1] != "**":
            parts.append("/")
        elif index < last - 1:
            # 'a/**/b': the '**' part supplies the separators that follow it.
            parts.append("/")
    return r"\A" + "".join(parts) + r"\Z"


@lru_cache(maxsize=1024)
def compile_glob(pattern: str) -> re.Pattern[str]:
    """The compiled regular expression for ``pattern`` (cached)."""
    return re.compile(translate(pattern), re.DOTALL)


def glob_match(pattern: str, path: str) -> bool:
    """Whether the repository-relative ``path`` matches ``pattern``."""
    return compile_glob(pattern).match(path) is not None
