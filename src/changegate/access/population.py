"""The population of an access review as plain rows: reading the uploaded CSV of other systems,
and the canonical CSV whose SHA-256 the open event records (pure: no database).

The canonical population is ``subject,system,entitlement`` with a header, one row per
entitlement, sorted, written by :mod:`csv` with ``\\n`` line ends and UTF-8: exactly the
``before.csv`` that ``changegate access export`` writes, so an auditor checks completeness with
``sha256sum before.csv`` against the open event.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from changegate.errors import InvalidInput

if TYPE_CHECKING:
    from _csv import _reader

#: the system name of changegate's own users, roles and tokens (never taken from a CSV)
CHANGEGATE = "changegate"
HEADER = ("subject", "system", "entitlement")
_LIMITS = {"subject": 200, "system": 100, "entitlement": 200}
_TRUE = {"yes", "true", "1"}
_FALSE = {"no", "false", "0", ""}


@dataclass(frozen=True, order=True)
class Entitlement:
    subject: str
    system: str
    entitlement: str
    privileged: bool = False

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.subject, self.system, self.entitlement)


def _bad(line: int, column: str, why: str) -> InvalidInput:
    return InvalidInput(
        f"--csv line {line}, column {column}: {why}; nothing was stored", field="csv"
    )


def parse_csv(data: bytes) -> list[Entitlement]:
    """Rows of ``subject,system,entitlement[,privileged]`` (a header first). Refuses, naming the
    line and the column, anything malformed: bad UTF-8, a missing or extra column, an empty
    or over-long value, a duplicate row, or rows of changegate itself (read from its database)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise _bad(line, "-", "not UTF-8 text") from None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        return _rows(reader)
    except csv.Error as exc:
        raise _bad(reader.line_num, "-", f"malformed CSV ({exc})") from None


def _rows(reader: _reader) -> list[Entitlement]:
    header = next(reader, None)
    names = [h.strip().lower() for h in header or []]
    if tuple(names[:3]) != HEADER or names[3:] not in ([], ["privileged"]):
        raise _bad(1, "header", "expected subject,system,entitlement[,privileged]")
    rows: list[Entitlement] = []
    seen: dict[tuple[str, str, str], int] = {}
    for fields in reader:
        line = reader.line_num
        if not any(f.strip() for f in fields):
            continue
        if len(fields) != len(names):
            column = names[len(fields)] if len(fields) < len(names) else str(len(fields))
            raise _bad(line, column, f"expected {len(names)} columns, found {len(fields)}")
        row = _row(line, names, [f.strip() for f in fields])
        if row.key in seen:
            raise _bad(line, "subject", f"duplicate of line {seen[row.key]}")
        seen[row.key] = line
        rows.append(row)
    return rows


def _row(line: int, names: list[str], values: list[str]) -> Entitlement:
    for name, value in zip(names[:3], values, strict=False):
        if not value:
            raise _bad(line, name, "empty")
        if len(value) > _LIMITS[name]:
            raise _bad(line, name, f"longer than {_LIMITS[name]} characters")
        if not value.isprintable():
            raise _bad(line, name, "control characters")
    if values[1].lower() == CHANGEGATE:
        raise _bad(line, "system", f"{CHANGEGATE}'s own access is read from its database")
    privileged = False
    if len(values) == 4:
        flag = values[3].lower()
        if flag not in _TRUE | _FALSE:
            raise _bad(line, "privileged", "use yes or no")
        privileged = flag in _TRUE
    return Entitlement(values[0], values[1], values[2], privileged)


def canonical_csv(rows: Iterable[tuple[str, str, str]]) -> bytes:
    """The population as canonical CSV (sorted, header first, ``\\n`` line ends, UTF-8)."""
    return table_csv(list(HEADER), sorted(rows))


def table_csv(header: list[str], rows: Iterable[Iterable[object]]) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(["" if v is None else v for v in row] for row in rows)
    return out.getvalue().encode("utf-8")


def digest(rows: Iterable[tuple[str, str, str]]) -> tuple[int, str]:
    """(row count, SHA-256 of :func:`canonical_csv`)."""
    rows = list(rows)
    return len(rows), hashlib.sha256(canonical_csv(rows)).hexdigest()
