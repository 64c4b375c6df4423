"""JUnit XML parsing. Pure; refuses anything that is not a JUnit report, and XML bombs."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from changegate.errors import InvalidInput


@dataclass(frozen=True)
class JUnitSummary:
    name: str
    tests: int
    failures: int
    errors: int
    skipped: int
    failed_cases: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_junit(content: bytes, *, filename: str = "junit.xml") -> JUnitSummary:
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import ParseError, fromstring

    try:
        root = fromstring(content)
    except (ParseError, DefusedXmlException, ValueError) as exc:
        raise InvalidInput(
            f"--junit {filename}: not well-formed XML ({exc}); attach the JUnit "
            "XML file your test runner wrote (e.g. pytest --junitxml)",
            field="junit",
        ) from exc
    if root.tag not in ("testsuites", "testsuite"):
        raise InvalidInput(
            f"--junit {filename}: root element is <{root.tag}>, expected <testsuites> or <testsuite>",
            field="junit",
        )
    suites = [root] if root.tag == "testsuite" else root.findall(".//testsuite")
    cases = [c for s in suites for c in s.findall("testcase")] if suites else []
    if not suites:
        raise InvalidInput(f"--junit {filename}: no <testsuite> element found", field="junit")
    tests = failures = errors = skipped = 0
    failed: list[str] = []
    if cases:
        for case in cases:
            tests += 1
            label = f"{case.get('classname', '')}.{case.get('name', '')}".strip(".")
            if case.find("failure") is not None:
                failures += 1
                failed.append(label)
            elif case.find("error") is not None:
                errors += 1
                failed.append(label)
            elif case.find("skipped") is not None:
                skipped += 1
    else:
        for s in suites:
            try:
                tests += int(s.get("tests", "0"))
                failures += int(s.get("failures", "0"))
                errors += int(s.get("errors", "0"))
                skipped += int(s.get("skipped", s.get("disabled", "0")))
            except ValueError as exc:
                raise InvalidInput(
                    f"--junit {filename}: a <testsuite> count attribute is not a number ({exc})",
                    field="junit",
                ) from exc
    name = root.get("name") or (suites[0].get("name") if suites else None) or filename
    return JUnitSummary(
        name=name,
        tests=tests,
        failures=failures,
        errors=errors,
        skipped=skipped,
        failed_cases=failed[:50],
    )
