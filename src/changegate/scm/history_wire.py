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


def links_to_json(links: Mapping[str, LinkedChange]) -> dict[str, list[Any]]:
    """``sha -> [change, author, [[user, [emails]], ...], [[environment, passed, id], ...]]``."""
    return {
        sha: [
            link.change_id,
            link.author,
            [[a.user, list(a.emails)] for a in link.approvers],
            [[d.environment, d.gate_passed, d.deployment_id] for d in link.deployments],
        ]
        for sha, link in links.items()
    }


def links_from_json(data: Any) -> dict[str, LinkedChange]:
    """The answer of ``links_to_json``; a malformed answer is refused, never half read."""
    try:
        return {
            str(sha): LinkedChange(
                change_id=change,
                author=author,
                approvers=tuple(Approver(str(user), tuple(emails)) for user, emails in approvers),
                deployments=tuple(
                    DeploymentRecord(str(env), bool(passed), ident)
                    for env, passed, ident in deployments
                ),
            )
            for sha, (change, author, approvers, deployments) in data.items()
        }
    except (AttributeError, TypeError, ValueError) as exc:
        raise InvalidInput(
            f"the server's commit lookup is not in the expected form ({exc}); check that "
            "CHANGEGATE_URL names a changegate server of this version",
            field="CHANGEGATE_URL",
        ) from None
