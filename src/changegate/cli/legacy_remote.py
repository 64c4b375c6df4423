"""Remote mode: with CHANGEGATE_URL and CHANGEGATE_TOKEN set, commands run against the server.

Same options, same output (``--json`` documents and human text), same exit codes as local
mode. This module imports only the standard library (and Rich, for tables, when a human reads
them): no SQLAlchemy, no FastAPI, no Pydantic, no Typer, so a pipeline's `changegate gate`
costs little more than its round trip.

``main(argv)`` returns an exit code, or ``None`` when the command runs locally instead:
``serve``, ``demo``, ``--help``, commands that have no server side (``ai``, ``scm``...), and
any command given an explicit ``--db`` or ``--policy``.
"""

from __future__ import annotations

import json
import os
import socket
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: importing typing and dataclasses costs a CI run 15 ms
    from collections.abc import Callable
    from typing import Any

JSON_DUMP: dict[str, Any] = {"indent": 2, "default": str, "ensure_ascii": False}

#: error name in the server's JSON -> exit code (local mode: ChangegateError.exit_code)
EXIT_CODES = {
    "InvalidInput": 2,
    "NotFound": 2,
    "NotInitialised": 2,
    "Unauthenticated": 2,
    "PayloadTooLarge": 2,
    "Conflict": 1,
    "PolicyDenied": 1,
    "IntegrityFailure": 1,
    "RateLimited": 1,
    "GateClosed": 1,
    "NoLinkedChange": 1,  # no change behind a commit: for the gate, a closed gate
}


class Usage(Exception):
    """Bad command line: exit 2, like Click."""


class Remote(Exception):
    def __init__(self, message: str, code: int, kind: str = "Error", field: str | None = None):
        super().__init__(message)
        self.message, self.code, self.kind, self.field = message, code, kind, field


# --- a small HTTP/1.1 client ---------------------------------------------------------------

_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~")


def quote(value: str, safe: str = "") -> str:
    """Percent-encode like urllib.parse.quote (which costs this module 6 ms to import)."""
    return "".join(
        c if c in _SAFE or c in safe else "".join(f"%{b:02X}" for b in c.encode()) for c in value
    )


def urlencode(params: dict[str, Any]) -> str:
    return "&".join(f"{quote(str(k))}={quote(str(v))}" for k, v in params.items())


class _Url:
    __slots__ = ("hostname", "netloc", "path", "port", "scheme")

    def __init__(self, url: str) -> None:
        scheme, sep, rest = url.partition("://")
        self.scheme = scheme.lower() if sep else ""
        self.netloc, slash, path = rest.partition("/")
        self.path = (slash + path).split("?", 1)[0].split("#", 1)[0]
        host, port = self.netloc.rsplit("@", 1)[-1], None
        if host.startswith("["):
            end = host.find("]")
            hostname, tail = host[1:end], host[end + 1 :]
            port = tail[1:] if tail.startswith(":") else None
        else:
            hostname, _, port = host.partition(":")
        self.hostname = hostname.lower() or None
        self.port = int(port) if port and port.isdigit() else None


def urlsplit(url: str) -> _Url:
    return _Url(url)


class Answer:
    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))


def _proxy_for(scheme: str, host: str) -> str | None:
    env = {k.lower(): v for k, v in os.environ.items() if k.lower().endswith("_proxy")}
    proxy = env.get(f"{scheme}_proxy") or env.get("all_proxy")
    if not proxy:
        return None
    for entry in env.get("no_proxy", "").split(","):
        entry = entry.strip().lstrip(".")
        if entry == "*" or (entry and (host == entry or host.endswith("." + entry))):
            return None
    return proxy


class Client:
    """Bearer-token requests to the server: a raw socket, or urllib when a proxy applies."""

    def __init__(self, url: str, token: str, timeout: float = 60.0) -> None:
        parts = urlsplit(url.rstrip("/"))
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise Remote(
                f"CHANGEGATE_URL {url!r} is not an http(s) URL, e.g. https://changegate.example.com",
                2,
                field="CHANGEGATE_URL",
            )
        self.url = url.rstrip("/")
        self.scheme = parts.scheme
        self.host = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.base = parts.path
        self.netloc = parts.netloc
        self.token = token
        self.timeout = timeout

    def request(self, method: str, path: str, body: Any = None) -> Answer:
        data = None if body is None else json.dumps(body).encode()
        headers = {
            "Host": self.netloc,
            "Authorization": f"Bearer {self.token}",
            "Accept": "application/json",
            "User-Agent": "changegate-cli",
            "Connection": "close",
        }
        if data is not None:
            headers["Content-Type"] = "application/json"
        target = self.base + path
        try:
            if _proxy_for(self.scheme, self.host):
                return self._urllib(method, target, headers, data)
            return self._socket(method, target, headers, data)
        except OSError as exc:
            reason = getattr(exc, "reason", None) or exc.strerror or type(exc).__name__
            raise Remote(
                f"cannot reach the changegate server at {self.url} ({reason}); check CHANGEGATE_URL",
                2,
                field="CHANGEGATE_URL",
            ) from None

    def _socket(
        self, method: str, target: str, headers: dict[str, str], data: bytes | None
    ) -> Answer:
        host: str | bytes = self.host
        if self.host.isascii():
            host = self.host.encode()  # skips loading the IDNA codec: a few ms per run
        sock = socket.create_connection((host, self.port), timeout=self.timeout)  # type: ignore[arg-type]
        if self.scheme == "https":
            import ssl

            sock = ssl.create_default_context().wrap_socket(sock, server_hostname=self.host)
        with sock:
            lines = [f"{method} {target} HTTP/1.1"]
            lines += [f"{k}: {v}" for k, v in headers.items()]
            lines.append(f"Content-Length: {len(data or b'')}")
            sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (data or b""))
            return _read_response(sock.makefile("rb"))

    def _urllib(
        self, method: str, target: str, headers: dict[str, str], data: bytes | None
    ) -> Answer:
        import urllib.error
        import urllib.request

        req = urllib.request.Request(
            f"{self.scheme}://{self.netloc}{target}", data=data, method=method, headers=headers
        )
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                return Answer(
                    resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read()
                )
        except urllib.error.HTTPError as err:
            return Answer(err.code, {k.lower(): v for k, v in err.headers.items()}, err.read())


def _read_response(fh: Any) -> Answer:
    status_line = fh.readline(65537).decode("latin-1")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/"):
        raise OSError(f"not an HTTP response: {status_line[:60]!r}")
    status = int(parts[1])
    headers: dict[str, str] = {}
    while True:
        line = fh.readline(65537).decode("latin-1")
        if line in ("\r\n", "\n", ""):
            break
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        chunks = []
        while True:
            size = int(fh.readline(1024).split(b";")[0].strip() or b"0", 16)
            if size == 0:
                break
            chunks.append(fh.read(size))
            fh.readline(3)
        body = b"".join(chunks)
    elif "content-length" in headers:
        body = fh.read(int(headers["content-length"]))
    else:
        body = fh.read()
    return Answer(status, headers, body)


# --- the command line ----------------------------------------------------------------------


class Spec:
    """Options of one command, as in the local CLI: name -> kind (str, int, list, flag)."""

    __slots__ = ("optional_positionals", "options", "positionals", "run")

    def __init__(
        self,
        run: Callable[[Ctx], int],
        options: dict[str, str] | None = None,
        positionals: tuple[str, ...] = (),
        optional_positionals: int = 0,
    ) -> None:
        self.run = run
        self.options = options or {}
        self.positionals = positionals
        self.optional_positionals = optional_positionals


class Ctx:
    __slots__ = ("args", "client", "json", "opts")

    def __init__(self, client: Client, opts: dict[str, Any], args: list[str], json: bool) -> None:
        self.client, self.opts, self.args, self.json = client, opts, args, json

    def opt(self, name: str, default: Any = None) -> Any:
        return self.opts.get(name, default)

    def call(self, method: str, path: str, body: Any = None, ok: tuple[int, ...] = ()) -> Any:
        answer = self.client.request(method, path, body)
        if 200 <= answer.status < 300 or answer.status in ok:
            return answer.json()
        raise _error(answer)

    def emit(self, data: Any, human: Callable[[], None] | None = None) -> None:
        if self.json:
            sys.stdout.write(json.dumps(data, **JSON_DUMP) + "\n")
        elif human is not None:
            human()


def _error(answer: Answer) -> Remote:
    try:
        body = answer.json()
        message, kind, fld = body["message"], body.get("error", "Error"), body.get("field")
    except (ValueError, KeyError, TypeError):
        text = answer.body.decode("utf-8", "replace").strip().splitlines()
        message = f"the server answered {answer.status}: {(text or [''])[0][:200]}"
        kind, fld = "Error", None
    if answer.status == 401:
        message += " (check CHANGEGATE_TOKEN)"
    default = 1 if answer.status in (403, 409, 429) else 2
    return Remote(message, EXIT_CODES.get(kind, default), kind, fld)


def _parse(spec: Spec, argv: list[str]) -> tuple[dict[str, Any], list[str], bool]:
    opts: dict[str, Any] = {}
    args: list[str] = []
    as_json = False
    i = 0
    while i < len(argv):
        a = argv[i]
        i += 1
        if a == "--":
            args.extend(argv[i:])
            break
        if not a.startswith("--") or a == "-":
            args.append(a)
            continue
        name, eq, value = a[2:].partition("=")
        if name == "json":
            as_json = True
            continue
        kind = spec.options.get(name)
        if kind is None:
            raise Usage(f"No such option: --{name}")
        if kind == "flag":
            opts[name] = True
            continue
        if not eq:
            if i >= len(argv):
                raise Usage(f"Option '--{name}' requires an argument.")
            value = argv[i]
            i += 1
        if kind == "int":
            try:
                parsed: Any = int(value)
            except ValueError:
                raise Usage(
                    f"Invalid value for '--{name}': {value!r} is not a valid integer."
                ) from None
        else:
            parsed = value
        if kind == "list":
            opts.setdefault(name, []).append(parsed)
        else:
            opts[name] = parsed
    need = len(spec.positionals) - spec.optional_positionals
    if len(args) < need:
        raise Usage(f"Missing argument '{spec.positionals[len(args)].upper()}'.")
    if len(args) > len(spec.positionals):
        raise Usage(f"Got unexpected extra argument ({args[len(spec.positionals)]})")
    return opts, args, as_json


def _require(ctx: Ctx, *names: str) -> None:
    for name in names:
        if name not in ctx.opts:
            raise Usage(f"Missing option '--{name}'.")


def _key(value: str) -> str:
    return quote(value, safe="")


# --- rendering shared with local mode --------------------------------------------------------


def _print(text: str) -> None:
    sys.stdout.write(text + "\n")


def _rows(title: str, rows: list[dict[str, Any]], columns: list[str]) -> None:
    from changegate.cli.render import show_rows

    show_rows(title, rows, columns)


# --- commands ------------------------------------------------------------------------------


def cmd_init(ctx: Ctx) -> int:
    health = ctx.call("GET", "/healthz")
    out = {
        "db": ctx.client.url,
        "schema": health["schema_revision"],
        "previous_schema": health["schema_revision"],
        "policy": health["policy"],
        "policy_digest": health["policy_digest"],
    }
    ctx.emit(
        out,
        lambda: _print(
            f"database ready at {out['db']} (schema {out['schema']}); policy {out['policy']} loaded"
        ),
    )
    return 0


def _roles_text(out: dict[str, Any]) -> str:
    from changegate.cli.legacy_changes import _roles_text as text

    return text(out)


def cmd_user_add(ctx: Ctx) -> int:
    _require(ctx, "role")
    body = {
        "name": ctx.args[0],
        "roles": ctx.opt("role"),
        "github": ctx.opt("github"),
        "by": ctx.opt("by"),
    }
    out = ctx.call("POST", "/api/users", body)  # the token's user is the acting admin
    ctx.emit(out, lambda: _print(f"added {out['name']} ({_roles_text(out)})"))
    return 0


def cmd_user_set_roles(ctx: Ctx) -> int:
    _require(ctx, "role")
    out = ctx.call(
        "PUT",
        f"/api/users/{_key(ctx.args[0])}/roles",
        {"roles": ctx.opt("role"), "by": ctx.opt("by")},
    )
    ctx.emit(out, lambda: _print(f"{out['name']}: {_roles_text(out)}"))
    return 0


def cmd_user_list(ctx: Ctx) -> int:
    rows = ctx.call("GET", "/api/users")
    ctx.emit(rows, lambda: _rows("users", rows, ["name", "roles", "github_login"]))
    return 0


def cmd_user_set_password(ctx: Ctx) -> int:
    from changegate.cli.legacy_server import _password_text, read_current_password, read_password

    body: dict[str, Any] = {}
    try:
        if ctx.opt("current"):
            body["current_password"] = read_current_password(ctx.args[0])
        body["password"] = read_password(ctx.args[0])
    except Exception as exc:  # InvalidInput from a missing or mistyped password
        raise Remote(str(exc), 2, "InvalidInput", "password") from None
    out = ctx.call("PUT", f"/api/users/{_key(ctx.args[0])}/password", body)
    ctx.emit(out, lambda: _print(_password_text(out)))
    return 0


def cmd_user_grants(ctx: Ctx) -> int:
    from changegate.cli.legacy_changes import GRANT_COLUMNS

    query = "?pending=true" if ctx.opt("pending") else ""
    rows = ctx.call("GET", f"/api/users/grants{query}")
    ctx.emit(rows, lambda: _rows("role grants", rows, GRANT_COLUMNS))
    return 0


def cmd_user_confirm_grant(ctx: Ctx) -> int:
    try:
        grant_id = int(ctx.args[0])
    except ValueError:
        raise Usage(f"Invalid value for 'ID': {ctx.args[0]!r} is not a valid integer.") from None
    _require(ctx, "by")
    out = ctx.call("POST", f"/api/users/grants/{grant_id}/confirm")
    ctx.emit(
        out,
        lambda: _print(
            f"grant {out['id']} confirmed: {out['user']} now holds {', '.join(out['roles'])}"
        ),
    )
    return 0


def _read(path: str, option: str) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError as exc:
        raise Remote(
            f"--{option} {path}: cannot read the file ({exc.strerror})", 2, "InvalidInput", option
        ) from None


def cmd_policy_check(ctx: Ctx) -> int:
    path = ctx.args[0]
    raw = _read(path, "file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        out: dict[str, Any] = {
            "file": path,
            "valid": False,
            "errors": [{"path": "document", "message": "not UTF-8 text"}],
            "policy": None,
        }
    else:
        out = ctx.call("POST", "/api/policy/check", {"text": text, "file": path})

    def human() -> None:
        if out["valid"]:
            # the rule count is not part of the JSON; ask the server's parser through the text
            _print(f"{path}: valid ({out['policy']}, {_rule_count(text)} rules)")
        else:
            for p in out["errors"]:
                sys.stderr.write(f"{path}: {p['path']}: {p['message']}\n")
            sys.stderr.write(f"{path}: {len(out['errors'])} error(s)\n")

    ctx.emit(out, human)
    return 0 if out["valid"] else 1


def _rule_count(text: str) -> int:
    import yaml

    data = yaml.safe_load(text)
    return len(data.get("rules") or []) if isinstance(data, dict) else 0


def cmd_policy_show(ctx: Ctx) -> int:
    out = ctx.call("GET", "/api/policy")

    def human() -> None:
        from changegate.policy.render import render_policy
        from changegate.policy.schema import Policy

        data = {k: v for k, v in out.items() if k not in ("digest", "source")}
        render_policy(Policy.model_validate(data))

    ctx.emit(out, human)
    return 0


TOKEN_COLUMNS = ["id", "user", "label", "status", "created_at", "expires_at", "revoked_at"]


def cmd_token_create(ctx: Ctx) -> int:
    _require(ctx, "user")
    body = {
        "user": ctx.opt("user"),
        "expires": ctx.opt("expires", "90d"),
        "label": ctx.opt("label", ""),
    }
    out = ctx.call("POST", "/api/tokens", body)

    def human() -> None:
        _print(out["token"])
        sys.stderr.write(
            f"token {out['id']} for {out['user']}, expires {out['expires_at'] or 'never'}; "
            "it is shown only now: store it as CHANGEGATE_TOKEN\n"
        )

    ctx.emit(out, human)
    return 0


def cmd_token_list(ctx: Ctx) -> int:
    query = f"?{urlencode({'user': ctx.opt('user')})}" if ctx.opt("user") else ""
    rows = ctx.call("GET", f"/api/tokens{query}")
    ctx.emit(rows, lambda: _rows("API tokens", rows, TOKEN_COLUMNS))
    return 0


def cmd_token_revoke(ctx: Ctx) -> int:
    try:
        token_id = int(ctx.args[0])
    except ValueError:
        raise Usage(f"Invalid value for 'ID': {ctx.args[0]!r} is not a valid integer.") from None
    out = ctx.call("DELETE", f"/api/tokens/{token_id}")
    ctx.emit(out, lambda: _print(f"token {out['id']} of {out['user']} revoked"))
    return 0


BY = {"by": "str"}
COMMANDS: dict[tuple[str, ...], Spec] = {
    ("init",): Spec(cmd_init),
    ("user", "add"): Spec(cmd_user_add, {"role": "list", "github": "str", **BY}, ("name",)),
    ("user", "set-roles"): Spec(cmd_user_set_roles, {"role": "list", **BY}, ("name",)),
    ("user", "list"): Spec(cmd_user_list),
    ("user", "set-password"): Spec(cmd_user_set_password, {**BY, "current": "flag"}, ("name",)),
    ("user", "grants"): Spec(cmd_user_grants, {"pending": "flag"}),
    ("user", "confirm-grant"): Spec(cmd_user_confirm_grant, dict(BY), ("id",)),
    ("policy", "check"): Spec(cmd_policy_check, {}, ("file",)),
    ("policy", "show"): Spec(cmd_policy_show),
    ("token", "create"): Spec(
        cmd_token_create, {"user": "str", "expires": "str", "label": "str", **BY}
    ),
    ("token", "list"): Spec(cmd_token_list, {"user": "str"}),
    ("token", "revoke"): Spec(cmd_token_revoke, dict(BY), ("id",)),
}


def _find(argv: list[str]) -> tuple[tuple[str, ...], list[str]] | None:
    for size in (2, 1):
        head = tuple(argv[:size])
        if head in COMMANDS:
            return head, argv[size:]
    return None


def usage_error(path: tuple[str, ...], spec: Spec, exc: Usage) -> None:
    """Write a usage error the way Click does (exit code 2 is the caller's)."""
    required = len(spec.positionals) - spec.optional_positionals
    sys.stderr.write(
        f"Usage: changegate {' '.join(path)} [OPTIONS]"
        + "".join(
            f" {p.upper()}" if i < required else f" [{p}]"  # as Click writes them
            for i, p in enumerate(spec.positionals)
        )
        + f"\nTry 'changegate {' '.join(path)} -h' for help.\n\nError: {exc}\n"
    )


def main(argv: list[str]) -> int | None:
    """Run ``argv`` against the server; ``None`` when the command must run locally."""
    if any(a in ("-h", "--help") for a in argv) or not argv:
        return None
    if any(a == "--db" or a.startswith(("--db=", "--policy")) for a in argv):
        return None  # an explicit local database or policy file: local mode
    found = _find(argv)
    if found is None:
        return None
    path, rest = found
    spec = COMMANDS[path]
    as_json = "--json" in rest
    try:
        opts, args, as_json = _parse(spec, rest)
        token = os.environ.get("CHANGEGATE_TOKEN", "").strip()
        if not token:
            raise Remote(
                "CHANGEGATE_URL is set but CHANGEGATE_TOKEN is not: create one with "
                "`changegate token create --user NAME` on the server (or unset CHANGEGATE_URL)",
                2,
                "InvalidInput",
                "CHANGEGATE_TOKEN",
            )
        timeout = float(os.environ.get("CHANGEGATE_TIMEOUT", "60"))
        client = Client(os.environ["CHANGEGATE_URL"], token, timeout)
        return spec.run(Ctx(client, opts, args, as_json))
    except Usage as exc:
        usage_error(path, spec, exc)
        return 2
    except Remote as exc:
        sys.stderr.write(f"error: {exc.message}\n")
        if as_json:
            sys.stdout.write(
                json.dumps({"error": exc.kind, "message": exc.message, "field": exc.field}) + "\n"
            )
        return exc.code
