"""``changes/CHG-N/packet.html``: one change's record, readable, from its events in the
package (requirements as evaluated at deployment, approvals, evidence with hashes,
deployments, timeline, emergency review), every value escaped as text."""

from __future__ import annotations

import html
from collections.abc import Iterable
from typing import Any


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


_HEAD = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>{title}</title>
<style>
body {{ font: 14px/1.45 system-ui, sans-serif; margin: 2rem; max-width: 70rem; }}
table {{ border-collapse: collapse; width: 100%; margin-bottom: 1.5rem; }}
th, td {{ border: 1px solid #ccc; padding: .3rem .5rem; text-align: left; vertical-align: top; }}
th {{ background: #f4f4f4; }} code {{ font-size: 12px; word-break: break-all; }}
</style>
</head>
<body>
<h1>{title}</h1>
<p>Every statement below is read from this change's audit events in <code>events.jsonl</code>
(one a line), each proven against the package's signed checkpoint by <code>verify.py</code>.</p>
"""
_CHANGE = "change_class category state author created_at submitted_at components providers "
_CHANGE += "ai_component risk rollback_plan justification commits links description"
_REVIEW = ("reviewer", "root_cause", "actions_taken", "preventive_controls", "created_at")


def _e(value: Any) -> str:
    """A value as HTML text (escaped; nothing for null)."""
    if value is None:
        return ""
    text = str(value)
    special = "&" in text or "<" in text or ">" in text or '"' in text or "'" in text
    return html.escape(text) if special else text


def _table(title: str, header: str, rows: list[list[str]], empty: str) -> str:
    """An HTML table of already escaped cells, with a line saying ``empty`` when it has none."""
    names = header.split()
    out = [f"<h2>{title}</h2>\n<table>\n<tr>" + "".join(f"<th>{n}</th>" for n in names) + "</tr>"]
    out += ["<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows]
    if not rows:
        out.append(f'<tr><td colspan="{len(names)}">{empty}</td></tr>')
    return "\n".join(out) + "\n</table>\n"


def _evidence_file(e: dict[str, Any]) -> str:
    sha = e.get("blob_sha256")
    if not sha:
        return ""
    code = f"<code>{_e(sha)}</code>"
    return (
        f'<a href="evidence/{_e(sha)}">{code}</a>'
        if e["stored"]
        else code + " (bytes not in the package)"
    )


def _sections(ctx: dict[str, Any]) -> list[str]:
    state, g_rows = ctx["state"], []
    for g in ctx["gates"]:
        result = (
            "bypass (emergency)" if g.get("bypass") else "passed" if g.get("passed") else "refused"
        )
        cells = [g.get(f) for f in ("id", "environment", "deployer")]
        cells += [result, "; ".join(g.get("unmet") or []), g.get("policy"), g.get("created_at")]
        g_rows.append([_e(c) for c in cells])
    r_rows = [
        [_e(r.get(f)) for f in ("reviewer", "roles", "verdict")]
        + [
            f"<code>{_e(r.get('content_digest'))}</code>",
            _e(r.get("comment")),
            _e(r.get("created_at")),
        ]
        for r in ctx["reviews"]
    ]
    e_rows = []
    for e in ctx["evidence"]:
        result = "" if e.get("passed") is None else "pass" if e.get("passed") else "fail"
        cells = [_e(e.get("kind")), _e(e.get("name")), result, _e(e.get("added_by"))]
        e_rows.append([*cells, _evidence_file(e), _e(e.get("created_at"))])
    d_fields = (
        "id",
        "kind",
        "environment",
        "version",
        "actor",
        "bypass",
        "gate_decision",
        "created_at",
    )
    d_rows = [
        [_e(("yes" if d.get(f) else "no") if f == "bypass" else d.get(f)) for f in d_fields]
        for d in ctx["deployments"]
    ]
    review = ctx["emergency_review"]
    emergency = (
        "<table>\n"
        + "".join(f"<tr><th>{n}</th><td>{_e(review.get(n))}</td></tr>\n" for n in _REVIEW)
        + "</table>\n"
        if review
        else "<p>none recorded</p>\n"
    )
    timeline = [
        [f'<a href="events.jsonl">{_e(ev["seq"])}</a>']
        + [_e(ev.get(f)) for f in ("ts", "actor", "action", "entity")]
        for ev in ctx["timeline"]
    ]
    return [
        _table("Change", "field value", [[n, _e(state.get(n))] for n in _CHANGE.split()], ""),
        _table(
            "Requirements as evaluated by the gate",
            "# environment deployer result unmet policy at",
            g_rows,
            "no gate decision",
        ),
        _table(
            "Approvals and rejections",
            "reviewer roles verdict content&nbsp;digest comment at",
            r_rows,
            "none",
        ),
        _table(
            "Evidence", "kind name result attached&nbsp;by file&nbsp;(SHA-256) at", e_rows, "none"
        ),
        _table(
            "Deployments",
            "# kind environment version by bypass gate&nbsp;decision at",
            d_rows,
            "none",
        ),
        "<h2>Emergency review</h2>\n" + emergency,
        _table("Timeline", "seq time actor action entity", timeline, "none"),
    ]


def render_packet(context: dict[str, Any]) -> bytes:
    """The packet's HTML: every value escaped as text."""
    title = _e(f"{context['key']}: {context['state'].get('title', '')}")
    page = _HEAD.format(title=title) + "\n".join(_sections(context)) + "</body>\n</html>\n"
    return page.encode("utf-8")
