"""§9: the policy's own review: who may record it, when the next one is due, significant
changes deployed since making it due at once; and `policy diff`, rule by rule. On SQLite and
PostgreSQL, through the services, the CLI, the API and remote mode."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from changegate.audit.verify import verify
from changegate.changes import service as changes
from changegate.deployments import service as deployments
from changegate.errors import InvalidInput, PolicyDenied
from changegate.evidence import service as evidence
from changegate.policy.loader import LoadedPolicy, default_policy_text, parse_policy
from changegate.policy.review import record_review, review_status
from changegate.reviews import service as reviews
from tests.cli_runner import cli
from tests.factories import DEFAULT, JUNIT_PASS, make_change, make_team, tx

P = DEFAULT.policy
#: the default policy, with application changes counted as significant (§9), so the plain
#: normal flow deploys one
SIGNIFICANT_APP = parse_policy(
    default_policy_text().replace(
        "significant_components: [infrastructure, iam, network]",
        "significant_components: [infrastructure, iam, network, application]",
    ),
    "significant-app",
)


def deploy_normal_change(engine: Engine, loaded: LoadedPolicy) -> str:
    pol = loaded.policy
    key = make_change(engine, loaded)
    tx(
        engine,
        lambda s: changes.submit_change(s, pol, changes.get_change(s, key), actor="alice"),
        loaded,
    )
    tx(engine, lambda s: reviews.approve(s, pol, changes.get_change(s, key), actor="bob"), loaded)
    tx(
        engine,
        lambda s: evidence.add_junit(
            s, pol, changes.get_change(s, key), content=JUNIT_PASS, filename="j.xml", actor="ci-bot"
        ),
        loaded,
    )
    tx(
        engine,
        lambda s: evidence.add_validation(
            s, pol, changes.get_change(s, key), name="staging", result="pass", actor="ci-bot"
        ),
        loaded,
    )
    tx(
        engine,
        lambda s: deployments.deploy(
            s,
            pol,
            changes.get_change(s, key, lock=True),
            env="production",
            version="v1",
            actor="carol",
        ),
        loaded,
    )
    return key


def status(engine: Engine, loaded: LoadedPolicy = DEFAULT):  # type: ignore[no-untyped-def]
    return tx(engine, lambda s: review_status(s, loaded.policy, loaded.digest), loaded)


def test_never_reviewed_is_due_a_year_after_the_policys_own_date(engine: Engine) -> None:
    st = status(engine)
    assert st.last is None
    stated = dt.date.fromisoformat(P.metadata.last_updated)
    assert st.due_by == stated + dt.timedelta(days=P.metadata.review_interval_days)
    assert not st.overdue(st.due_by)
    assert st.overdue(st.due_by + dt.timedelta(days=1))


def test_only_a_reviewer_role_records_a_review_with_notes(engine: Engine) -> None:
    make_team(engine)
    for who in ("alice", "carol", "ada", "audrey"):  # engineer, deployer, admin, auditor
        with pytest.raises(PolicyDenied, match=r"policy_review\.reviewer_roles"):
            tx(engine, lambda s, w=who: record_review(s, P, DEFAULT.digest, actor=w, notes="ok"))
    with pytest.raises(InvalidInput, match="notes"):
        tx(engine, lambda s: record_review(s, P, DEFAULT.digest, actor="artur", notes="  "))
    assert status(engine).last is None  # nothing was recorded by the refusals
    done = tx(engine, lambda s: record_review(s, P, DEFAULT.digest, actor="artur", notes="annual"))
    st = status(engine)
    assert st.last == done and done.by == "artur" and done.digest == DEFAULT.digest
    assert st.due_by == done.at.date() + dt.timedelta(days=P.metadata.review_interval_days)
    assert not st.overdue(done.at.date())
    report = tx(engine, lambda s: verify(s))
    assert report.ok, report.problems


def test_a_significant_change_deployed_makes_the_review_due_now(engine: Engine) -> None:
    make_team(engine, SIGNIFICANT_APP)
    pol = SIGNIFICANT_APP.policy
    tx(
        engine,
        lambda s: record_review(s, pol, SIGNIFICANT_APP.digest, actor="sam", notes="q1"),
        SIGNIFICANT_APP,
    )
    assert status(engine, SIGNIFICANT_APP).significant_count == 0
    key = deploy_normal_change(engine, SIGNIFICANT_APP)
    st = status(engine, SIGNIFICANT_APP)
    assert st.significant_count == 1 and st.significant[0]["change"] == key
    assert "application" in st.significant[0]["reason"]
    assert st.last is not None and st.overdue(st.last.at.date())  # due now, not in a year
    # the same deployment under the default policy is not significant (application is not listed)
    assert status(engine).significant_count == 0
    # a review after it clears it
    tx(
        engine,
        lambda s: record_review(s, pol, SIGNIFICANT_APP.digest, actor="artur", notes="ok"),
        SIGNIFICANT_APP,
    )
    assert status(engine, SIGNIFICANT_APP).significant_count == 0


def test_an_unreadable_policy_date_fails_closed(engine: Engine) -> None:
    odd = parse_policy(
        default_policy_text().replace('last_updated: "2026-03-25"', "last_updated: March 2026"),
        "odd-date",
    )
    st = status(engine, odd)
    assert st.due_by is None and st.problem and "last_updated" in st.problem
    assert st.overdue(dt.date(2000, 1, 1))


def test_a_review_cannot_be_forged_by_editing_the_log(engine: Engine) -> None:
    """Someone with write access to the database cannot move the last review forward: the
    review is an audit event, and editing it breaks the chain `audit verify` recomputes."""
    make_team(engine)
    tx(engine, lambda s: record_review(s, P, DEFAULT.digest, actor="artur", notes="annual"))
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.execute(text("DROP TRIGGER IF EXISTS audit_events_no_update"))
        else:
            conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
        seq, data = conn.execute(
            text("SELECT seq, data FROM audit_events ORDER BY seq DESC LIMIT 1")
        ).one()
        event = json.loads(bytes(data))
        assert event["action"] == "policy.reviewed"
        event["ts"] = "2099-01-01T00:00:00Z"  # "reviewed" far in the future: never due
        forged = json.dumps(event, sort_keys=True, separators=(",", ":")).encode()
        conn.execute(
            text("UPDATE audit_events SET data = :d WHERE seq = :s"), {"d": forged, "s": seq}
        )
    assert status(engine).last.at.year == 2099  # type: ignore[union-attr]  # the forgery reads
    report = tx(engine, lambda s: verify(s))
    assert not report.ok


def test_cli_review_status_and_exit_codes(db_url: str) -> None:
    assert cli(db_url, "init").code == 0
    for name, role in (("artur", "cto"), ("alice", "engineer")):
        assert cli(db_url, "user", "add", name, "--role", role).code == 0
    r = cli(db_url, "policy", "review", "--notes", "annual", "--by", "alice")
    assert r.code == 1 and "policy_review.reviewer_roles" in r.stderr
    r = cli(db_url, "policy", "review", "--notes", "annual")
    assert r.code == 2 and "--by" in r.stderr
    r = cli(db_url, "policy", "review", "--notes", "annual review", "--by", "artur", "--json")
    assert r.code == 0 and r.json()["by"] == "artur"
    r = cli(db_url, "policy", "status", "--json")
    assert r.code == 0, r.stdout
    out = r.json()
    assert out["last_review"]["by"] == "artur" and out["overdue"] is False
    assert (
        out["due_by"]
        == (
            dt.date.fromisoformat(out["last_review"]["at"][:10]) + dt.timedelta(days=365)
        ).isoformat()
    )
    r = cli(db_url, "policy", "status")
    assert r.code == 0 and "last reviewed" in r.stdout


def write_policy(tmp_path: Path, name: str, replace: dict[str, str]) -> str:
    body = default_policy_text()
    for a, b in replace.items():
        assert a in body, a
        body = body.replace(a, b)
    path = tmp_path / name
    path.write_text(body)
    return str(path)


def test_policy_diff_rule_by_rule(tmp_path: Path) -> None:
    old = write_policy(tmp_path, "old.yaml", {})
    same = cli("sqlite:///unused.db", "policy", "diff", old, old, "--json")
    assert same.code == 0 and same.json()["differences"] == []
    new = write_policy(
        tmp_path,
        "new.yaml",
        {
            'version: "1.2"': 'version: "1.3"',
            "ai-tenant-isolation": "ai-tenant-isolation-v2",  # the rule id, wherever named
            "reviewer_roles: [cto, security]": "reviewer_roles: [cto]",
        },
    )
    r = cli("sqlite:///unused.db", "policy", "diff", old, new, "--json")
    assert r.code == 1, r.stderr
    found = {(d["path"], d["change"]) for d in r.json()["differences"]}
    assert ("metadata.version", "changed") in found
    assert ("rules[ai-tenant-isolation]", "removed") in found
    assert ("rules[ai-tenant-isolation-v2]", "added") in found
    assert ("policy_review.reviewer_roles", "changed") in found
    by_path = {d["path"]: d for d in r.json()["differences"]}
    assert by_path["policy_review.reviewer_roles"]["section"] == "9"
    assert by_path["policy_review.reviewer_roles"]["old"] == ["cto", "security"]
    human = cli("sqlite:///unused.db", "policy", "diff", old, new)
    assert "- §" in human.stdout and "rules[ai-tenant-isolation]" in human.stdout


def test_policy_diff_ignores_order_and_formatting(tmp_path: Path) -> None:
    body = default_policy_text()
    # the same document with two rules swapped: matched by id, no difference
    start = body.index("  - id: ai-tenant-isolation")
    end = body.index("\n  - id:", start + 5)
    block = body[start : end + 1]
    moved = body[:start] + body[end + 1 :]
    rules_at = moved.index("rules:\n") + len("rules:\n")
    moved = moved[:rules_at] + block + moved[rules_at:]
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text(body)
    b.write_text(moved)
    r = cli("sqlite:///unused.db", "policy", "diff", str(a), str(b), "--json")
    assert r.code == 0 and r.json()["differences"] == [], r.stdout


def test_policy_diff_bad_input_names_the_file(tmp_path: Path) -> None:
    good = write_policy(tmp_path, "good.yaml", {})
    bad = tmp_path / "bad.yaml"
    bad.write_text("schema_version: 1\nmetadata: {}\n")
    r = cli("sqlite:///unused.db", "policy", "diff", good, str(bad))
    assert r.code == 2 and "bad.yaml" in r.stderr and "policy check" in r.stderr
    r = cli("sqlite:///unused.db", "policy", "diff", good, str(tmp_path / "missing.yaml"))
    assert r.code == 2 and "missing.yaml" in r.stderr
    latin = tmp_path / "latin.yaml"
    latin.write_bytes(b"\xff\xfe")
    r = cli("sqlite:///unused.db", "policy", "diff", good, str(latin))
    assert r.code == 2 and "UTF-8" in r.stderr


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def pair(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from tests.api.remote_parity import paired

    team = {"artur": ["cto"], "alice": ["engineer"], "audrey": ["auditor"]}
    with paired(request, tmp_path_factory.mktemp("review"), team) as found:
        yield found


def test_remote_mode_takes_the_reviewer_from_the_token(
    pair: tuple[str, str, dict[str, str]], capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.api.remote_parity import comparable, run_remote

    local_url, base, tokens = pair
    # the token decides who reviews: naming someone else is refused, nothing is recorded
    r = run_remote(
        base, tokens["alice"], ["policy", "review", "--notes", "x", "--by", "artur"], capsys
    )
    assert r.code == 1 and "authenticated as alice" in r.stderr
    r = run_remote(base, tokens["alice"], ["policy", "review", "--notes", "x"], capsys)
    assert r.code == 1 and "policy_review.reviewer_roles" in r.stderr
    args = ["policy", "review", "--notes", "annual review", "--json"]
    there = run_remote(base, tokens["artur"], args, capsys)
    here = cli(local_url, *args, "--by", "artur")
    assert there.code == here.code == 0, there.stderr
    assert there.json()["by"] == here.json()["by"] == "artur"
    there = run_remote(base, tokens["audrey"], ["policy", "status", "--json"], capsys)
    here = cli(local_url, "policy", "status", "--json")
    assert there.code == here.code == 0
    assert comparable(there)["last_review"]["by"] == comparable(here)["last_review"]["by"]
    assert there.json()["due_by"] == here.json()["due_by"]


def test_the_policy_page_shows_when_the_review_is_due(db_url: str) -> None:
    from tests.api.support import running_org

    with running_org(db_url) as org:
        org.user("cto", name="artur")
        headers, _ = org.web("artur")
        page = org.client.get("/policy", headers=headers)
        assert page.status_code == 200 and "no review recorded" in page.text
        done = org.client.post(
            "/api/policy/review", json={"notes": "annual: fine"}, headers=org.bearer("artur")
        )
        assert done.status_code == 201
        page = org.client.get("/policy", headers=headers)
        assert "by artur" in page.text and "annual: fine" in page.text
        assert done.json()["at"][:10] in page.text
