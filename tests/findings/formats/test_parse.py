"""parse(): the choice of format, and malformed files refused whole with the path at fault.

Per format: a wrong type at a path, truncated JSON, text that is not JSON, and a document of
another shape. Hostile input (deep nesting, NaN, huge integers, NUL characters) ends in a
FindingsFormatError or clean text, never another exception; a property test feeds arbitrary
JSON, and the fixtures with one subtree replaced by arbitrary JSON, to every parser.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from changegate.errors import InvalidInput
from changegate.findings.formats import FindingsFormatError, parse
from changegate.findings.formats.kev import parse_kev
from changegate.findings.parsed import FORMATS
from tests.findings.formats.data import fixture

FIXTURES = {
    "sarif": "sarif-rules-and-levels.sarif",
    "trivy": "trivy-report.json",
    "grype": "grype-report.json",
    "osv": "osv-report.json",
    "dependabot": "dependabot-alerts.json",
    "cyclonedx-vex": "cyclonedx-vex.json",
}

WRONG_TYPE = [
    (
        "sarif",
        {
            "version": "2.1.0",
            "runs": [{"tool": {"driver": {"name": "x"}}, "results": [{"ruleId": 5}]}],
        },
        "$.runs[0].results[0].ruleId: expected a string, got a number",
    ),
    (
        "sarif",
        {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}}}]},
        "$.runs[0].results: missing",
    ),
    (
        "trivy",
        {
            "SchemaVersion": 2,
            "Results": [
                {"Target": "t", "Vulnerabilities": [{"VulnerabilityID": "CVE-1", "Severity": 3}]}
            ],
        },
        "$.Results[0].Vulnerabilities[0].Severity: expected a string, got a number",
    ),
    (
        "trivy",
        {
            "SchemaVersion": 2,
            "Results": [
                {
                    "Target": "t",
                    "Vulnerabilities": [
                        {"VulnerabilityID": "CVE-1", "CVSS": {"nvd": {"V3Score": "7.5"}}}
                    ],
                }
            ],
        },
        "$.Results[0].Vulnerabilities[0].CVSS.nvd.V3Score: expected a number, got a string",
    ),
    (
        "grype",
        {"matches": [{"vulnerability": {"id": "CVE-1"}, "artifact": {"name": ["x"]}}]},
        "$.matches[0].artifact.name: expected a string, got an array",
    ),
    (
        "osv",
        {"results": [{"packages": [{"package": {"name": "x"}, "groups": [{"ids": "GHSA-1"}]}]}]},
        "$.results[0].packages[0].groups[0].ids: expected an array, got a string",
    ),
    (
        "dependabot",
        [{"state": "open", "security_advisory": {"ghsa_id": None}, "dependency": {}}],
        "$[0].security_advisory.ghsa_id: expected a string, got null",
    ),
    (
        "cyclonedx-vex",
        {"bomFormat": "CycloneDX", "vulnerabilities": [{"id": "CVE-1", "affects": [{"ref": 1}]}]},
        "$.vulnerabilities[0].affects[0].ref: expected a string, got a number",
    ),
    (
        "cyclonedx-vex",
        {
            "bomFormat": "CycloneDX",
            "vulnerabilities": [
                {"id": "CVE-1", "ratings": [{"source": {"name": "x"}, "score": "9"}]}
            ],
        },
        "$.vulnerabilities[0].ratings[0].score: expected a number, got a string",
    ),
]

WRONG_SHAPE = [
    ("sarif", [], "$: expected an object, got an array"),
    (
        "sarif",
        {"version": "2.0.0", "runs": []},
        '$.version: expected "2.1.0" (SARIF 2.1.0), got "2.0.0"',
    ),
    ("trivy", {"matches": []}, "$.SchemaVersion: missing"),
    ("grype", {"SchemaVersion": 2, "Results": []}, "$.matches: missing"),
    ("osv", [], "$: expected an object, got an array"),
    ("dependabot", {"alerts": []}, "$: expected an array of Dependabot alerts"),
    (
        "dependabot",
        {"errors": [{"message": "Bad credentials"}]},
        "$.errors: the GraphQL response reports errors",
    ),
    (
        "cyclonedx-vex",
        {"bomFormat": "SPDX"},
        '$.bomFormat: expected "CycloneDX" (a CycloneDX BOM), got "SPDX"',
    ),
]


def _refused(data: bytes, fmt: str) -> str:
    with pytest.raises(FindingsFormatError) as e:
        parse(data, fmt)
    assert e.value.field == "file" and isinstance(e.value, InvalidInput)
    assert e.value.message.startswith(f"not a valid {fmt} file: ")
    return e.value.message


@pytest.mark.parametrize(("fmt", "doc", "message"), WRONG_TYPE + WRONG_SHAPE)
def test_wrong_type_or_shape_names_the_path(fmt: str, doc: Any, message: str) -> None:
    assert message in _refused(json.dumps(doc).encode(), fmt)


@pytest.mark.parametrize("fmt", FORMATS)
def test_truncated_and_not_json_name_the_line(fmt: str) -> None:
    data = fixture(FIXTURES[fmt])
    cut = data[: len(data) // 2]
    line = cut.count(b"\n") + 1
    assert f"line {line} column " in _refused(cut, fmt)
    assert "line 1 column 1: not valid JSON" in _refused(b"<?xml version='1.0'?><report/>", fmt)
    assert "line 3 column 1: not valid JSON" in _refused(b"{\n  \n", fmt)


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_error_after_good_items_refuses_the_whole_file(fmt: str) -> None:
    """Never a partial list: the first items were fine, the last one is not."""
    doc = json.loads(fixture(FIXTURES[fmt]))
    items = {
        "sarif": lambda d: d["runs"][0]["results"],
        "trivy": lambda d: d["Results"][0]["Vulnerabilities"],
        "grype": lambda d: d["matches"],
        "osv": lambda d: d["results"],
        "dependabot": lambda d: d,
        "cyclonedx-vex": lambda d: d["vulnerabilities"],
    }[fmt](doc)
    good = len(items)
    items.append(["not", "an", "object"])
    assert "expected an object, got an array" in _refused(json.dumps(doc).encode(), fmt)
    assert good > 0


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_has_a_parser(fmt: str) -> None:
    assert "expected" in _refused(b'"a string"', fmt)  # read as that format, not unknown


def test_unknown_format_names_the_choices() -> None:
    with pytest.raises(InvalidInput) as e:
        parse(b"{}", "nessus")
    assert e.value.field == "format"
    assert "nessus" in e.value.message and all(f in e.value.message for f in FORMATS)
    assert not isinstance(e.value, FindingsFormatError)


HOSTILE = {
    b"[" * 200_000: "nested too deeply",  # json.loads alone: RecursionError
    b'{"SchemaVersion": NaN}': "NaN is not JSON",  # json.loads alone accepts NaN
    b'{"SchemaVersion": 1' + b"0" * 5000 + b"}": "not valid JSON",  # int too long: ValueError
    b"\xff\xfe{\x00}\x00": "byte 0: not UTF-8",
}


@pytest.mark.parametrize("data", list(HOSTILE), ids=["deep", "nan", "huge-int", "utf16"])
def test_hostile_input_is_refused_cleanly(data: bytes) -> None:
    assert HOSTILE[data] in _refused(data, "trivy")


def test_a_bom_and_nul_characters() -> None:
    data = b"\xef\xbb\xbf" + fixture("trivy-legacy.json").replace(b'"curl"', b'"cu\\u0000rl"')
    (found,) = parse(data, "trivy")
    assert found.component == "cu\ufffdrl"  # PostgreSQL text cannot hold a NUL


# --- property tests: nothing but FindingsFormatError, whatever the JSON ----------------------

_leaves = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8)
)
_json = st.recursive(
    _leaves,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


def _paths(doc: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _paths(v, (*path, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += _paths(v, (*path, i))
    return out


def _replace(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    doc[path[0]] = _replace(doc[path[0]], path[1:], value)
    return doc


def _only_domain_errors(data: bytes, fmt: str) -> None:
    try:
        found = parse(data, fmt)
    except FindingsFormatError:
        return
    assert all(f.severity in ("critical", "high", "medium", "low") for f in found)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(FORMATS), _json)
def test_arbitrary_json(fmt: str, doc: Any) -> None:
    _only_domain_errors(json.dumps(doc).encode(), fmt)
    with contextlib.suppress(FindingsFormatError):
        parse_kev(json.dumps(doc).encode())


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(FORMATS), st.data())
def test_fixtures_with_one_subtree_replaced(fmt: str, data: st.DataObject) -> None:
    doc = json.loads(fixture(FIXTURES[fmt]))
    path = data.draw(st.sampled_from(_paths(doc)))
    _only_domain_errors(json.dumps(_replace(doc, path, data.draw(_json))).encode(), fmt)
