"""``changes/CHG-N/packet.html``: one change's record, readable, from its events in the
package (requirements as evaluated at deployment, approvals, evidence with hashes,
deployments, timeline, emergency review). Jinja2 with autoescape: every value is text."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent


def packet_context(key: str, events: Iterable[dict[str, Any]], stored: set[str]) -> dict[str, Any]:
    """What the packet shows, from the change's events in seq order; ``stored``: the evidence
    blobs (SHA-256) the package holds."""
    ctx: dict[str, Any] = {"key": key, "state": {}, "reviews": {}, "evidence": [], "gates": []}
    ctx |= {"deployments": [], "emergency_review": None, "timeline": []}
    for ev in events:
        after, action = ev.get("after") or {}, ev["action"]
        ctx["timeline"].append(ev)
        if ev["entity"].startswith("change:") and after:
            ctx["state"] = after
        elif action.startswith("review."):
            ctx["reviews"][after.get("id")] = after
        elif action == "evidence.added":
            sha = after.get("blob_sha256")
            ctx["evidence"].append({**after, "stored": sha in stored if sha else False})
        elif action == "gate.evaluated":
            ctx["gates"].append(after)
        elif action.startswith("deployment."):
            ctx["deployments"].append(after)
        elif action == "emergency.reviewed":
            ctx["emergency_review"] = after
    ctx["reviews"] = list(ctx["reviews"].values())
    return ctx


@functools.cache
def _template() -> Any:
    """The packet template, compiled once per process."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(default=True),
        undefined=StrictUndefined,
    )
    return env.get_template("packet.html")


def render_packet(context: dict[str, Any]) -> bytes:
    html: str = _template().render(**context)
    return html.encode("utf-8")
