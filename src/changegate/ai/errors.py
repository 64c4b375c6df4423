"""Errors raised by the AI slice.

They are ``ValueError`` subclasses (callers that only know the standard library can catch
them) and ``InvalidInput`` subclasses (the CLI and the API map them to exit code 2 and
HTTP 400 once). ``field`` names the input at fault; the message says what to do.
"""

from __future__ import annotations

from changegate.errors import InvalidInput


class AiError(InvalidInput, ValueError):
    """Base of every error the AI slice raises on purpose."""


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
