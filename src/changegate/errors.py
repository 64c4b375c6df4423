"""Domain errors. Entry points map these to exit codes and HTTP statuses once."""

from __future__ import annotations


class ChangegateError(Exception):
    """Base of every error changegate raises on purpose.

    ``field`` names the input at fault, when there is one; the message says what to do.
    """

    exit_code = 2
    http_status = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def to_dict(self) -> dict[str, str | None]:
        return {"error": type(self).__name__, "message": self.message, "field": self.field}


class InvalidInput(ChangegateError):
    """The caller sent something malformed or incomplete."""


class NotFound(ChangegateError):
    """A referenced object does not exist."""

    http_status = 404


class Conflict(ChangegateError):
    """The request is well formed but not allowed in the object's current state."""

    exit_code = 1
    http_status = 409


class PolicyDenied(ChangegateError):
    """The policy forbids this action (segregation of duties, missing role, ...)."""

    exit_code = 1
    http_status = 403


class SegregationOfDuties(PolicyDenied):
    """The policy forbids it because one person would hold two roles it keeps apart (§7): an
    author approving, rejecting or retrospectively reviewing their own change, someone
    granting roles to themselves or confirming their own grant, reviewing their own access,
    accepting the risk of a finding they own. Recorded and alerted on as such (``sod-refusal``),
    whatever the message says."""


class DatabaseBusy(ChangegateError):
    """Other writers held the database longer than a writer waits; nothing was written."""

    exit_code = 1
    http_status = 503


class NotInitialised(ChangegateError):
    """The database has no schema yet, or an older one."""


class IntegrityFailure(ChangegateError):
    """Verification of the audit record failed."""

    exit_code = 1
    http_status = 500
