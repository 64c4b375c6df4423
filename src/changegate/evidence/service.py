"""Attaching evidence to changes. Files are stored by content (SHA-256) in the database."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from changegate.audit import events
from changegate.audit.service import record
from changegate.changes.models import Change
from changegate.db import utcnow
from changegate.errors import Conflict, InvalidInput
from changegate.evidence.junit import parse_junit
from changegate.evidence.models import Blob, Evidence
from changegate.policy import service as policy_service
from changegate.users.service import get_user

if TYPE_CHECKING:
    from changegate.policy.schema import Policy

_SLUG = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")
MAX_FILE_BYTES = 20 * 1024 * 1024


#: whether a file is stored already, built once (every upload asks)
_STORED = select(Blob.size).where(Blob.sha256 == bindparam("digest"))


@dataclass(frozen=True)
class StoredBlob:
    """A file as its evidence names it: by content."""

    sha256: str
    size: int


def store_blob(session: Session, content: bytes, *, actor: str) -> StoredBlob:
    """Store ``content`` under its SHA-256 (with its event) unless it is stored already; a
    file stored before is found by its digest without reading its bytes back."""
    if len(content) > MAX_FILE_BYTES:
        raise InvalidInput(
            f"file is {len(content)} bytes; the limit is {MAX_FILE_BYTES}", field="file"
        )
    digest = hashlib.sha256(content).hexdigest()
    if session.scalar(_STORED, {"digest": digest}) is None:  # autoflushes a pending one first
        blob = Blob(sha256=digest, size=len(content), content=content)
        session.add(blob)
        record(session, events.BlobStored, actor=actor, after=blob)
    return StoredBlob(digest, len(content))


def check_can_attach(session: Session, policy: Policy, change: Change, *, actor: str) -> str:
    """The name of ``actor`` when they may attach evidence to ``change``: the policy's
    ``evidence.add`` grant, and the change not closed. Also called before a long check runs."""
    user = get_user(session, actor)
    policy_service.require(policy, user, "evidence.add", doing="attach evidence")
    if change.state == "closed":
        raise Conflict(
            f"{change.key} is closed; evidence can no longer be attached", field="change"
        )
    return user.name


def _slug(value: str, field: str) -> str:
    value = value.strip().lower()
    if not _SLUG.match(value):
        raise InvalidInput(
            f"--{field} {value!r}: use lowercase letters, digits, '.', '_' or '-'", field=field
        )
    return value


def bound_fields(policy: Policy, change: Change) -> dict[str, Any]:
    """The change's fields that the policy binds evidence to, as they are now."""
    return {f: getattr(change, f) for f in policy.evidence.stale_when_changed}


def _attach(
    session: Session,
    policy: Policy,
    change: Change,
    *,
    actor: str,
    content: bytes | None,
    filename: str | None,
    **fields: Any,
) -> Evidence:
    """Check that ``actor`` may attach evidence, store the file (if any) by content, and add
    the evidence row, bound to the change's fields as they are now, with its event."""
    who = check_can_attach(session, policy, change, actor=actor)
    blob = None if content is None else store_blob(session, content, actor=who)
    evidence = Evidence(
        change_id=change.id,
        blob_sha256=None if blob is None else blob.sha256,
        filename=None if blob is None else filename,
        added_by=who,
        created_at=utcnow(),
        bound_to=bound_fields(policy, change),
        **fields,
    )
    session.add(evidence)
    record(session, events.EvidenceAdded, actor=who, after=evidence)
    return evidence


def add_junit(
    session: Session, policy: Policy, change: Change, *, content: bytes, filename: str, actor: str
) -> Evidence:
    summary = parse_junit(content, filename=filename)  # refuses malformed files before any write
    passed = summary.failures == 0 and summary.errors == 0
    details = f"{summary.tests} tests, {summary.failures} failures, {summary.errors} errors, {summary.skipped} skipped"
    if summary.notes:
        details += f" ({'; '.join(summary.notes[:3])})"
    return _attach(
        session,
        policy,
        change,
        actor=actor,
        content=content,
        filename=filename,
        kind="junit",
        name=summary.name,
        passed=passed,
        details=details,
        summary=summary.to_dict(),
    )


def add_validation(
    session: Session,
    policy: Policy,
    change: Change,
    *,
    name: str,
    result: str,
    details: str = "",
    actor: str,
    report: bytes | None = None,
    report_filename: str | None = None,
) -> Evidence:
    """A named validation; with ``report``, the file it was decided on, stored by content."""
    if result not in ("pass", "fail"):
        raise InvalidInput(f"--result {result!r}: use pass or fail", field="result")
    vname = _slug(name, "validation")
    if report is not None and not report:
        raise InvalidInput(f"--report {report_filename}: the file is empty", field="report")
    return _attach(
        session,
        policy,
        change,
        actor=actor,
        content=report,
        filename=report_filename or "report",
        kind="validation",
        name=vname,
        passed=result == "pass",
        details=details,
    )


def add_document(
    session: Session,
    policy: Policy,
    change: Change,
    *,
    content: bytes,
    filename: str,
    kind: str,
    actor: str,
    details: str = "",
    summary: dict[str, Any] | None = None,
    passed: bool | None = None,
) -> Evidence:
    dkind = _slug(kind, "kind")
    if not content:
        raise InvalidInput(f"--document {filename}: the file is empty", field="document")
    return _attach(
        session,
        policy,
        change,
        actor=actor,
        content=content,
        filename=filename,
        kind="document",
        name=dkind,
        passed=passed,
        details=details,
        summary=summary,
    )


def list_evidence(session: Session, change: Change) -> list[Evidence]:
    return list(
        session.scalars(
            select(Evidence).where(Evidence.change_id == change.id).order_by(Evidence.id)
        )
    )
