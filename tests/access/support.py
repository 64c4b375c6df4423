"""Access reviews made through the services, for tests elsewhere (the API's authorization
matrix, the web pages).

Opening a campaign snapshots every user and token of the database, one audit event per item,
so the matrix opens one per database and hands each case a row of its CSV: subject
``acc-sN`` in aws. For a case on the caller's own item, the caller is that subject (a user made
with the case's role)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Engine

from changegate.access import service
from changegate.users.service import add_user
from tests.factories import DEFAULT, tx

P = DEFAULT.policy
ROWS = 100
OPENER = "acc-opener"


class Campaign:
    """One open campaign of a database and the CSV rows no case has used yet."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        if not tx(engine, lambda s: _exists(s, OPENER)):
            tx(engine, lambda s: add_user(s, P, name=OPENER, roles=["admin", "security"]))
        rows = "".join(f"acc-s{k},aws,Admin\n" for k in range(ROWS))
        data = f"subject,system,entitlement\n{rows}".encode()
        self.id = tx(
            engine,
            lambda s: service.start_review(s, P, name="matrix", csv=data, actor=OPENER).id,
        )
        self.free: Iterator[int] = iter(range(ROWS))

    def row(self, state: str) -> tuple[str, int]:
        """A fresh row's subject and item id; ``state`` modify: decided modify already."""
        k = next(self.free)

        def run(s: Any) -> int:
            review = service.get_review(s, self.id)
            item = next(i for i in service.items(s, review) if i.subject == f"acc-s{k}")
            if state == "modify":
                service.decide(s, P, review, item, decision="modify", actor=OPENER)
            return item.id

        return f"acc-s{k}", tx(self.engine, run)


def _exists(s: Any, name: str) -> bool:
    from changegate.users.models import User

    return s.query(User).filter(User.name == name).first() is not None


_CAMPAIGNS: dict[str, Campaign] = {}
_SEQ = itertools.count()


def matrix_case(
    engine: Engine, setup: str, role: str | None, own: bool, me: str | None
) -> tuple[str | None, dict[str, Any]]:
    """(the caller, the URL variables) for a matrix case on an access review route."""
    key = str(engine.url)
    campaign = _CAMPAIGNS.get(key)
    if campaign is None:
        campaign = _CAMPAIGNS[key] = Campaign(engine)
    try:
        subject, item = campaign.row(setup.partition("-")[2])
    except StopIteration:
        campaign = _CAMPAIGNS[key] = Campaign(engine)
        subject, item = campaign.row(setup.partition("-")[2])
    if own and me is not None and role is not None:
        tx(engine, lambda s: add_user(s, P, name=subject, roles=[role]))
        me = subject
    return me, {"review_id": campaign.id, "item_id": item}
