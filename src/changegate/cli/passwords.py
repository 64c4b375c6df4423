"""Reading a password from a pipe (scripts, CI) or a terminal prompt, for `user set-password`."""

from __future__ import annotations

import sys


def _piped_line(missing: str, field: str) -> str | None:
    """The next stdin line when stdin is not a terminal (scripts, CI); None at a terminal.
    An empty line is refused with ``missing``, naming ``field``."""
    from changegate.errors import InvalidInput

    if sys.stdin.isatty():
        return None
    text = sys.stdin.readline().rstrip("\r\n")
    if not text:
        raise InvalidInput(missing, field=field)
    return text


def read_password(name: str) -> str:
    """From stdin when it is not a terminal (scripts, CI); otherwise prompted twice."""
    from changegate.errors import InvalidInput

    piped = _piped_line(
        "no password on stdin: pipe it in, e.g. `printf '%s\\n' \"$PW\" | "
        f"changegate user set-password {name}`",
        "password",
    )
    if piped is not None:
        return piped
    import getpass

    first = getpass.getpass(f"new password for {name}: ")
    if getpass.getpass("again: ") != first:
        raise InvalidInput("the two passwords differ; nothing was changed", field="password")
    return first


def read_current_password(name: str) -> str:
    """The current password, before the new one: the first stdin line, or prompted once."""
    piped = _piped_line(
        "--current: no current password on stdin: pipe the current password and the "
        "new one, one per line",
        "current_password",
    )
    if piped is not None:
        return piped
    import getpass

    return getpass.getpass(f"current password for {name}: ")
