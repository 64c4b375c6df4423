"""CISA's Known Exploited Vulnerabilities catalogue (``known_exploited_vulnerabilities.json``),
read from a file the user imports (no network at run time).

The catalogue's ``vulnerabilities[]`` are trusted over its ``count`` header (excerpts keep the
header of the full catalogue). One catalogue entry on its own (an object with ``cveID``) is
read as a catalogue of one. A CVE listed twice takes its earlier due date.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from changegate.findings.formats import reader as r


def _entry(entry: dict[str, Any], path: str) -> tuple[str, dt.date]:
    cve = r.string(entry, "cveID", path).strip().upper()
    if not cve.startswith("CVE-"):
        raise r.FindingsFormatError(f"{path}.cveID: expected a CVE id (CVE-YYYY-NNNN)")
    due = r.string(entry, "dueDate", path)
    try:
        return cve, dt.date.fromisoformat(due)
    except ValueError:
        raise r.FindingsFormatError(
            f"{path}.dueDate: expected a date YYYY-MM-DD, got {due[:40]!r}"
        ) from None


def _catalogue(doc: Any) -> dict[str, dt.date]:
    catalogue = r.as_object(doc, "$")
    if "cveID" in catalogue and "vulnerabilities" not in catalogue:
        entries, base = [catalogue], None
    else:
        base = "$.vulnerabilities"
        entries = r.as_array(r.field(catalogue, "vulnerabilities", "$"), base)
    due: dict[str, dt.date] = {}
    for i, item in enumerate(entries):
        path = f"{base}[{i}]" if base else "$"
        cve, date = _entry(r.as_object(item, path), path)
        if cve not in due or date < due[cve]:
            due[cve] = date
    return due


def parse_kev(data: bytes) -> dict[str, dt.date]:
    """CVE id -> the date by which CISA requires it remediated (``dueDate``)."""
    try:
        return _catalogue(r.load(data))
    except r.FindingsFormatError as e:
        raise r.FindingsFormatError(
            f"not a valid CISA KEV catalogue: {e.message}", field="kev"
        ) from None
