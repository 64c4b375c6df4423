"""Every table the gate and the policy engine read is covered by `audit verify`.

The gate is run the ways production runs it (status, gate by change id, `gate --git-sha` through
the CLI, deploy, the API's by-commit gate) on a change with reviews, evidence, commits and
commit authors, with SQLAlchemy's ``before_cursor_execute`` hook recording every table the
statements touch. Each must be audited (``models.AUDITED``: rows checked against the events
describing them), derived and recomputed by verify (``audit.derived.DERIVED``), or the log
itself. A table the gate starts reading later fails this test until verify covers it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, event, select

from changegate.audit.derived import DERIVED
from changegate.audit.verify import change_scoped, verify
from changegate.changes import service as changes
from changegate.changes.status import status_report
from changegate.db import Base
from changegate.deployments import service as deployments
from changegate.evidence import service as evidence
from changegate.models import AUDITED
from changegate.reviews import service as reviews
from tests.cli_runner import cli
from tests.factories import DEFAULT, JUNIT_PASS, make_change, make_team, tx

P = DEFAULT.policy
SHA = "5e" * 20
#: the hash-chained log itself: verified event by event (chain, head, indexed columns), and
#: its Merkle subtrees, recomputed from the leaves (tests/audit/test_tree.py)
LOG = {"audit_events", "audit_head", "audit_subtrees"}
_TABLE = re.compile(r'\b(?:FROM|JOIN|INTO|UPDATE)\s+"?(\w+)"?', re.IGNORECASE)


def covered() -> set[str]:
    audited = {m.__tablename__ for m in AUDITED.values()}  # type: ignore[attr-defined]
    return audited | set(DERIVED) | LOG


@pytest.fixture
def touched(engine: Engine) -> Iterator[set[str]]:
    """Names of the tables every statement run in this process touches, while the test runs."""
    known = set(Base.metadata.tables)
    seen: set[str] = set()

    def hook(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.update(t for t in _TABLE.findall(statement) if t in known)

    event.listen(Engine, "before_cursor_execute", hook)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", hook)


def rich_change(engine: Engine) -> str:
    make_team(engine)
    key = make_change(engine, commits=[SHA])
    tx(engine, lambda s: changes.submit_change(s, P, changes.get_change(s, key), actor="alice"))
    tx(engine, lambda s: reviews.approve(s, P, changes.get_change(s, key), actor="bob"))
    tx(
        engine,
        lambda s: evidence.add_junit(
            s, P, changes.get_change(s, key), content=JUNIT_PASS, filename="j.xml", actor="bob"
        ),
    )
    return key


def ai_change(engine: Engine) -> str:
    """A change naming an LLM provider: the gate reads the provider register (DPA rule)."""
    from changegate.ai.providers import add_provider

    tx(engine, lambda s: add_provider(s, P, name="openai", actor=None))
    return make_change(
        engine,
        title="Route chat to OpenAI",
        category="model-provider-switch",
        ai_component="llm-shuffle",
        providers=["openai"],
    )


def test_every_table_the_gate_reads_is_covered(
    engine: Engine, db_url: str, touched: set[str]
) -> None:
    key = rich_change(engine)
    ai = ai_change(engine)
    touched.clear()  # from here on: only what deciding a deployment reads
    tx(engine, lambda s: status_report(s, P, changes.get_change(s, key)))
    tx(engine, lambda s: status_report(s, P, changes.get_change(s, ai)))
    tx(
        engine,
        lambda s: deployments.gate(
            s, P, changes.get_change(s, key, lock=True), env="production", deployer="carol"
        ),
    )
    tx(
        engine,
        lambda s: deployments.deploy(
            s,
            P,
            changes.get_change(s, key, lock=True),
            env="production",
            version="v1",
            actor="carol",
        ),
    )
    for args in (
        ("gate", "--git-sha", SHA, "--env", "production", "--deployer", "carol"),
        ("status", key),
        ("change", "show", key),
    ):
        assert cli(db_url, *args).code in (0, 1), args  # ran (closed gate = 1), not refused
    _api_gate_by_commit(db_url)
    assert {"changes", "reviews", "evidence", "users", "change_commits", "ai_providers"} <= touched
    uncovered = sorted(touched - covered())
    assert not uncovered, (
        f"the gate reads {uncovered}, which `audit verify` does not check: add the model to "
        "models.AUDITED with events carrying its columns, or recompute it in audit/derived.py"
    )
    assert tx(engine, verify).ok


def _api_gate_by_commit(db_url: str) -> None:
    from changegate.auth import service as auth
    from tests.api.support import running_org

    with running_org(db_url) as org:
        token = tx(org.engine, lambda s: auth.create_token(s, user="carol", actor="system"))[1]
        r = org.client.post(
            f"/api/changes/by-commit/{SHA}/gate",
            json={"env": "production"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert r.status_code == 200, r.text


def test_change_scoped_states_carry_their_change(engine: Engine) -> None:
    """The fast check of change_key (audit.chain.index_ok) relies on it: the audited state of
    every row that belongs to a change has its change as a top-level ``change`` field."""
    rich_change(engine)
    scoped = {t.decode() for t in change_scoped(AUDITED)}
    seen = set()
    with engine.connect() as conn:
        from sqlalchemy.orm import Session

        with Session(bind=conn) as s:
            for name in scoped:
                for row in s.scalars(select(AUDITED[name])).all():
                    assert "change" in row.audit_state(), name
                    seen.add(name)
    assert {"review", "evidence"} <= seen


def test_derived_tables_exist_and_are_not_audited_twice() -> None:
    audited = {m.__tablename__ for m in AUDITED.values()}  # type: ignore[attr-defined]
    for name, spec in DERIVED.items():
        assert spec.model.__tablename__ == name  # type: ignore[attr-defined]
        assert name not in audited
