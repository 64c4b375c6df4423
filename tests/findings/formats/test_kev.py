"""CISA KEV catalogue: CVE -> due date, the earlier one for a CVE listed twice."""

from __future__ import annotations

import datetime as dt

import pytest

from changegate.findings.formats import FindingsFormatError
from changegate.findings.formats.kev import parse_kev
from tests.findings.formats.data import fixture


def test_catalogue() -> None:
    assert parse_kev(fixture("kev-catalogue.json")) == {
        "CVE-2021-44228": dt.date(2021, 12, 20),
        "CVE-2023-0001": dt.date(2023, 2, 22),
    }


def test_single_entry_and_refusals() -> None:
    assert parse_kev(b'{"cveID": "CVE-2025-0108", "dueDate": "2025-03-11"}') == {
        "CVE-2025-0108": dt.date(2025, 3, 11)
    }
    cases = {
        b'{"vulnerabilities": [{"cveID": "CVE-1-2", "dueDate": "soon"}]}': (
            "$.vulnerabilities[0].dueDate: expected a date YYYY-MM-DD"
        ),
        b'{"vulnerabilities": [{"cveID": "GHSA-x", "dueDate": "2025-01-01"}]}': (
            "$.vulnerabilities[0].cveID: expected a CVE id"
        ),
        b'{"title": "something else"}': "$.vulnerabilities: missing",
        b'{"vulnerabilities": [': "line 1 column 22",
    }
    for data, message in cases.items():
        with pytest.raises(FindingsFormatError) as e:
            parse_kev(data)
        assert message in e.value.message and e.value.field == "kev"
