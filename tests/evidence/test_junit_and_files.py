"""Evidence: JUnit parsing, malformed files refused with nothing stored, files stored by content."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from changegate.errors import InvalidInput
from changegate.evidence.junit import parse_junit
from changegate.evidence.models import Blob, Evidence
from tests.cli_runner import cli
from tests.factories import JUNIT_FAIL, JUNIT_PASS, make_change, make_team

BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<testsuites><testsuite name="x" tests="1">&lol2;</testsuite></testsuites>"""


def test_parse_counts() -> None:
    s = parse_junit(JUNIT_PASS)
    assert (s.name, s.tests, s.failures, s.errors, s.skipped) == ("pytest", 4, 0, 0, 1)
    f = parse_junit(JUNIT_FAIL)
    assert (f.tests, f.failures, f.errors) == (140, 1, 1)
    assert f.failed_cases == ["tests.test_api.test_refund_rounding", "tests.test_api.test_db"]


def test_attribute_only_suite() -> None:
    # counts without test cases: no test is shown to have run, the claimed failure still counts
    s = parse_junit(b'<testsuite name="go" tests="12" failures="1" errors="0" skipped="2"/>')
    assert (s.tests, s.failures, s.skipped) == (0, 1, 0)
    assert s.suites == {"[suite] go": "failed"}


@pytest.mark.parametrize(
    "content",
    [
        b"not xml",
        b"<html><body/></html>",
        BOMB,
        b'<testsuite name="x" tests="lots"/>',
        b"",
    ],
)
def test_malformed_junit_is_refused(content: bytes) -> None:
    with pytest.raises(InvalidInput) as err:
        parse_junit(content, filename="r.xml")
    assert err.value.field == "junit" and "--junit r.xml" in err.value.message


def test_malformed_file_stores_nothing(db_url: str, engine: Engine, tmp_path: Path) -> None:
    make_team(engine)
    key = make_change(engine)
    bad = tmp_path / "r.xml"
    bad.write_bytes(b"<testsuite><testcase name='a'>")
    r = cli(db_url, "evidence", "add", key, "--junit", str(bad), "--by", "bob")
    assert r.code == 2 and "not well-formed XML" in r.stderr
    r = cli(db_url, "evidence", "add", key, "--junit", str(tmp_path / "missing.xml"), "--by", "bob")
    assert r.code == 2 and "cannot read the file" in r.stderr
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Evidence)).scalar_one() == 0
        assert conn.execute(select(func.count()).select_from(Blob)).scalar_one() == 0


def test_files_are_stored_by_content(db_url: str, engine: Engine, tmp_path: Path) -> None:
    make_team(engine)
    key = make_change(engine)
    doc = tmp_path / "design.md"
    doc.write_bytes(b"# design\n")
    r = cli(
        db_url,
        "evidence",
        "add",
        key,
        "--document",
        str(doc),
        "--kind",
        "design",
        "--by",
        "bob",
        "--json",
    )
    assert r.code == 0 and r.json()["blob_sha256"] == hashlib.sha256(b"# design\n").hexdigest()
    doc.write_bytes(b"# changed later\n")  # the stored evidence does not follow the path
    with engine.connect() as conn:
        assert bytes(conn.execute(select(Blob.content)).scalar_one()) == b"# design\n"
    bad_kind = cli(
        db_url,
        "evidence",
        "add",
        key,
        "--document",
        str(doc),
        "--kind",
        "Design Doc!",
        "--by",
        "bob",
    )
    assert bad_kind.code == 2 and "--kind" in bad_kind.stderr
    both = cli(
        db_url, "evidence", "add", key, "--document", str(doc), "--junit", str(doc), "--by", "bob"
    )
    assert both.code == 2 and "exactly one" in both.stderr
    v = cli(
        db_url, "evidence", "add", key, "--validation", "tls", "--result", "maybe", "--by", "bob"
    )
    assert v.code == 2 and "--result" in v.stderr
