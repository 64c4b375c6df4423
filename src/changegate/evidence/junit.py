"""JUnit XML parsing. Pure; refuses anything that is not a JUnit report, and XML bombs.

What the parser trusts, so that a report never reads better than the file says:

* Test cases count at every depth (``<testsuites>`` / ``<testsuite>`` nested in any way, and
  Eclipse's ``<testrun>`` root). Each one's outcome is kept with its ``classname`` (``class``
  where a runner writes that instead) and ``name``, so the policy engine can tell which tests
  a later report ran again (it clears a failure only by a later pass of that same test).
* ``<failure>`` and ``<error>`` placed directly in a suite (or the root) are failures of that
  suite itself: they are recorded under the synthetic id ``[suite] <path>`` (suite names from
  the root down, joined by `` / ``), which only a later report with the same suite path and no
  such failure clears.
* Count attributes: where a suite's ``failures`` + ``errors`` say more than its test cases and
  nested suites show, the worse figure counts; the difference is a failure of that suite's
  synthetic entry. ``tests=`` never adds tests: only a ``<testcase>`` shows a test that ran, so
  a file with no test cases has zero tests (valid, but it never satisfies ``min_tests``).
* Count attributes that are not whole numbers, are negative or exceed :data:`MAX_COUNT` are
  bad input, refused before anything is stored.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from changegate.errors import InvalidInput

if TYPE_CHECKING:
    from xml.etree.ElementTree import Element

#: version of the stored summary: 2 adds per-test outcomes (``cases``) and suite entries
SUMMARY_FORMAT = 2
#: a count attribute above this is not a real test run
MAX_COUNT = 10_000_000
SUITE_PREFIX = "[suite] "
COUNT_ATTRIBUTES = ("tests", "failures", "errors", "skipped", "disabled")
_ROOTS = ("testsuites", "testsuite", "testrun")
_SUITES = ("testsuites", "testsuite", "testrun")
#: outcome of one test; a test "ran" when it passed, failed or had an error
PASSED, FAILED, ERROR, SKIPPED = "passed", "failed", "error", "skipped"
_RANK = {PASSED: 0, SKIPPED: 1, FAILED: 2, ERROR: 3}


@dataclass(frozen=True)
class JUnitSummary:
    name: str
    tests: int
    failures: int
    errors: int
    skipped: int
    failed_cases: list[str] = field(default_factory=list)
    #: ``[classname, name, outcome]`` per test (outcome: passed | failed | error | skipped)
    cases: list[list[str]] = field(default_factory=list)
    #: synthetic ``[suite] <path>`` entries: failed when the suite itself reported a failure or
    #: its counts say more failures than its test cases show, else passed
    suites: dict[str, str] = field(default_factory=dict)
    #: what the count attributes claimed where they disagreed with the test cases
    notes: list[str] = field(default_factory=list)
    format: int = SUMMARY_FORMAT

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def case_label(classname: str, name: str) -> str:
    """``classname.name`` as shown to people (and as summaries before format 2 listed them)."""
    return f"{classname}.{name}".strip(".")


def _bad(filename: str, message: str) -> InvalidInput:
    return InvalidInput(f"--junit {filename}: {message}", field="junit")


def _count(el: Element, attr: str, filename: str) -> int | None:
    raw = el.get(attr)
    if raw is None or raw.strip() == "":
        return None
    text = raw.strip()
    where = f"<{el.tag} name={el.get('name', '')!r}> {attr}={raw[:40]!r}"
    if not text.isdigit() or not text.isascii():
        raise _bad(
            filename,
            f"{where} is not a whole number of at least 0; attach the report your test runner "
            "wrote, unedited",
        )
    if len(text) > 9 or int(text) > MAX_COUNT:
        raise _bad(
            filename,
            f"{where} is more than {MAX_COUNT:,} tests; this is not a real test run",
        )
    return int(text)


def _outcome(case: Element) -> str:
    tags = {child.tag for child in case}
    if "error" in tags:
        return ERROR
    if "failure" in tags:
        return FAILED
    if "skipped" in tags or case.get("status") == "notrun" or case.get("result") == "suppressed":
        return SKIPPED
    return PASSED


@dataclass
class _Walk:
    filename: str
    cases: dict[tuple[str, str], str] = field(default_factory=dict)
    suites: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    order: list[tuple[str, str] | str] = field(default_factory=list)
    #: per <testcase> element (a name may occur more than once: browsers, parameters, reruns)
    counts: dict[str, int] = field(
        default_factory=lambda: {PASSED: 0, FAILED: 0, ERROR: 0, SKIPPED: 0}
    )

    def record(self, key: Any, outcome: str, table: dict[Any, str]) -> None:
        """Same id twice in one report (reruns, duplicate names): the worse outcome stands."""
        prev = table.get(key)
        if prev is None:
            self.order.append(key)
        if prev is None or _RANK[outcome] > _RANK[prev]:
            table[key] = outcome

    def suite(self, el: Element, path: str) -> int:
        """Walk one suite element; returns its failing count, the worse of counted and claimed."""
        for attr in COUNT_ATTRIBUTES:
            _count(el, attr, self.filename)  # validate every count, used or not
        bad = 0
        own_failures = 0
        for child in el:
            if child.tag == "testcase":
                cls = child.get("classname") or child.get("class") or ""
                outcome = _outcome(child)
                self.record((cls, child.get("name", "")), outcome, self.cases)
                self.counts[outcome] += 1
                bad += outcome in (FAILED, ERROR)
            elif child.tag in _SUITES:
                name = child.get("name") or child.get("package") or ""
                bad += self.suite(child, f"{path} / {name}" if path else name)
            elif child.tag in ("failure", "error"):
                own_failures += 1
        claimed = (_count(el, "failures", self.filename) or 0) + (
            _count(el, "errors", self.filename) or 0
        )
        shortfall = max(0, claimed - bad - own_failures)
        key = SUITE_PREFIX + (path or el.tag)
        if shortfall:
            self.notes.append(
                f"{path or el.tag}: counts say {claimed} failures and errors, "
                f"{bad + own_failures} shown"
            )
        self.record(key, FAILED if own_failures or shortfall else PASSED, self.suites)
        return bad + own_failures + shortfall


def parse_junit(content: bytes, *, filename: str = "junit.xml") -> JUnitSummary:
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import ParseError, fromstring

    try:
        root = fromstring(content)
    except (ParseError, DefusedXmlException, ValueError) as exc:
        raise _bad(
            filename,
            f"not well-formed XML ({exc}); attach the JUnit XML file your test runner wrote "
            "(e.g. pytest --junitxml)",
        ) from exc
    if root.tag not in _ROOTS:
        raise _bad(filename, f"root element is <{root.tag}>, expected <testsuites> or <testsuite>")
    walk = _Walk(filename)
    root_name = root.get("name") or ""
    bad = walk.suite(root, root_name if root.tag == "testsuite" else "")
    n = walk.counts
    failures, errors = n[FAILED], n[ERROR]
    # failures the counts claim beyond the test cases, and suites' own <failure>/<error>
    failures += max(0, bad - failures - errors)
    first_suite = root.find(".//testsuite")
    name = root_name or (first_suite.get("name") if first_suite is not None else None) or filename
    failed = [
        case_label(*k)
        for k in walk.order
        if isinstance(k, tuple) and walk.cases.get(k) in (FAILED, ERROR)
    ]
    failed += [k for k in walk.order if isinstance(k, str) and walk.suites.get(k) == FAILED]
    return JUnitSummary(
        name=name,
        tests=sum(n.values()),
        failures=failures,
        errors=errors,
        skipped=n[SKIPPED],
        failed_cases=failed[:50],
        cases=[[cls, name, outcome] for (cls, name), outcome in walk.cases.items()],
        suites=walk.suites,
        notes=walk.notes[:20],
    )
