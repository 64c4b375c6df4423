"""Retention: nothing is deleted before the policy's period, legal holds block purging, a purge
erases evidence bytes only, as audit events, and `audit verify` tells a purge from tampering."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from changegate.audit.verify import verify
from changegate.changes import service as changes
from changegate.db import utcnow
from changegate.errors import Conflict, InvalidInput, PolicyDenied
from changegate.evidence import service as evidence
from changegate.retention import service as retention
from tests.cli_runner import cli
from tests.factories import DEFAULT, JUNIT_PASS, make_change, make_team, tx

P = DEFAULT.policy
LATER = utcnow() + dt.timedelta(days=366 * (P.retention.audit_years + 1))
SHA = hashlib.sha256(JUNIT_PASS).hexdigest()


def sql(engine: Engine, statement: str, **params: object) -> None:
    with engine.begin() as conn:
        conn.execute(text(statement), params)


def _with_evidence(engine: Engine) -> str:
    make_team(engine)
    key = make_change(engine)
    tx(
        engine,
        lambda s: evidence.add_junit(
            s, P, changes.get_change(s, key), content=JUNIT_PASS, filename="j.xml", actor="ci-bot"
        ),
    )
    return key


def _purge(engine: Engine, now: dt.datetime = LATER, **kw: object) -> dict[str, object]:
    return tx(engine, lambda s: retention.purge(s, P, actor="ada", now=now, **kw))  # type: ignore[arg-type]


def test_nothing_is_purged_before_retention_ends(engine: Engine) -> None:
    _with_evidence(engine)
    assert _purge(engine, now=utcnow())["count"] == 0
    # a date in the future does not move the retention period
    assert _purge(engine, now=utcnow(), before="2999-01-01")["count"] == 0
    report = tx(engine, lambda s: retention.retention_report(s, P))
    assert report["blobs"] == [] and report["changes"] == []
    assert tx(engine, verify).ok


def test_the_database_refuses_to_delete_the_record(engine: Engine) -> None:
    """Attack: delete evidence, its file or a hold straight in the database (before 0011 the
    DELETE went through), or rewrite a blob's bytes instead of erasing them."""
    key = _with_evidence(engine)
    tx(engine, lambda s: retention.hold(s, P, changes.get_change(s, key), reason="x", actor="ada"))
    for statement in (
        "DELETE FROM evidence",
        "DELETE FROM blobs",
        "DELETE FROM legal_holds",
        "UPDATE blobs SET content = :other",
        "UPDATE blobs SET size = 1",
    ):
        with pytest.raises(DBAPIError):
            sql(engine, statement, other=b"forged")
    assert tx(engine, verify).ok


def test_purge_past_retention_is_audited_and_verify_reports_it(engine: Engine) -> None:
    key = _with_evidence(engine)
    report = tx(engine, lambda s: retention.retention_report(s, P, now=LATER))
    assert [b["sha256"] for b in report["blobs"]] == [SHA]
    assert report["blobs"][0]["purgeable"] and report["blobs"][0]["changes"] == [key]
    assert [c["change"] for c in report["changes"]] == [key]
    out = _purge(engine)
    assert out["count"] == 1
    [purged] = out["purged"]  # type: ignore[misc]
    assert purged["sha256"] == SHA and purged["changes"] == [key]
    with engine.connect() as conn:
        size, content = conn.execute(text("SELECT size, content FROM blobs")).one()
    assert size == len(JUNIT_PASS) and bytes(content) == b""
    result = tx(engine, verify)
    assert result.ok, result.problems
    assert result.purged == [f"blob:{SHA} purged per retention (event #{purged['event']})"]
    assert _purge(engine)["count"] == 0  # once
    run = cli(str(engine.url.render_as_string(hide_password=False)), "audit", "verify")
    assert run.code == 0 and f"blob:{SHA} purged per retention" in run.stdout


def test_bytes_erased_without_a_purge_event_are_tampering(engine: Engine) -> None:
    """Attack: erase an evidence file's bytes behind the log's back (the trigger dropped, as the
    database's owner can): verify names the blob, it never calls it purged."""
    _with_evidence(engine)
    if engine.dialect.name == "sqlite":
        sql(engine, "DROP TRIGGER blobs_erase_only")
    else:
        sql(engine, "ALTER TABLE blobs DISABLE TRIGGER blobs_erase_only")
    sql(engine, "UPDATE blobs SET content = :empty", empty=b"")
    result = tx(engine, verify)
    assert not result.ok and result.purged == []
    assert any(f"blob:{SHA} content does not match" in p for p in result.problems)


def test_a_legal_hold_blocks_purge_until_released(engine: Engine) -> None:
    key = _with_evidence(engine)

    def hold(actor: str, reason: str = "litigation 2027-14") -> object:
        return tx(
            engine,
            lambda s: retention.hold(s, P, changes.get_change(s, key), reason=reason, actor=actor),
        )

    with pytest.raises(PolicyDenied):
        hold("alice")
    with pytest.raises(InvalidInput):
        hold("ada", " ")
    hold("ada")
    with pytest.raises(Conflict):
        hold("sam")
    report = tx(engine, lambda s: retention.retention_report(s, P, now=LATER))
    assert report["blobs"][0]["blocked"] == f"legal hold on {key}"
    assert _purge(engine)["count"] == 0
    tx(
        engine,
        lambda s: retention.release(s, P, changes.get_change(s, key), reason="closed", actor="sam"),
    )
    with pytest.raises(Conflict):
        tx(
            engine,
            lambda s: retention.release(s, P, changes.get_change(s, key), reason="", actor="sam"),
        )
    actions = [e.action for e in tx(engine, lambda s: changes_timeline(s, key))]
    assert actions.count("retention.hold_placed") == 1
    assert actions.count("retention.hold_released") == 1
    assert _purge(engine)["count"] == 1
    assert tx(engine, verify).ok


def changes_timeline(session: object, key: str) -> list[object]:
    from changegate.audit.service import timeline

    return timeline(session, change_key=key)  # type: ignore[arg-type, return-value]


def test_only_the_purge_role_purges(engine: Engine) -> None:
    _with_evidence(engine)
    with pytest.raises(PolicyDenied):
        tx(engine, lambda s: retention.purge(s, P, actor="audrey", now=LATER))
    with pytest.raises(InvalidInput):
        _purge(engine, before="not a date")
    # --before earlier than the end of retention purges nothing
    assert _purge(engine, before="2000-01-01")["count"] == 0


def test_a_shared_file_is_kept_while_any_change_holding_it_is(engine: Engine) -> None:
    first = _with_evidence(engine)
    second = make_change(engine, title="Another")
    tx(
        engine,
        lambda s: evidence.add_junit(
            s,
            P,
            changes.get_change(s, second),
            content=JUNIT_PASS,
            filename="k.xml",
            actor="ci-bot",
        ),
    )
    tx(
        engine,
        lambda s: retention.hold(s, P, changes.get_change(s, second), reason="x", actor="ada"),
    )
    report = tx(engine, lambda s: retention.retention_report(s, P, now=LATER))
    assert report["blobs"][0]["changes"] == [first, second]
    assert report["blobs"][0]["blocked"] == f"legal hold on {second}"
    assert _purge(engine)["count"] == 0
