"""The rows of an auditor evidence package, derived from the audit events' stored bytes.

Pure, standard library only: changegate writes population.csv, deployments.csv and
exceptions.csv with :func:`derive`, and the package's ``verify.py`` (beside this file in every
package, copied verbatim like it) recomputes them with the same function and compares them
cell by cell. Read this file to know what each column means.

- population: every change with an event in the period window, as its events up to the end of
  the window leave it (the events of the window and every earlier event of the same change);
- deployments: every deployment (changegate's, and GitHub's whether or not a change covers it)
  with an event in the window;
- exceptions: gate refusals, emergency bypasses, deployments on approvals of other content,
  retrospective reviews overdue or missing at the end of the period, deployments outside the
  gate (GitHub deployments with no passing gate behind them).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import random
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

SAMPLE_METHOD = (
    "random.Random(seed).sample(population ids sorted by change number, size) (Python's "
    "Mersenne Twister); the sample is those ids sorted by change number"
)


# -- rows -----------------------------------------------------------------------


def change_of(event: Mapping[str, Any]) -> str | None:
    """The change an event is about: its own key for ``change:KEY``, else its state's change."""
    state = event.get("after") or event.get("before")
    if not state or not isinstance(state, dict):
        return None
    entity = str(event.get("entity", ""))
    if entity.startswith("change:"):
        return entity[7:]
    value = state.get("change")
    return value if isinstance(value, str) else None


def _number(key: str) -> int:
    return int(key.split("-")[1]) if key.startswith("CHG-") and key[4:].isdigit() else 0


def cell(value: Any) -> str:
    """A CSV cell: text; one that a spreadsheet would run as a formula starts with a quote."""
    if type(value) is str:
        text = value
    elif value is None:
        return ""
    elif value is True or value is False:
        return "yes" if value else "no"
    else:
        text = str(value)
    return "'" + text if text and text[0] in "=+-@\t\r" else text


#: characters whose UTF-16 order (RFC 8785's key order) may differ from their code point order
_UTF16_ORDER = re.compile("[\ue000-\U0010ffff]")


def _jcs(value: Any) -> str:
    """RFC 8785 text of JSON made of strings, integers, booleans, null, lists and objects:
    ``json.dumps`` sorting keys by code point, which is RFC 8785's UTF-16 order unless a key
    holds a character from U+E000 up; then key by key."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return text if _UTF16_ORDER.search(text) is None else _jcs_keys(value)


def _jcs_keys(value: Any) -> str:
    if isinstance(value, dict):
        keys = sorted(value, key=lambda k: k.encode("utf-16-be"))
        return "{" + ",".join(f"{_jcs_keys(k)}:{_jcs_keys(value[k])}" for k in keys) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_jcs_keys(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def content_digest(change: Mapping[str, Any], fields: Sequence[str]) -> str:
    """The digest approvals bind to: SHA-256 of the canonical JSON of the content fields."""
    return hashlib.sha256(_jcs({f: change.get(f) for f in fields}).encode()).hexdigest()


def _columns(names: str) -> list[str]:
    return names.split()


POPULATION = _columns(
    "id title class category ai_component security_impacting high_risk risk rollback_plan "
    "author created_at submitted_at approved_at approvers approvals_match_deployed "
    "author_not_approver deployer_not_approver tests validations commits pull_requests "
    "gate_decision deployer deployed_at environment version emergency_bypass justification "
    "retrospective_due retrospective_done rolled_back exceptions state first_seq last_seq"
)
DEPLOYMENTS = _columns(
    "source id change environment version kind actor gate_decision gate_passed bypass "
    "covered_by_change state violation created_at first_seq last_seq"
)
EXCEPTIONS = _columns("kind change subject detected_at seq detail resolution resolved_at")


def _history(
    events: Iterable[dict[str, Any]], params: Mapping[str, Any], first: int, last: int
) -> dict[str, Any]:
    """Per change and per deployment, the states the events give (seq <= last)."""
    changes: dict[str, dict[str, Any]] = {}
    deploys: dict[str, dict[str, Any]] = {}
    in_window: set[str] = set()
    for ev in events:
        seq, key = ev["seq"], change_of(ev)
        if seq > last:
            continue
        if key is not None:
            c = changes.setdefault(
                key,
                {
                    "reviews": {},
                    "evidence": [],
                    "gates": [],
                    "deploys": [],
                    "prs": {},
                    "first": seq,
                    "fields": params["content_fields"],
                },
            )
            _apply(c, ev)
            if seq >= first:
                in_window.add(key)
        action = ev["action"]
        if action.startswith(("deployment.", "github.deployment")):
            d = deploys.setdefault(ev["entity"], {"first": seq, "in": False})
            d.update(after=ev.get("after") or {}, last=seq, action=action, ts=ev["ts"])
            d["in"] = d["in"] or seq >= first
    return {"changes": changes, "deploys": deploys, "population": in_window}


def _apply(c: dict[str, Any], ev: dict[str, Any]) -> None:
    action, after, seq = ev["action"], ev.get("after") or {}, ev["seq"]
    c["last"] = seq
    if ev["entity"].startswith("change:") and after:
        c["state"] = after
        if after.get("state") == "approved" and "approved_at" not in c:
            c["approved_at"] = ev["ts"]
    elif action.startswith("review."):
        c["reviews"][after.get("id")] = after
    elif action == "evidence.added":
        c["evidence"].append(after)
    elif action == "gate.evaluated":
        c["gates"].append({**after, "seq": seq, "ts": ev["ts"]})
    elif action.startswith("deployment."):
        c["deploys"].append(
            {
                **after,
                "seq": seq,
                "ts": ev["ts"],
                "digest": content_digest(c.get("state", {}), c["fields"]),
                "approvals": _approvals(c),
            }
        )
    elif action == "emergency.reviewed":
        c["review"] = {**after, "ts": ev["ts"]}
    elif action == "github.pull_request":
        c["prs"][after.get("id")] = after.get("html_url", "")


def _approvals(c: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [r for r in c["reviews"].values() if r.get("verdict") == "approve"]


def _levels(risk: Any) -> dict[str, str]:
    return {k: str((v or {}).get("level", "")) for k, v in (risk or {}).items()}


def _at_least(params: Mapping[str, Any], level: str, threshold: str) -> bool:
    order = params["risk_levels"]
    return level in order and threshold in order and order.index(level) >= order.index(threshold)


def _flags(state: Mapping[str, Any], params: Mapping[str, Any]) -> tuple[bool, bool]:
    """Whether a change is security-impacting and whether it is high risk, by the policy's
    parameters in the manifest (the same rules the policy engine applies)."""
    levels, si = _levels(state.get("risk")), params["security_impacting"]
    security = bool(state.get("security_flag")) or any(
        _at_least(params, levels.get(d, ""), t) for d, t in si["risk_at_least"].items()
    )
    security = security or bool(set(state.get("components") or []) & set(si["components"]))
    security = security or state.get("category") in si["categories"]
    high = any(_at_least(params, lv, params["high_risk_at_least"]) for lv in levels.values())
    return security, high


def _hours_after(ts: str, hours: float) -> str:
    when = dt.datetime.fromisoformat(ts.replace("Z", "+00:00")) + dt.timedelta(hours=hours)
    return when.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _exceptions(
    key: str, c: Mapping[str, Any], params: Mapping[str, Any], first: int, period_end: str
) -> list[list[str]]:
    """The deviations one change shows in the window."""
    out: list[tuple[Any, ...]] = []
    review, state = c.get("review"), c.get("state") or {}
    by = (f"reviewed by {review.get('reviewer')}", review["ts"]) if review else ("open", "")
    for g in (g for g in c["gates"] if g["seq"] >= first):
        where, env = (key, f"gate_decision:{g.get('id')}", g["ts"], g["seq"]), g.get("environment")
        if not g.get("passed"):
            ok = [
                x
                for x in c["gates"]
                if x["seq"] > g["seq"] and x.get("passed") and x.get("environment") == env
            ]
            fix = (f"gate passed (#{ok[0]['seq']})", ok[0]["ts"]) if ok else ("open", "")
            out.append(("gate-refused", *where, "; ".join(g.get("unmet") or []), *fix))
        if g.get("bypass"):
            out.append(("emergency-bypass", *where, state.get("justification"), *by))
    for d in (d for d in c["deploys"] if d["seq"] >= first and d.get("kind") == "deploy"):
        approvals = d["approvals"]
        stale = sorted(a["reviewer"] for a in approvals if a["content_digest"] != d["digest"])
        if stale:
            fresh = "current approvals also present" if len(approvals) > len(stale) else "open"
            at = (key, f"deployment:{d.get('id')}", d["ts"], d["seq"])
            detail = "approved other content: " + ", ".join(stale)
            out.append(("stale-approval-at-deployment", *at, detail, fresh, ""))
    hours = params["retrospective_due_hours"].get(state.get("change_class"))
    bypass = next((d for d in c["deploys"] if d.get("bypass") and d["seq"] >= first), None)
    if hours is not None and bypass is not None:
        due = _hours_after(bypass["ts"], hours)
        late = (key, f"change:{key}", due, bypass["seq"], f"due {due}")
        if review is not None and review["ts"] > due:
            out.append(("retrospective-review-overdue", *late, *by))
        elif review is None and due < period_end:
            out.append(("retrospective-review-missing", *late, "open", ""))
    return [[cell(v) for v in row] for row in out]


def _text(value: Any) -> str:
    """A list as comma-separated text; text as it is."""
    return ",".join(value) if isinstance(value, list) else str(value or "")


def _joined(values: Iterable[str]) -> str:
    return ";".join(sorted(values))


def _population_row(
    key: str, c: Mapping[str, Any], params: Mapping[str, Any], exceptions: int
) -> list[str]:
    s = c.get("state") or {}
    approvals = _approvals(c)
    approvers = {a.get("reviewer", "") for a in approvals}
    deploys = [d for d in c["deploys"] if d.get("kind") == "deploy"]
    last = deploys[-1] if deploys else {"approvals": []}
    gate = next((g for g in c["gates"] if g.get("id") == last.get("gate_decision")), None)
    junit = [e.get("passed") for e in c["evidence"] if e.get("kind") == "junit"]
    hours = params["retrospective_due_hours"].get(s.get("change_class"))
    bypass = next((d for d in deploys if d.get("bypass")), None)
    roles = (f"{a.get('reviewer')}({_text(a.get('roles'))})" for a in approvals)
    match = (
        f"{a['reviewer']}={cell(a['content_digest'] == last['digest'])}" for a in last["approvals"]
    )
    checks = (
        f"{e.get('name')}={'pass' if e.get('passed') else 'fail'}"
        for e in c["evidence"]
        if e.get("kind") == "validation"
    )
    row = [key, *(s.get(f) for f in ("title", "change_class", "category", "ai_component"))]
    row += [*_flags(s, params), ";".join(f"{k}={v}" for k, v in sorted(_levels(s["risk"]).items()))]
    row += [bool((s.get("rollback_plan") or "").strip()), s.get("author"), s.get("created_at")]
    row += [s.get("submitted_at"), c.get("approved_at"), _joined(roles), _joined(match)]
    row += [
        s.get("author") not in approvers,
        last.get("actor", "") not in approvers if deploys else None,
        "" if not junit else ("passed" if junit[-1] else "failed"),
    ]
    row += [";".join(checks), ";".join(s.get("commits") or []), _joined(c["prs"].values())]
    row += [
        ""
        if gate is None
        else "bypass"
        if gate.get("bypass")
        else "passed"
        if gate.get("passed")
        else "refused"
    ]
    row += [last.get(f) for f in ("actor", "created_at", "environment", "version")]
    due = _hours_after(bypass["ts"], hours) if bypass is not None and hours is not None else ""
    review = (c.get("review") or {}).get("ts")
    rolled_back = any(d.get("kind") == "rollback" for d in c["deploys"])
    row += [bypass is not None, s.get("justification"), due, review, rolled_back, exceptions]
    row += [s.get("state"), c["first"], c["last"]]
    return [cell(v) for v in row]


def _deployment_row(entity: str, d: Mapping[str, Any]) -> list[str]:
    a = d["after"]
    common = [entity.partition(":")[2], a.get("change"), a.get("environment")]
    if d["action"].startswith("github."):
        own = ["github", *common, a.get("sha"), "deploy", a.get("creator_login")]
        own += [a.get("deployment"), a.get("gate_passed"), "", a.get("state")]
    else:
        own = ["changegate", *common, a.get("version"), a.get("kind"), a.get("actor")]
        own += [a.get("gate_decision"), "", a.get("bypass"), ""]
    own.insert(10, a.get("change") is not None)
    row = [*own, a.get("violation"), a.get("created_at"), d["first"], d["last"]]
    return [cell(v) for v in row]


def derive(
    events: Iterable[dict[str, Any]], manifest: Mapping[str, Any]
) -> dict[str, list[list[str]]]:
    """The rows of population.csv, deployments.csv and exceptions.csv (headers first) from the
    events in seq order: the changes and deployments with an event in the window
    ``[first_seq, last_seq]``, as those events and every earlier one given leave them."""
    params, window = manifest["parameters"], manifest["window"]
    first, last = window["first_seq"], window["last_seq"]
    h = _history(events, params, first, last)
    population: list[list[str]] = [POPULATION]
    exceptions: list[list[str]] = [EXCEPTIONS]
    for key in sorted(h["population"], key=_number):
        found = _exceptions(key, h["changes"][key], params, first, manifest["period"]["to_ts"])
        exceptions += found
        population.append(_population_row(key, h["changes"][key], params, len(found)))
    deployments: list[list[str]] = [DEPLOYMENTS]
    for entity, d in h["deploys"].items():
        if d["in"]:
            deployments.append(_deployment_row(entity, d))
            if d["action"] == "github.deployment_violation" and d["last"] >= first:
                a = d["after"]
                row = ("deployment-outside-gate", a.get("change"), entity, d["ts"], d["last"])
                exceptions.append([cell(v) for v in (*row, a.get("violation"), "open", "")])
    return {
        "population.csv": population,
        "deployments.csv": deployments,
        "exceptions.csv": exceptions,
    }


def csv_bytes(rows: Iterable[Sequence[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode("utf-8")


#: what the manifest binds into the package's checkpoint (an extension line of its body)
BOUND = ("format", "period", "window", "parameters", "selection", "tree_size")


def binding(manifest: Mapping[str, Any]) -> str:
    """The checkpoint extension line that binds what the rows are derived with: SHA-256 of the
    manifest's :data:`BOUND` members as sorted, compact JSON."""
    bound = {k: manifest.get(k) for k in BOUND}
    text = json.dumps(bound, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "changegate-package sha256:" + hashlib.sha256(text.encode()).hexdigest()


def sample(population: Sequence[str], size: int, seed: str) -> list[str]:
    """The reproducible sample: see :data:`SAMPLE_METHOD`."""
    ids = sorted(population, key=_number)
    return sorted(random.Random(seed).sample(ids, min(size, len(ids))), key=_number)
