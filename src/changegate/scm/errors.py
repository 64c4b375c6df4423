"""Errors raised by the git integration.

They are ``ValueError`` subclasses (callers that only know the standard library can catch
them) and ``InvalidInput`` subclasses (the CLI and the API map them to exit code 2 and
HTTP 400 once). Each message names the input at fault and what to do about it.
"""

from __future__ import annotations

from changegate.errors import InvalidInput


class ScmError(InvalidInput, ValueError):
    """Base of every error raised by ``changegate.scm``."""


class ClassTooLow(ScmError):
    """A requested change class is below what the changed files require."""


class GitError(ScmError):
    """Running git failed, or git is not installed."""


class NotARepository(GitError):
    """The given path is not a git repository."""


class BadRevision(GitError):
    """A revision, branch or range does not name a commit in the repository."""
