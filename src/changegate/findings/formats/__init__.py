"""Parsers of scanner output, one module per format; :func:`parse` picks one by name.

Each parser reads the JSON document with plain dict access and explicit type checks
(:mod:`.reader`), so a malformed file is refused whole with the JSON path at fault
(:class:`FindingsFormatError`), never half-read; severities are normalised in one place
(:mod:`.severity`). CISA's KEV catalogue is not a findings format: :func:`.kev.parse_kev`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from changegate.errors import InvalidInput
from changegate.findings.formats.cyclonedx_vex import parse as _cyclonedx_vex
from changegate.findings.formats.dependabot import parse as _dependabot
from changegate.findings.formats.grype import parse as _grype
from changegate.findings.formats.osv import parse as _osv
from changegate.findings.formats.reader import FindingsFormatError, load
from changegate.findings.formats.sarif import parse as _sarif
from changegate.findings.formats.trivy import parse as _trivy
from changegate.findings.parsed import FORMATS, ParsedFinding

__all__ = ["FindingsFormatError", "parse"]

_PARSERS: dict[str, Callable[[Any], list[ParsedFinding]]] = {
    "sarif": _sarif,
    "trivy": _trivy,
    "grype": _grype,
    "osv": _osv,
    "dependabot": _dependabot,
    "cyclonedx-vex": _cyclonedx_vex,
}


def parse(data: bytes, fmt: str) -> list[ParsedFinding]:
    """Every finding ``data`` (a scanner's file, as bytes) states, read as format ``fmt``.

    Raises :class:`InvalidInput` (field ``format``) for an unknown format and
    :class:`FindingsFormatError` (field ``file``) for a file that is not that format.
    """
    parser = _PARSERS.get(fmt)
    if parser is None:
        raise InvalidInput(
            f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}", field="format"
        )
    try:
        findings = parser(load(data))
    except FindingsFormatError as e:
        raise FindingsFormatError(f"not a valid {fmt} file: {e.message}") from None
    if b"\\u0000" in data:  # PostgreSQL text holds no NUL: a JSON "\u0000" becomes U+FFFD
        findings = [_without_nul(f) for f in findings]
    return findings


def _without_nul(finding: ParsedFinding) -> ParsedFinding:
    changes: dict[str, Any] = {}
    for f in dataclasses.fields(finding):
        value = getattr(finding, f.name)
        if isinstance(value, str) and "\x00" in value:
            changes[f.name] = value.replace("\x00", "\ufffd")
        elif isinstance(value, tuple) and any("\x00" in v for v in value):
            changes[f.name] = tuple(v.replace("\x00", "\ufffd") for v in value)
    return dataclasses.replace(finding, **changes) if changes else finding
