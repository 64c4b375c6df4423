"""The uploaded CSV of other systems and the canonical population (pure): every malformation
is refused naming its line and column; the digest is SHA-256 of the canonical CSV."""

from __future__ import annotations

import hashlib

import pytest

from changegate.access.population import Entitlement, canonical_csv, digest, parse_csv
from changegate.errors import InvalidInput

BAD = [
    (b"name,system,entitlement\nbob,aws,x\n", "line 1, column header"),
    (b"subject,system,entitlement\nbob,aws,x,extra\n", "line 2, column 4"),
    (b"subject,system,entitlement\nbob,aws\n", "line 2, column entitlement"),
    (b"subject,system,entitlement\nbob,,x\n", "line 2, column system: empty"),
    (b"subject,system,entitlement\nbob,aws,x\nbob,aws,x\n", "line 3, column subject: duplicate"),
    (b"subject,system,entitlement\nbob,Changegate,role:admin\n", "line 2, column system"),
    (b"subject,system,entitlement\n" + b"a" * 201 + b",aws,x\n", "line 2, column subject"),
    (b"subject,system,entitlement,privileged\nbob,aws,x,maybe\n", "line 2, column privileged"),
    (b"subject,system,entitlement\nbob,aws,x\n\xff,aws,y\n", "line 3, column -: not UTF-8"),
    (b'subject,system,entitlement\nbob,aws,"x\n', "line 2, column -: malformed CSV"),
]


@pytest.mark.parametrize(("data", "where"), BAD)
def test_malformed_csv_is_refused_naming_line_and_column(data: bytes, where: str) -> None:
    with pytest.raises(InvalidInput, match="--csv " + where) as exc:
        parse_csv(data)
    assert exc.value.field == "csv" and "nothing was stored" in exc.value.message


def test_rows_and_the_privileged_column() -> None:
    data = "\ufeffsubject,system,entitlement,privileged\n carol ,aws,Admin,YES\n\nbob,aws,Read,\n"
    assert parse_csv(data.encode()) == [
        Entitlement("carol", "aws", "Admin", True),
        Entitlement("bob", "aws", "Read", False),
    ]


def test_canonical_population_and_digest() -> None:
    rows = [("zed", "aws", "a,b"), ("amy", "gh", 'say "hi"')]
    expected = b'subject,system,entitlement\namy,gh,"say ""hi"""\nzed,aws,"a,b"\n'
    assert canonical_csv(rows) == expected
    assert digest(rows) == (2, hashlib.sha256(expected).hexdigest())
