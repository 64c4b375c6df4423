"""The history audit's lookup answers as JSON, for `audit git` against a server.

The server runs the database lookup (``scm.history_db.DatabaseLookup``) for a batch of SHAs
and answers with ``links_to_json``; the client turns the answer back into the
``LinkedChange`` values its history walk judges (``links_from_json``). Compact lists rather
than objects: an answer carries thousands of links. Standard library only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from changegate.errors import InvalidInput
from changegate.scm.history import Approver, DeploymentRecord, LinkedChange

#: SHAs in one lookup request (a larger `audit git --batch-size` is sent in several)
MAX_LOOKUP = 5_000


def links_to_json(links: Mapping[str, LinkedChange]) -> dict[str, Any]:
    """``{"groups": [[[user, [emails]], ...], ...], "links": {sha: [change, author, group,
    [[environment, passed, id], ...]?]}}``: each distinct tuple of approvers once (changes
    approved alike share one), deployments only where there are some."""
    groups: dict[tuple[Approver, ...], int] = {}
    out: dict[str, list[Any]] = {}
    for sha, link in links.items():
        group = groups.get(link.approvers)
        if group is None:
            group = groups[link.approvers] = len(groups)
        row: list[Any] = [link.change_id, link.author, group]
        if link.deployments:
            row.append([[d.environment, d.gate_passed, d.deployment_id] for d in link.deployments])
        out[sha] = row
    table = [[[a.user, list(a.emails)] for a in approvers] for approvers in groups]
    return {"groups": table, "links": out}


def links_from_json(data: Any) -> dict[str, LinkedChange]:
    """The answer of ``links_to_json``; a malformed answer is refused, never half read."""
    try:
        groups = [
            tuple(Approver(str(user), tuple(emails)) for user, emails in group)
            for group in data["groups"]
        ]
        out: dict[str, LinkedChange] = {}
        for sha, row in data["links"].items():
            deployments = (
                tuple(DeploymentRecord(str(e), bool(p), i) for e, p, i in row[3])
                if len(row) > 3
                else ()
            )
            out[str(sha)] = LinkedChange(row[0], row[1], groups[row[2]], deployments)
        return out
    except (AttributeError, IndexError, KeyError, TypeError, ValueError) as exc:
        raise InvalidInput(
            f"the server's commit lookup is not in the expected form ({exc}); check that "
            "CHANGEGATE_URL names a changegate server of this version",
            field="CHANGEGATE_URL",
        ) from None
