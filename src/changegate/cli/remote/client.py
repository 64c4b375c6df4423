"""The remote backend's HTTP client: bearer-token requests to the changegate server.

Standard library only (no SQLAlchemy, FastAPI, Pydantic, Rich): a pipeline's remote
`changegate gate` costs little more than its round trip. The server's JSON errors become the
same domain errors local mode raises, so one handler (``cli.core.guard``) prints both.
"""

from __future__ import annotations

import json
import os
import socket

from changegate.errors import ChangegateError

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: importing typing costs a CI run milliseconds
    from typing import Any

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


class Remote(ChangegateError):
    """An error the server answered (or reaching it failed), under the server's error name."""

    def __init__(self, message: str, code: int, kind: str = "Error", field: str | None = None):
        super().__init__(message, field=field)
        self.exit_code, self.kind = code, kind

    def to_dict(self) -> dict[str, str | None]:
        return {"error": self.kind, "message": self.message, "field": self.field}


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


def error_of(answer: Answer) -> Remote:
    """The domain error a non-2xx answer carries."""
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


def connect(url: str) -> Client:
    """A client for CHANGEGATE_URL with CHANGEGATE_TOKEN, or the error saying what is missing."""
    token = os.environ.get("CHANGEGATE_TOKEN", "").strip()
    if not token:
        raise Remote(
            "CHANGEGATE_URL is set but CHANGEGATE_TOKEN is not: create one with "
            "`changegate token create --user NAME` on the server (or unset CHANGEGATE_URL)",
            2,
            "InvalidInput",
            "CHANGEGATE_TOKEN",
        )
    try:
        timeout = float(os.environ.get("CHANGEGATE_TIMEOUT", "60"))
    except ValueError:
        raise Remote(
            "CHANGEGATE_TIMEOUT must be a number of seconds, e.g. 60",
            2,
            "InvalidInput",
            "CHANGEGATE_TIMEOUT",
        ) from None
    return Client(url, token, timeout)


class RemoteBackend:
    """Base of every group's remote backend: JSON calls that raise the server's errors."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def call(self, method: str, path: str, body: Any = None, ok: tuple[int, ...] = ()) -> Any:
        answer = self.client.request(method, path, body)
        if 200 <= answer.status < 300 or answer.status in ok:
            return answer.json()
        raise error_of(answer)


def key(value: str) -> str:
    """A path segment (a change id, a name) percent-encoded."""
    return quote(value, safe="")
