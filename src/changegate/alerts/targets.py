"""Where alerts go: targets and their secrets from configuration (docs/alerts.md).

``CHANGEGATE_ALERT_WEBHOOK_URL`` (+ ``CHANGEGATE_ALERT_WEBHOOK_SECRET``, a Standard Webhooks
``whsec_`` secret) configures one CloudEvents webhook named ``webhook``. More targets come
from the YAML or JSON file ``CHANGEGATE_ALERT_CONFIG`` names::

    targets:
      - {name: ops, kind: webhook, url: "https://...", secret_env: OPS_WHSEC}
      - {name: chat, kind: slack, url: "https://hooks.slack.com/services/..."}
      - {name: siem, kind: json, url: "https://...", timeout_seconds: 3}

Secrets never sit in the file: ``secret_env`` names the variable that holds one.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from changegate.errors import InvalidInput

KINDS = ("webhook", "slack", "json")


@dataclass(frozen=True)
class Target:
    name: str
    kind: str
    url: str
    secret: str | None = None
    timeout_seconds: float = 5.0

    def key(self) -> bytes:
        """The HMAC key: the base64 part of the ``whsec_`` secret, decoded."""
        assert self.secret is not None
        return decode_secret(self.secret, self.name)


def decode_secret(secret: str, name: str) -> bytes:
    raw = secret.removeprefix("whsec_")
    try:
        key = base64.b64decode(raw, validate=True)
    except ValueError:
        key = b""
    if not secret.startswith("whsec_") or len(key) < 16:
        raise InvalidInput(
            f"alert target {name}: the secret must be a Standard Webhooks secret, 'whsec_' and "
            'base64 of 16 to 64 random bytes (e.g. python -c "import base64,os;'
            "print('whsec_'+base64.b64encode(os.urandom(24)).decode())\")",
            field="CHANGEGATE_ALERT_WEBHOOK_SECRET",
        )
    return key


def _target(item: Any, where: str) -> Target:
    if not isinstance(item, dict) or not {"name", "kind", "url"} <= set(item):
        raise InvalidInput(f"{where}: each target needs name, kind and url", field="targets")
    if item["kind"] not in KINDS:
        raise InvalidInput(
            f"{where}: target {item['name']}: kind must be one of {', '.join(KINDS)}",
            field="kind",
        )
    if not str(item["url"]).startswith(("http://", "https://")):
        raise InvalidInput(f"{where}: target {item['name']}: url must be http(s)", field="url")
    secret = os.environ.get(item["secret_env"]) if item.get("secret_env") else None
    try:
        timeout = float(item.get("timeout_seconds", 5.0))
    except ValueError:
        timeout = 0.0
    if not 0 < timeout <= 60:
        raise InvalidInput(
            f"{where}: target {item['name']}: timeout_seconds must be a number of seconds, "
            "above 0 and at most 60",
            field="timeout_seconds",
        )
    target = Target(str(item["name"]), str(item["kind"]), str(item["url"]), secret, timeout)
    if secret is not None:
        target.key()
    return target


def _from_file(path: Path) -> list[Target]:
    try:
        text = path.read_text()
    except OSError as exc:
        raise InvalidInput(
            f"CHANGEGATE_ALERT_CONFIG: cannot read {path}: {exc.strerror}",
            field="CHANGEGATE_ALERT_CONFIG",
        ) from exc
    import yaml

    data = yaml.safe_load(text) or {}
    items = data.get("targets", []) if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise InvalidInput(f"{path}: 'targets' must be a list", field="targets")
    return [_target(item, str(path)) for item in items]


_CACHE: dict[tuple[str, ...], list[Target]] = {}


def configured() -> list[Target]:
    """The targets this process delivers to (read once per configuration)."""
    env = os.environ
    names = (
        "CHANGEGATE_ALERT_WEBHOOK_URL",
        "CHANGEGATE_ALERT_WEBHOOK_SECRET",
        "CHANGEGATE_ALERT_WEBHOOK_TIMEOUT",
    )
    config = env.get("CHANGEGATE_ALERT_CONFIG", "")
    stamp = str(Path(config).stat().st_mtime_ns) if config and Path(config).exists() else ""
    cache_key = (*(env.get(n, "") for n in names), config, stamp)
    if cache_key not in _CACHE:
        found: list[Target] = []
        if env.get(names[0]):
            item = {"name": "webhook", "kind": "webhook", "url": env[names[0]]}
            if env.get(names[1]):
                item["secret_env"] = names[1]
            if env.get(names[2]):
                item["timeout_seconds"] = env[names[2]]
            found.append(_target(item, names[0]))
        if config:
            found.extend(_from_file(Path(config)))
        if len({t.name for t in found}) < len(found):
            raise InvalidInput("alert targets: two targets share a name", field="name")
        _CACHE.clear()
        _CACHE[cache_key] = found
    return _CACHE[cache_key]


def by_name() -> dict[str, Target]:
    return {t.name: t for t in configured()}


def describe(targets: list[Target]) -> list[dict[str, Any]]:
    return [{"name": t.name, "kind": t.kind, "signed": t.secret is not None} for t in targets]


__all__ = ["Target", "configured", "decode_secret", "describe"]
