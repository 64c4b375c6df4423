"""Reading a scanner's JSON with explicit type checks that name the JSON path at fault.

Plain dict access on purpose: a 50,000-finding report is read item by item without building
a validation model per item. A path is a JSONPath-like string (``$.runs[0].results[3]``) that
each parser extends per item; a key is appended only when an error is reported.
"""

from __future__ import annotations

import json
from typing import Any, NoReturn

from changegate.errors import InvalidInput


class FindingsFormatError(InvalidInput):
    """A scanner file that cannot be read as the format it was named as; nothing is imported.

    The message names the JSON path (or, for text that is not JSON, the line and column).
    """

    def __init__(self, message: str, *, field: str = "file") -> None:
        super().__init__(message, field=field)


_TYPE_NAMES = {
    dict: "an object",
    list: "an array",
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "a boolean",
    type(None): "null",
}


def _refuse_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


def load(data: bytes) -> Any:
    """Decode ``data`` (UTF-8, an optional BOM) as strict JSON (no NaN or Infinity)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise FindingsFormatError(f"byte {e.start}: not UTF-8 text") from None
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as e:
        raise FindingsFormatError(
            f"line {e.lineno} column {e.colno}: not valid JSON ({e.msg})"
        ) from None
    except ValueError as e:  # NaN / Infinity, or an integer too long to convert
        raise FindingsFormatError(f"not valid JSON: {e}") from None
    except RecursionError:
        raise FindingsFormatError("not valid JSON: nested too deeply") from None


def key_path(path: str, key: str) -> str:
    """``$.a`` + ``b`` -> ``$.a.b``; keys that are not identifiers in brackets: ``$.a["b-c"]``."""
    if key.isidentifier():
        return f"{path}.{key}"
    return f"{path}[{json.dumps(key)}]"


def describe(value: object) -> str:
    return _TYPE_NAMES.get(type(value), type(value).__name__)


def fail(path: str, expected: str, value: object) -> NoReturn:
    raise FindingsFormatError(f"{path}: expected {expected}, got {describe(value)}")


def as_object(value: object, path: str) -> dict[str, Any]:
    if type(value) is not dict:
        fail(path, "an object", value)
    return value


def as_array(value: object, path: str) -> list[Any]:
    if type(value) is not list:
        fail(path, "an array", value)
    return value


def field(d: dict[str, Any], key: str, path: str) -> Any:
    """A required member, of any type."""
    if key not in d:
        raise FindingsFormatError(f"{key_path(path, key)}: missing")
    return d[key]


def string(d: dict[str, Any], key: str, path: str) -> str:
    """A required string member."""
    value = d.get(key)
    if type(value) is not str:
        if key not in d:
            raise FindingsFormatError(f"{key_path(path, key)}: missing (expected a string)")
        fail(key_path(path, key), "a string", value)
    return value


def opt_string(d: dict[str, Any], key: str, path: str) -> str | None:
    """An optional string member: ``None`` when absent or null."""
    value = d.get(key)
    if value is None or type(value) is str:
        return value
    fail(key_path(path, key), "a string", value)


def opt_number(d: dict[str, Any], key: str, path: str) -> float | None:
    """An optional number member (not a boolean): ``None`` when absent or null."""
    value = d.get(key)
    if value is None:
        return None
    if type(value) is int or type(value) is float:
        return float(value)
    fail(key_path(path, key), "a number", value)


def opt_object(d: dict[str, Any], key: str, path: str) -> dict[str, Any]:
    """An optional object member: ``{}`` when absent or null."""
    value = d.get(key)
    if value is None:
        return {}
    if type(value) is not dict:
        fail(key_path(path, key), "an object", value)
    return value


def opt_array(d: dict[str, Any], key: str, path: str) -> list[Any]:
    """An optional array member: ``[]`` when absent or null."""
    value = d.get(key)
    if value is None:
        return []
    if type(value) is not list:
        fail(key_path(path, key), "an array", value)
    return value


def strings(d: dict[str, Any], key: str, path: str) -> list[str]:
    """An optional array of strings: ``[]`` when absent or null."""
    values = opt_array(d, key, path)
    for i, value in enumerate(values):
        if type(value) is not str:
            fail(f"{key_path(path, key)}[{i}]", "a string", value)
    return values


def first_line(text: str | None, limit: int = 300) -> str:
    """A title from a description: its first non-blank line, at most ``limit`` characters."""
    if not text:
        return ""
    if len(text) <= limit and "\n" not in text and "\r" not in text:
        return text.strip()  # the common case, without splitting
    for line in text.splitlines():
        line = line.strip()
        if line:
            return line if len(line) <= limit else line[: limit - 1] + "…"
    return ""


def unique(values: list[str], exclude: str = "") -> tuple[str, ...]:
    """``values`` without blanks, repeats or ``exclude``, in their first order."""
    seen = {exclude, ""}
    out = []
    for value in values:
        if value not in seen:
            seen.add(value)
            out.append(value)
    return tuple(out)


def constant(d: dict[str, Any], key: str, path: str, want: object, what: str) -> None:
    """The member that says which format a document is: ``want``, or the file is refused."""
    value = field(d, key, path)
    if value != want or type(value) is not type(want):
        got = json.dumps(value) if type(value) in (str, int) and len(str(value)) < 40 else None
        raise FindingsFormatError(
            f"{key_path(path, key)}: expected {json.dumps(want)} ({what}), "
            f"got {got or describe(value)}"
        )
