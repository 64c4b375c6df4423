"""Reading a password from a pipe (scripts, CI) or a terminal prompt, for `user set-password`."""

from __future__ import annotations

import sys


def read_password(name: str) -> str:
    """From stdin when it is not a terminal (scripts, CI); otherwise prompted twice."""
    from changegate.errors import InvalidInput

    if not sys.stdin.isatty():
        text = sys.stdin.readline().rstrip("\r\n")
        if not text:
            raise InvalidInput(
                "no password on stdin: pipe it in, e.g. `printf '%s\\n' \"$PW\" | "
                f"changegate user set-password {name}`",
                field="password",
            )
        return text
    import getpass

    first = getpass.getpass(f"new password for {name}: ")
    if getpass.getpass("again: ") != first:
        raise InvalidInput("the two passwords differ; nothing was changed", field="password")
    return first


def read_current_password(name: str) -> str:
    """The current password, before the new one: the first stdin line, or prompted once."""
    from changegate.errors import InvalidInput

    if not sys.stdin.isatty():
        text = sys.stdin.readline().rstrip("\r\n")
        if not text:
            raise InvalidInput(
                "--current: no current password on stdin: pipe the current password and the "
                "new one, one per line",
                field="current_password",
            )
        return text
    import getpass

    return getpass.getpass(f"current password for {name}: ")
