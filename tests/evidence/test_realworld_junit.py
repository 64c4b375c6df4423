"""Conformance: every JUnit report of the shared corpus of real runners' output.

The corpus (``<repo>/../shared/testdata/realworld/junit``, third-party files with their sources
in SOURCES.txt) is read where it is, never copied here. Expected values are computed in this
file with the standard library (``xml.etree``), walking every element, independently of
changegate's parser; the rules are the ones issue 10 §3 states: test cases at every depth,
``<failure>`` / ``<error>`` at suite and root level count, and where a suite's counts and what
its test cases show disagree, the worse figure counts.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine

from changegate.changes import service as changes
from changegate.evidence import service as evidence
from changegate.evidence.junit import parse_junit
from tests.factories import DEFAULT, make_change, make_team, tx
from tests.realworld import REALWORLD, require

JUNIT = REALWORLD / "junit"
FILES = sorted(JUNIT.glob("*.xml")) if JUNIT.is_dir() else []
SUITES = {"testsuites", "testsuite", "testrun"}


def _corpus() -> None:
    require(JUNIT, "the JUnit conformance test")


@dataclass(frozen=True)
class Expected:
    testcases: int
    failing_testcases: int
    failing_ids: frozenset[tuple[str, str]]
    skipped: int
    bad: int  # failures + errors: the worse of the counts and what the file shows
    ids: frozenset[tuple[str, str]]


def _int(el: ET.Element, attr: str) -> int:
    return int(el.get(attr) or 0)


def _bad(el: ET.Element) -> int:
    """Failing test cases, suite-level <failure>/<error> and nested suites' figures below
    ``el``, or what its own counts claim, whichever is more."""
    shown = 0
    for child in el:
        if child.tag == "testcase":
            shown += any(c.tag in ("failure", "error") for c in child)
        elif child.tag in SUITES:
            shown += _bad(child)
        elif child.tag in ("failure", "error"):
            shown += 1
    return max(shown, _int(el, "failures") + _int(el, "errors"))


def expected(path: Path) -> Expected:
    root = ET.fromstring(path.read_bytes())
    cases = list(root.iter("testcase"))
    failing = [c for c in cases if any(x.tag in ("failure", "error") for x in c)]
    skipped = [
        c
        for c in cases
        if c not in failing and (any(x.tag == "skipped" for x in c) or c.get("status") == "notrun")
    ]

    def ident(c: ET.Element) -> tuple[str, str]:
        return c.get("classname") or c.get("class") or "", c.get("name", "")

    return Expected(
        testcases=len(cases),
        failing_testcases=len(failing),
        failing_ids=frozenset(ident(c) for c in failing),
        skipped=len(skipped),
        bad=_bad(root),
        ids=frozenset(ident(c) for c in cases),
    )


def test_the_corpus_is_there() -> None:
    _corpus()
    assert len(FILES) == 48, [f.name for f in FILES]


@pytest.mark.parametrize("path", FILES, ids=[f.name for f in FILES])
def test_every_report_reads_as_the_file_says(path: Path) -> None:
    want = expected(path)
    got = parse_junit(path.read_bytes(), filename=path.name)
    assert got.tests == want.testcases
    assert got.skipped == want.skipped
    assert got.failures + got.errors == want.bad
    assert got.failures + got.errors >= want.failing_testcases
    assert {(cls, name) for cls, name, _ in got.cases} == want.ids
    failing_ids = {
        (cls, name) for cls, name, outcome in got.cases if outcome in ("failed", "error")
    }
    assert failing_ids == want.failing_ids


def test_spot_checks_against_the_sources_notes() -> None:
    """Figures stated in SOURCES.txt or counted by hand in the files."""
    _corpus()

    def read(name: str) -> tuple[int, int]:
        s = parse_junit((JUNIT / name).read_bytes(), filename=name)
        return s.tests, s.failures + s.errors

    # header says tests=924 but the file holds 5 testcases; failures="6", 2 <failure> shown
    assert read("surefire-flaky-924-tests.xml") == (5, 6)
    # root says tests=34776 failures=4 errors=3; the trimmed file holds 2069 passing testcases
    assert read("cpython-regrtest-34776-tests.xml") == (2069, 7)
    # TAP::Harness::JUnit: "Dubious, test returned 2" is an <error> directly in a <testsuite>
    tests, bad = read("prove-tap-harness-junit.xml")
    assert tests == 7 and bad == 3
    # Eclipse's <testrun> root (tests="769" failures="8" errors="1"): 7 testcases, none failing
    assert read("eclipse-testrun-root.xml") == (7, 9)
    # mocha-junit-reporter with nothing collected: a valid report of zero tests
    assert read("cypress-mocha-junit-empty.xml") == (0, 0)


def test_the_gate_reads_every_report_as_the_file_says(db_url: str, engine: Engine) -> None:
    """Attached by ci-bot, one change per report: the tests requirement is met exactly when
    the file shows no failure and at least one test ran, on both databases."""
    _corpus()
    from changegate.changes.status import evaluate_change

    make_team(engine)
    P = DEFAULT.policy
    for path in FILES:
        want = expected(path)
        key = make_change(engine, title=f"Conformance {path.name}"[:200])

        def check(s: object, path: Path = path, key: str = key) -> tuple[bool, str]:
            change = changes.get_change(s, key)  # type: ignore[arg-type]
            evidence.add_junit(
                s,  # type: ignore[arg-type]
                P,
                change,
                content=path.read_bytes(),
                filename=path.name,
                actor="ci-bot",
            )
            result = next(
                r
                for r in evaluate_change(s, P, change).results  # type: ignore[arg-type]
                if r.rule_id == "automated-tests"
            )
            return result.met, result.reason

        met, reason = tx(engine, check)
        ran = want.testcases - want.skipped
        assert met == (want.bad == 0 and ran > 0), (path.name, reason)
