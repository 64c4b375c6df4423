"""`audit verify` as every entry point runs it: the verification, and (§8) a failed one
recorded, which raises its alert. The CLI, the API and the web page call this, so none of them
can verify without recording a failure."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from changegate.audit.verify import Anchor, VerifyReport

#: what reading values of the wrong type or shape raises (text where bytes belong, a number
#: that is not one, JSON that is not JSON): verification fails, it does not crash
_UNREADABLE = (TypeError, ValueError, AttributeError, KeyError, IndexError, OverflowError)


def verify_and_record(
    session: Session,
    engine: Engine,
    *,
    actor: str,
    anchors: Sequence[Anchor] = (),
    deep: bool = False,
) -> VerifyReport:
    """Verify the log read in ``session``; when the verification fails, record it (and so its
    alert) in a write transaction of its own on ``engine`` (the verification only read), as
    ``actor``. A log too damaged to take the record still gets its verdict."""
    from changegate.alerts.service import record_failed_verification
    from changegate.audit.verify import VerifyReport, verify
    from changegate.db import session_scope

    try:
        report = verify(session, anchors=anchors, deep=deep)
    except _UNREADABLE as exc:  # fail closed: a log that cannot be read as one is not intact
        report = VerifyReport()
        report.problems.append(
            f"the stored log cannot be read as a log ({type(exc).__name__}: {str(exc)[:300]}): "
            "a value of the wrong type or shape was written to the database"
        )
    if not report.ok:
        record_failed_verification(lambda: session_scope(engine), report.problems, actor=actor)
    return report
