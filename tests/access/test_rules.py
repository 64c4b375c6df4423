"""Every access review rule (policy §7), through the real CLI on SQLite and PostgreSQL.

The attack tests assert the refusal: reviewing one's own access (also under another letter
case), deciding without a reviewer role, closing with undecided items or revocations not carried
out, closing without a sign-off role, keeping privileged access without a justification.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path

from sqlalchemy import Engine, text

from tests.access.helpers import AWS, DATA, decide, item, opened, show
from tests.cli_runner import cli
from tests.factories import TEAM, make_team


def _events(engine: Engine, action: str) -> list[dict[str, object]]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT data FROM audit_events ORDER BY seq")).scalars()
        return [e for e in (json.loads(bytes(r)) for r in rows) if e["action"] == action]


def test_open_snapshots_every_role_token_and_csv_row_with_count_and_sha256(
    db_url: str, engine: Engine
) -> None:
    make_team(engine)
    assert cli(db_url, "token", "create", "--user", "ci-bot").code == 0
    out = cli(db_url, "access", "open", "--name", "Q4", "--csv", str(AWS), "--by", "ada")
    assert out.code == 0, out.stderr
    review = show(db_url, int(out.stdout))
    # expected population, computed from the team and the CSV with the standard library
    rows = {(name, "changegate", f"role:{r}") for name, roles in TEAM.items() for r in roles}
    rows.add(("ci-bot", "changegate", "token:1"))
    with AWS.open(newline="") as fh:
        rows |= {(r["subject"], r["system"], r["entitlement"]) for r in csv.DictReader(fh)}
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([("subject", "system", "entitlement")])
    csv.writer(buf, lineterminator="\n").writerows(sorted(rows))
    sha = hashlib.sha256(buf.getvalue().encode()).hexdigest()
    assert review["state"] == "open" and review["population_count"] == len(rows)
    assert review["population_sha256"] == sha
    opened_event = _events(engine, "access_review.opened")[-1]
    assert opened_event["after"]["population_count"] == len(rows)  # type: ignore[index]
    assert opened_event["after"]["population_sha256"] == sha  # type: ignore[index]
    assert len(_events(engine, "access_item.added")) == len(rows)
    privileged = {(i["subject"], i["entitlement"]) for i in review["items"] if i["privileged"]}
    # roles that approve (engineer, security, cto by rules), deploy, administer: the policy's
    assert ("carol", "role:deployer") in privileged and ("ada", "role:admin") in privileged
    assert ("alice", "role:engineer") in privileged and ("audrey", "role:auditor") not in privileged
    assert ("carol", "ProductionDeploy") in privileged and ("bob", "ReadOnly") not in privileged


def test_malformed_csv_exits_2_naming_line_and_column_and_stores_nothing(
    db_url: str, engine: Engine
) -> None:
    make_team(engine)
    before = len(_events(engine, "access_review.created"))
    bad = DATA / "missing_column.csv"
    out = cli(db_url, "access", "open", "--name", "Q4", "--csv", str(bad), "--by", "ada")
    assert out.code == 2
    assert "line 3, column entitlement" in out.stderr
    assert cli(db_url, "access", "list", "--json").json() == []
    assert len(_events(engine, "access_review.created")) == before


def test_attack_nobody_reviews_their_own_access(db_url: str, engine: Engine) -> None:
    review = opened(db_url, engine)
    own = decide(
        db_url, review, item(review, "ada", "role:admin"), "keep", "ada", "--justification", "x"
    )
    assert own.code == 1 and "nobody reviews their own access" in own.stderr
    # the CSV names sam as "Sam": another letter case is still sam's own access
    sams = decide(
        db_url,
        review,
        item(review, "Sam", "org:admin, billing"),
        "keep",
        "sam",
        "--justification",
        "x",
    )
    assert sams.code == 1 and "nobody reviews their own access" in sams.stderr
    other = decide(
        db_url, review, item(review, "ada", "role:admin"), "keep", "sam", "--justification", "admin"
    )
    assert other.code == 0 and other.json()["decided_by"] == "sam"


def test_attack_only_the_policys_reviewer_roles_decide(db_url: str, engine: Engine) -> None:
    review = opened(db_url, engine)
    out = decide(db_url, review, item(review, "alice", "role:engineer"), "revoke", "bob")
    assert out.code == 1 and "reviewer roles" in out.stderr
    assert show(db_url, review["id"])["counts"]["undecided"] == review["population_count"]


def test_keeping_privileged_access_needs_a_justification(db_url: str, engine: Engine) -> None:
    review = opened(db_url, engine)
    carol = item(review, "carol", "role:deployer")
    out = decide(db_url, review, carol, "keep", "sam")
    assert out.code == 2 and "--justification" in out.stderr
    assert decide(db_url, review, item(review, "bob", "ReadOnly"), "keep", "sam").code == 0
    ok = decide(db_url, review, carol, "keep", "sam", "--justification", "on call")
    assert ok.code == 0 and ok.json()["justification"] == "on call"


def _decide_all(db: str, review: dict[str, object], keep_by: str = "sam") -> None:
    for i in review["items"]:  # type: ignore[attr-defined]
        by = "artur" if i["subject"].casefold() == keep_by else keep_by
        assert decide(db, review, i["id"], "keep", by, "--justification", "needed").code == 0


def test_attack_close_refused_with_undecided_items_or_by_a_non_signoff_role(
    db_url: str, engine: Engine
) -> None:
    review = opened(db_url, engine)
    rid = str(review["id"])
    out = cli(db_url, "access", "close", rid, "--by", "artur")
    assert out.code == 1 and "undecided" in out.stderr
    _decide_all(db_url, review)
    admin = cli(db_url, "access", "close", rid, "--by", "ada")  # admin may open, not sign off
    assert admin.code == 1 and "sign-off roles" in admin.stderr
    closed = cli(db_url, "access", "close", rid, "--by", "artur", "--json")
    assert closed.code == 0 and closed.json()["state"] == "closed"
    late = decide(db_url, review, review["items"][0]["id"], "revoke", "sam")
    assert late.code == 1 and "closed" in late.stderr


def test_attack_close_refused_until_revocations_are_applied_through_the_user_services(
    db_url: str, engine: Engine
) -> None:
    review = opened(db_url, engine)
    rid = str(review["id"])
    _decide_all(db_url, review)
    dave = item(review, "dave", "role:deployer")
    aws = item(review, "carol", "ProductionDeploy")
    assert decide(db_url, review, dave, "revoke", "sam").code == 0
    assert decide(db_url, review, aws, "revoke", "sam").code == 0
    out = cli(db_url, "access", "close", rid, "--by", "artur")
    assert out.code == 1 and "not carried out" in out.stderr
    # a changegate role: removed by set_roles, which demands user.manage of whoever applies it
    denied = cli(db_url, "access", "apply", rid, str(dave), "--by", "sam")
    assert denied.code == 1 and "user.manage" in denied.stderr
    assert cli(db_url, "access", "apply", rid, str(dave), "--by", "ada").code == 0
    users = {u["name"]: u["roles"] for u in cli(db_url, "user", "list", "--json").json()}
    assert users["dave"] == ["engineer"]
    updated = _events(engine, "user.updated")[-1]
    assert updated["actor"] == "ada" and updated["entity"].endswith(
        ":" + str(updated["after"]["id"])
    )  # type: ignore[index, union-attr]
    # another system: recorded with a reference and the day it was verified
    bare = cli(db_url, "access", "apply", rid, str(aws), "--by", "ada")
    assert bare.code == 2 and "--reference" in bare.stderr
    done = cli(
        db_url, "access", "apply", rid, str(aws), "--by", "ada", "--reference", "OPS-12",
        "--verified", "2026-11-28", "--json",
    )  # fmt: skip
    assert done.code == 0 and done.json()["verified_on"] == "2026-11-28"
    assert cli(db_url, "access", "close", rid, "--by", "artur").code == 0


def test_a_revoked_token_goes_through_the_auth_service(db_url: str, engine: Engine) -> None:
    make_team(engine)
    assert cli(db_url, "token", "create", "--user", "carol").code == 0
    review = opened(db_url, engine, team=False)
    tok = item(review, "carol", "token:1")
    assert decide(db_url, review, tok, "revoke", "sam").code == 0
    assert cli(db_url, "access", "apply", str(review["id"]), str(tok), "--by", "ada").code == 0
    tokens = cli(db_url, "token", "list", "--json").json()
    assert tokens[0]["status"] == "revoked" and tokens[0]["revoked_by"] == "ada"
    assert _events(engine, "token.revoked")[-1]["actor"] == "ada"


def test_audit_verify_covers_reviews_and_items(db_url: str, engine: Engine) -> None:
    review = opened(db_url, engine)
    _decide_all(db_url, review)
    assert cli(db_url, "audit", "verify", "--json").json()["ok"] is True
    with engine.begin() as conn:  # a decision rewritten behind the log's back
        conn.execute(
            text("UPDATE access_review_items SET justification = 'forged' WHERE id = :i"),
            {"i": review["items"][0]["id"]},
        )
    out = cli(db_url, "audit", "verify", "--json")
    assert out.code == 1 and any("access_item:" in p for p in out.json()["problems"])


def test_export_before_decisions_after(db_url: str, engine: Engine, tmp_path: Path) -> None:
    review = opened(db_url, engine)
    _decide_all(db_url, review)
    aws = item(review, "carol", "ProductionDeploy")
    assert decide(db_url, review, aws, "revoke", "sam").code == 0
    rid = str(review["id"])
    assert (
        cli(db_url, "access", "apply", rid, str(aws), "--by", "ada", "--reference", "T-1").code == 0
    )
    out = cli(db_url, "access", "export", rid, "--out", str(tmp_path))
    assert out.code == 0, out.stderr
    before = (tmp_path / "before.csv").read_bytes()
    assert hashlib.sha256(before).hexdigest() == review["population_sha256"]
    after = list(csv.reader(io.StringIO((tmp_path / "after.csv").read_text())))
    assert ["carol", "aws", "ProductionDeploy"] not in after
    assert len(after) == len(list(csv.reader(io.StringIO(before.decode())))) - 1
    decisions = list(csv.DictReader(io.StringIO((tmp_path / "decisions.csv").read_text())))
    revoked = next(d for d in decisions if d["item"] == str(aws))
    assert revoked["decision"] == "revoke" and revoked["reference"] == "T-1"


def test_last_activity_comes_from_logins_approvals_and_deployments(
    db_url: str, engine: Engine
) -> None:
    from changegate.changes import service as changes
    from changegate.reviews import service as reviews
    from tests.factories import DEFAULT, make_change, tx

    make_team(engine)
    key = make_change(engine)
    p = DEFAULT.policy
    tx(engine, lambda s: changes.submit_change(s, p, changes.get_change(s, key), actor="alice"))
    tx(engine, lambda s: reviews.approve(s, p, changes.get_change(s, key), actor="bob"))
    review = opened(db_url, engine, team=False)
    items = {(i["subject"], i["entitlement"]): i for i in review["items"]}
    assert items[("bob", "role:engineer")]["last_activity"] == "approval"
    assert items[("bob", "role:engineer")]["last_activity_at"] is not None
    assert items[("erin", "role:engineer")]["last_activity"] is None
    assert items[("bob", "ReadOnly")]["last_activity"] is None  # other systems report their own
