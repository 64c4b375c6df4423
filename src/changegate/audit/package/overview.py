"""What the auditor's web area shows of a period: the package's own rows (population,
deployments, exceptions, control matrix) computed as the package computes them, without
signing anything; and the package signed with the server's key, for the API and the web."""

from __future__ import annotations

from typing import IO, Any

from sqlalchemy.orm import Session

from changegate.audit import tree
from changegate.audit.package import rows
from changegate.audit.package.service import (
    Period,
    as_dicts,
    controls,
    parameters,
    select_events,
)
from changegate.config import Settings
from changegate.errors import Conflict
from changegate.policy.schema import Policy


def overview(session: Session, policy: Policy, p: Period) -> dict[str, Any]:
    """The period's rows as the package would hold them (over the log as it stands now)."""
    from changegate.audit.package.build import _states

    sel = select_events(session, p, tree.head_size(session))
    table = rows.derive(sel.parsed(), sel.manifest_window(parameters(policy)))
    ids = [row[0] for row in table["population.csv"][1:]]
    matrix = controls(policy, table, _states(sel, ids))
    return {
        "period": p.to_dict(),
        "population": as_dicts(table["population.csv"]),
        "deployments": as_dicts(table["deployments.csv"]),
        "exceptions": as_dicts(table["exceptions.csv"]),
        "controls": as_dicts(matrix),
        "ids": ids,
    }


def server_package(
    session: Session,
    policy: Policy,
    settings: Settings,
    p: Period,
    out: IO[bytes],
    *,
    actor: str,
    sample: tuple[int, str] | None = None,
) -> dict[str, Any]:
    """The package of ``p`` (or a sample of it) signed with the server's own key; Conflict
    when the server has none (the package is then built locally with `--key`)."""
    from changegate.audit.autosign import configured_signer
    from changegate.audit.package.build import build_package

    signer, why = configured_signer(settings)
    if signer is None:
        raise Conflict(
            f"the server has no audit signing key ({why}): set CHANGEGATE_AUDIT_KEY_FILE to a "
            "key from `changegate audit keygen`, or build the package locally with --key"
        )
    return build_package(session, policy, p, out, signer=signer, actor=actor, sample=sample)


def verifier_key(settings: Settings) -> str | None:
    """The verifier key of the server's signing key (what auditors keep), or None."""
    from changegate.audit.autosign import configured_signer

    signer, _ = configured_signer(settings)
    return None if signer is None else str(signer.verifier())
