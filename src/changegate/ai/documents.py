"""Helpers shared by the AI evidence services: how a JSON document is stored on a change and
found again, the shape of a stored check, and who may attach (the evidence slice's rule,
re-exported).

Stored through :mod:`changegate.evidence.service` like any other evidence; these flush and
never commit.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from changegate.changes.models import Change
from changegate.evidence import service as evidence
from changegate.evidence.models import Blob, Evidence
from changegate.evidence.service import check_can_attach as check_can_attach

if TYPE_CHECKING:
    from changegate.policy.schema import Policy

DOC_VERSION = 1


def json_bytes(data: Any) -> bytes:
    return (json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def add_document(
    session: Session,
    policy: Policy,
    change: Change,
    *,
    kind: str,
    data: Mapping[str, Any],
    actor: str,
    details: str,
    summary: dict[str, Any],
    passed: bool | None,
) -> Evidence:
    return evidence.add_document(
        session,
        policy,
        change,
        content=json_bytes(data),
        filename=f"{kind}.json",
        kind=kind,
        actor=actor,
        details=details,
        summary=summary,
        passed=passed,
    )


def latest_document(session: Session, change: Change, name: str) -> Evidence | None:
    return session.scalar(
        select(Evidence)
        .where(Evidence.change_id == change.id, Evidence.kind == "document", Evidence.name == name)
        .order_by(Evidence.id.desc())
        .limit(1)
    )


def document_json(session: Session, item: Evidence) -> Any:
    """The stored JSON of a document, or ``None`` when it is not JSON."""
    blob = session.get(Blob, item.blob_sha256) if item.blob_sha256 else None
    if blob is None:
        return None
    try:
        return json.loads(blob.content)
    except (ValueError, UnicodeDecodeError):
        return None


def short_sha(sha: str | None) -> str:
    return (sha or "")[:12]


def cut(text: str, limit: int = 1500) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def rate(passed: int, total: int) -> str:
    return f"{passed}/{total} ({passed / total:.1%})" if total else "0/0"


@dataclass(frozen=True)
class CheckEvidence:
    """A stored check: its report document and the validation it decided."""

    status: str
    passed: bool
    document: Evidence
    validation: Evidence
    report: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "passed": self.passed,
            "validation": self.validation.audit_state(),
            "evidence": [self.document.audit_state(), self.validation.audit_state()],
            "report": self.report,
        }
