"""Test results fail closed on what real runners write (issue 10 §3).

Each attack below was reproduced on main before the fix: nested suites' failures not counted, a
suite's own <error> ignored once it had test cases, a negative count cancelling failures
elsewhere, an absurd count answered with HTTP 500, a later report that shares a suite name
hiding an earlier failing one, and the change's author replacing CI's failing file with a
passing one. Each test asserts the refusal, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from changegate.errors import InvalidInput
from changegate.evidence.junit import MAX_COUNT, parse_junit
from changegate.evidence.models import Blob, Evidence
from tests.api.support import running_org
from tests.cli_runner import cli
from tests.factories import make_change, make_team

DATA = Path(__file__).resolve().parents[1] / "data"


def read(name: str) -> bytes:
    return (DATA / name).read_bytes()


# --- the parser ------------------------------------------------------------------------------


def test_nested_suites_count_every_test_case() -> None:
    s = parse_junit(read("junit_nested_suites.xml"))
    assert (s.tests, s.failures, s.errors) == (5, 1, 0)
    assert s.failed_cases == ["Unit.Refunds.test_refund_rounding"]
    assert ["Unit.Refunds", "test_refund_rounding", "failed"] in s.cases
    assert ["Smoke", "test_health", "passed"] in s.cases


def test_an_error_directly_in_a_suite_with_test_cases_counts() -> None:
    s = parse_junit(read("junit_suite_level_error.xml"))
    assert (s.tests, s.failures + s.errors) == (2, 1)
    assert s.suites == {"[suite] testsuites": "passed", "[suite] t/refunds.t": "failed"}
    assert s.failed_cases == ["[suite] t/refunds.t"]


def test_a_failure_on_the_root_counts() -> None:
    s = parse_junit(read("junit_root_level_failure.xml"))
    assert s.failures == 1 and s.suites["[suite] testsuites"] == "failed"


def test_counts_that_claim_more_failures_than_the_test_cases_show_count() -> None:
    s = parse_junit(read("junit_counts_exceed_cases.xml"))
    # 2 test cases ran (tests="924" shows none of the others ran); 6 failures claimed, 1 shown
    assert (s.tests, s.failures) == (2, 6)
    assert s.suites == {"[suite] it": "failed"}
    assert s.notes == ["it: counts say 6 failures and errors, 1 shown"]


def test_zero_tests_is_a_valid_report() -> None:
    s = parse_junit(read("junit_zero_tests.xml"))
    assert (s.tests, s.failures, s.errors, s.cases) == (0, 0, 0, [])
    assert parse_junit(b"<testsuites/>").tests == 0


def test_same_test_twice_in_one_report_keeps_the_worse_outcome() -> None:
    s = parse_junit(
        b'<testsuites><testsuite name="chromium"><testcase classname="a" name="t"/></testsuite>'
        b'<testsuite name="firefox"><testcase classname="a" name="t"><failure/></testcase>'
        b"</testsuite></testsuites>"
    )
    assert (s.tests, s.failures, s.cases) == (2, 1, [["a", "t", "failed"]])


@pytest.mark.parametrize(
    ("fixture", "message"),
    [
        ("junit_negative_count.xml", "failures='-3' is not a whole number of at least 0"),
        ("junit_non_integer_count.xml", "failures='1.5' is not a whole number of at least 0"),
        ("junit_huge_count.xml", f"is more than {MAX_COUNT:,} tests"),
    ],
)
def test_bad_counts_are_bad_input(fixture: str, message: str) -> None:
    with pytest.raises(InvalidInput) as err:
        parse_junit(read(fixture), filename=fixture)
    assert err.value.field == "junit"
    assert message in err.value.message and f"--junit {fixture}" in err.value.message


# --- through the CLI and the API, on both databases ------------------------------------------


def submitted(engine: Engine, db_url: str) -> str:
    make_team(engine)
    key = make_change(engine)
    assert cli(db_url, "change", "submit", key, "--by", "alice").code == 0
    assert cli(db_url, "approve", key, "--by", "bob").code == 0
    staging = ("--validation", "staging", "--result", "pass")
    assert cli(db_url, "evidence", "add", key, *staging, "--by", "ci-bot").code == 0
    return key


def attach(db_url: str, key: str, fixture: str, by: str = "ci-bot") -> None:
    r = cli(db_url, "evidence", "add", key, "--junit", str(DATA / fixture), "--by", by)
    assert r.code == 0, r.stderr


def automated_tests(db_url: str, key: str) -> dict[str, Any]:
    status = cli(db_url, "status", key, "--json").json()
    found: dict[str, Any] = next(
        r for r in status["requirements"] if r["rule"] == "automated-tests"
    )
    return found


def gate(db_url: str, key: str) -> int:
    return cli(db_url, "gate", key, "--env", "production", "--deployer", "carol").code


def test_attack_nested_suite_failure_closes_the_gate(db_url: str, engine: Engine) -> None:
    key = submitted(engine, db_url)
    attach(db_url, key, "junit_nested_suites.xml")
    req = automated_tests(db_url, key)
    assert not req["met"]
    assert req["reason"] == "test results: 1 of 5 failed: Unit.Refunds.test_refund_rounding"
    assert gate(db_url, key) == 1


def test_attack_suite_level_error_closes_the_gate(db_url: str, engine: Engine) -> None:
    key = submitted(engine, db_url)
    attach(db_url, key, "junit_suite_level_error.xml")
    req = automated_tests(db_url, key)
    assert not req["met"] and req["reason"].startswith("test results: 1 of 2 failed: [suite]")
    assert gate(db_url, key) == 1


def test_attack_negative_and_absurd_counts_are_refused_cli_and_api(
    db_url: str, engine: Engine
) -> None:
    key = submitted(engine, db_url)
    for fixture in ("junit_negative_count.xml", "junit_huge_count.xml"):
        r = cli(db_url, "evidence", "add", key, "--junit", str(DATA / fixture), "--by", "ci-bot")
        assert r.code == 2, (fixture, r.stderr)
        assert f"--junit {fixture}" in r.stderr
    with running_org(db_url) as org:
        for fixture in (
            "junit_negative_count.xml",
            "junit_huge_count.xml",
            "junit_non_integer_count.xml",
        ):
            body = {"filename": fixture, "content_base64": base64.b64encode(read(fixture)).decode()}
            resp = org.client.post(
                f"/api/changes/{key}/evidence/junit", json=body, headers=org.bearer("ci-bot")
            )
            assert resp.status_code == 400, (fixture, resp.status_code, resp.text)
            assert "--junit" in resp.text
    with engine.connect() as conn:
        assert (
            conn.execute(
                select(func.count()).select_from(Evidence).where(Evidence.kind == "junit")
            ).scalar_one()
            == 0
        )
        assert conn.execute(select(func.count()).select_from(Blob)).scalar_one() == 0


def test_attack_a_later_report_sharing_the_suite_name_does_not_hide_failures(
    db_url: str, engine: Engine
) -> None:
    key = submitted(engine, db_url)
    attach(db_url, key, "junit_fail.xml")  # suite "api": 2 of 140 failed
    attach(db_url, key, "junit_api_other_tests.xml")  # suite "api" again: 3 other tests pass
    req = automated_tests(db_url, key)
    assert not req["met"]
    assert req["reason"].startswith("test results: 2 of 143 failed (1 errors): ")
    assert gate(db_url, key) == 1
    # the same tests, run again and passing, clear them
    attach(db_url, key, "junit_api_fixed.xml")
    assert automated_tests(db_url, key)["met"]
    assert gate(db_url, key) == 0


def test_attack_the_authors_passing_file_does_not_replace_cis_failing_one(
    db_url: str, engine: Engine
) -> None:
    key = submitted(engine, db_url)
    attach(db_url, key, "junit_fail.xml")
    attach(db_url, key, "junit_api_fixed.xml", by="alice")  # the author, without role ci
    req = automated_tests(db_url, key)
    assert not req["met"]
    assert req["reason"].startswith("test results: 2 of 140 failed")
    assert req["reason"].endswith("; 1 not counted: attached by alice, who does not hold ci")
    assert gate(db_url, key) == 1
    # the author's file is kept and shown
    shown = cli(db_url, "change", "show", key, "--json").json()["evidence"]
    assert [(e["kind"], e["added_by"]) for e in shown if e["kind"] == "junit"] == [
        ("junit", "ci-bot"),
        ("junit", "alice"),
    ]


def test_results_attached_only_by_people_without_ci_do_not_count(
    db_url: str, engine: Engine
) -> None:
    make_team(engine)
    key = make_change(engine)
    attach(db_url, key, "junit_pass.xml", by="bob")
    staging = ("--validation", "staging", "--result", "pass")
    assert cli(db_url, "evidence", "add", key, *staging, "--by", "bob").code == 0
    status = cli(db_url, "status", key, "--json").json()
    reasons = {r["rule"]: r["reason"] for r in status["unmet"]}
    assert reasons["automated-tests"] == (
        "test results: none counted; 1 not counted: attached by bob, who does not hold ci"
    )
    assert reasons["staging-validation"] == (
        "validation staging: missing; 1 not counted: attached by bob, who does not hold ci"
    )


def test_zero_tests_never_satisfies_min_tests(db_url: str, engine: Engine) -> None:
    key = submitted(engine, db_url)
    attach(db_url, key, "junit_zero_tests.xml")
    req = automated_tests(db_url, key)
    assert not req["met"] and req["reason"] == "test results: 0 tests ran, at least 1 required"
