"""Errors raised while reading the policy's path rules and globs.

``ValueError`` subclasses (callers that only know the standard library can catch them) and
``InvalidInput`` subclasses (the CLI and the API map them to exit code 2 and HTTP 400 once).
Each message names the input at fault and what to do about it.
"""

from __future__ import annotations

from changegate.errors import InvalidInput


class PathRuleError(InvalidInput, ValueError):
    """A path rule (``path_rules:`` in the policy) or a glob is malformed."""
