"""Errors raised by the AI slice.

They subclass :class:`ValueError` so callers that only know "bad input" still catch them;
``field`` names the input at fault so the CLI and API can point at it.
"""

from __future__ import annotations


class AiError(ValueError):
    """Base of every error the AI slice raises on purpose."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class ConfigParseError(AiError):
    """An AI configuration file is not valid YAML/JSON or has the wrong shape."""

    def __init__(
        self, message: str, *, path: str, line: int | None = None, field: str | None = None
    ) -> None:
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {message}", field=field)
        self.path = path
        self.line = line


class SuiteError(AiError):
    """A behavioural regression suite file is invalid."""


class TargetError(AiError):
    """A target (chat endpoint, callable, RAG service) could not be reached or answered badly."""


class ImportFormatError(AiError):
    """A results file from another tool is malformed or not in the documented format."""


class ModelUnavailableError(AiError):
    """The offline embedding model or its libraries are not installed."""
