"""The auditor evidence package of a period (issue 13 §2): its population, deployments,
exceptions and control matrix, a reproducible sample, and the signed zip an auditor verifies
offline with the ``verify.py`` inside it.

The rows come from the events' stored bytes through :mod:`.rows` (pure, standard library), the
functions the package's verifier runs again; this module selects the events, proves them
against a checkpoint signed for the package, and writes the files.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from changegate.audit import merkle, tree
from changegate.audit.package import rows
from changegate.errors import InvalidInput
from changegate.policy.schema import Policy

HERE = Path(__file__).parent
#: the verifier's own files, copied into every package verbatim
VERIFIER_FILES = ("verify.py", "rows.py", "inclusion.py")
CONTROLS = "rule section description soc2 iso27001 enforcement applies_to population "
CONTROLS += "exceptions result"


@dataclass(frozen=True)
class Period:
    date_from: dt.date
    date_to: dt.date

    @property
    def from_ts(self) -> str:
        return f"{self.date_from.isoformat()}T00:00:00Z"

    @property
    def to_ts(self) -> str:
        """The first instant after the period (its last day is included)."""
        return f"{(self.date_to + dt.timedelta(days=1)).isoformat()}T00:00:00Z"

    def to_dict(self) -> dict[str, str]:
        return {
            "from": self.date_from.isoformat(),
            "to": self.date_to.isoformat(),
            "from_ts": self.from_ts,
            "to_ts": self.to_ts,
        }


def period(date_from: str, date_to: str) -> Period:
    """The audit period from two dates (YYYY-MM-DD, UTC, both days included)."""
    dates = []
    for name, value in (("from", date_from), ("to", date_to)):
        try:
            dates.append(dt.date.fromisoformat(value))
        except (TypeError, ValueError):
            raise InvalidInput(
                f"--{name} {value!r}: give a date as YYYY-MM-DD (UTC), e.g. 2026-01-01",
                field=name,
            ) from None
    if dates[1] < dates[0]:
        raise InvalidInput(f"--to {date_to} is before --from {date_from}", field="to")
    return Period(dates[0], dates[1])


def parameters(policy: Policy) -> dict[str, Any]:
    """The policy's values the rows depend on, written into the manifest for the verifier."""
    from changegate.changes.models import CONTENT_FIELDS

    si = policy.security_impacting
    return {
        "content_fields": list(CONTENT_FIELDS),
        "risk_levels": list(policy.risk.levels),
        "high_risk_at_least": policy.risk.high_risk.any_dimension_at_least,
        "security_impacting": {
            "risk_at_least": dict(si.risk_at_least),
            "components": list(si.components),
            "categories": list(si.categories),
        },
        "retrospective_due_hours": {
            name: spec.retrospective_review.due_within_hours
            for name, spec in policy.classes.items()
            if spec.retrospective_review is not None
        },
    }


@dataclass
class Selected:
    """The events a period's rows are derived from, and the log they are proven in."""

    period: Period
    size: int
    first: int
    last: int
    #: seq -> (folder, stored bytes, parsed event) of every event in the package
    events: dict[int, tuple[str, bytes, dict[str, Any]]] = field(default_factory=dict)
    leaves: list[bytes] = field(default_factory=list)

    def manifest_window(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "parameters": params,
            "period": self.period.to_dict(),
            "window": {"first_seq": self.first, "last_seq": self.last},
            "tree_size": self.size,
        }

    def parsed(self) -> Iterator[dict[str, Any]]:
        return (self.events[s][2] for s in sorted(self.events))


def _ts(data: bytes) -> str:
    """An event's own time, read from the end of its canonical bytes (``..."ts":"T"}``)."""
    return data[data.rindex(b'"ts":"') + 6 : -2].decode()


def select_events(session: Session, p: Period, size: int) -> Selected:
    """The events of the period window (every event between the first and the last stamped
    in the period), every earlier event of the entities and changes they name, and the two
    events just outside the window."""
    from changegate.audit.models import AuditEvent

    cols = (AuditEvent.seq, AuditEvent.data, AuditEvent.leaf_hash)
    keys = (AuditEvent.entity_key, AuditEvent.change_key)
    log = session.execute(select(*cols, *keys).where(AuditEvent.seq <= size).order_by("seq"))
    all_rows = [(bytes(d), bytes(h), e, c) for _, d, h, e, c in log]
    stamps = [_ts(d) for d, *_ in all_rows]
    first = next((i + 1 for i, t in enumerate(stamps) if t >= p.from_ts), size + 1)
    last = max((i + 1 for i, t in enumerate(stamps) if t < p.to_ts), default=0)
    last = max(last, first - 1)
    sel = Selected(p, size, first, last, leaves=[h for _, h, _, _ in all_rows])
    window = all_rows[first - 1 : last]
    changes = {c for *_, c in window if c is not None}
    entities = {e for *_, e, _ in window}
    entities |= {e for _, _, e, c in all_rows[: first - 1] if c in changes}
    chosen = [
        (seq, f"changes/{change}" if change else "log", data)
        for seq, (data, _, entity, change) in enumerate(all_rows[:last], start=1)
        if seq >= first or entity in entities
    ]
    taken = {seq for seq, _, _ in chosen}
    chosen += [
        (seq, "log/boundary", all_rows[seq - 1][0])
        for seq in (first - 1, last + 1)
        if 1 <= seq <= size and seq not in taken
    ]
    for (seq, folder, data), ev in zip(chosen, _parse_all(chosen), strict=True):
        sel.events[seq] = (folder, data, ev)
    return sel


def _parse_all(chosen: list[tuple[int, str, bytes]]) -> list[Any]:
    """The events' bytes parsed as one JSON array (one call into the C parser instead of one
    per event: a third of the time on 100,000 events), each checked to be the event of its own
    seq; any doubt (bytes that are not one whole object each) and they are parsed one by one."""
    try:
        parsed = json.loads(b"[" + b",".join(data for _, _, data in chosen) + b"]")
    except ValueError:
        parsed = None
    if (
        parsed is None
        or len(parsed) != len(chosen)
        or any(
            type(ev) is not dict or ev.get("seq") != seq
            for (seq, _, _), ev in zip(chosen, parsed, strict=True)
        )
    ):
        return [json.loads(data) for _, _, data in chosen]
    return list(parsed)


def derived(session: Session, policy: Policy, p: Period) -> dict[str, list[list[str]]]:
    """The rows (headers first) of population.csv, deployments.csv and exceptions.csv for the
    period, over the whole log as it stands."""
    sel = select_events(session, p, tree.head_size(session))
    return rows.derive(sel.parsed(), sel.manifest_window(parameters(policy)))


def as_dicts(table: list[list[str]]) -> list[dict[str, str]]:
    """Rows with their header's names (the API's and the web pages' shape)."""
    return [dict(zip(table[0], row, strict=True)) for row in table[1:]]


def population(session: Session, policy: Policy, p: Period) -> list[dict[str, str]]:
    return as_dicts(derived(session, policy, p)["population.csv"])


def exceptions(session: Session, policy: Policy, p: Period) -> list[dict[str, str]]:
    return as_dicts(derived(session, policy, p)["exceptions.csv"])


def controls(
    policy: Policy, table: Mapping[str, list[list[str]]], states: Mapping[str, dict[str, Any]]
) -> list[list[str]]:
    """controls.csv: each rule (and each section the policy's ``controls`` maps) with its
    SOC 2 and ISO 27001 controls, how it is enforced, how many changes of the population it
    applies to, and the exceptions found against it."""
    from changegate.audit.package.matrix import applies_count, facts_of, rule_exceptions

    out = [CONTROLS.split()]
    mapped = policy.controls.rules
    entries = [(r.id, r.section, r.description) for r in policy.rules]
    sections = [k for k in mapped if not any(r.id == k for r in policy.rules)]
    entries += [(k, getattr(getattr(policy, k, None), "section", ""), k) for k in sections]
    seen: set[str] = set()
    facts = facts_of(policy, states)
    for rule_id, section, description in entries:
        if rule_id in seen:
            continue
        seen.add(rule_id)
        control = mapped.get(rule_id)
        applies, count = applies_count(policy, rule_id, facts)
        found = rule_exceptions(policy, rule_id, table["exceptions.csv"])
        result = "no exceptions" if not found else f"{found} exception(s)"
        soc2 = ";".join(control.soc2) if control else ""
        iso = ";".join(control.iso27001) if control else ""
        how = control.enforcement if control else "not mapped in the policy's controls"
        row = [rule_id, section, description, soc2, iso, how, applies, count, found, result]
        out.append([rows.cell(v) for v in row])
    return out


def sample_of(ids: list[str], size: int, seed: str) -> dict[str, Any]:
    if size < 1:
        raise InvalidInput(f"--size {size}: give a sample size of 1 or more", field="size")
    return {
        "kind": "sample",
        "seed": seed,
        "size": size,
        "method": rows.SAMPLE_METHOD,
        "changes": rows.sample(ids, size, seed),
    }


class _Tree(Mapping[merkle.Subtree, bytes]):
    """The complete-subtree hashes of the first ``size`` leaves, computed once in memory."""

    def __init__(self, leaves: list[bytes]) -> None:
        self.layers = [leaves, *merkle.levels(leaves)]

    def __getitem__(self, key: merkle.Subtree) -> bytes:
        return self.layers[key[0]][key[1]]

    def __iter__(self) -> Iterator[merkle.Subtree]:
        return ((lv, i) for lv, layer in enumerate(self.layers) for i in range(len(layer)))

    def __len__(self) -> int:
        return sum(len(layer) for layer in self.layers)


def proofs(sel: Selected) -> dict[str, bytes]:
    """``proofs.json`` of each folder: every event's RFC 9162 inclusion proof at the size,
    walked as verify.py walks it (§2.1.3.2): the left sibling at each step is a complete
    subtree, read from the levels computed once; a right sibling is one unless it is on the
    tree's right edge (a few, each hashed once)."""
    hashes, size = _Tree(sel.leaves), sel.size
    layers, memo = hashes.layers, dict[int, str]()

    def sibling(k: int, pos: int) -> str:
        h = memo.get(pos << 6 | k)
        if h is None:
            lo, hi = pos << k, min((pos + 1) << k, size)
            full = hi - lo == 1 << k
            h = (layers[k][pos] if full else merkle.range_hash(lo, hi, hashes)).hex()
            memo[pos << 6 | k] = h
        return h

    folders: dict[str, dict[str, list[str]]] = {}
    above: dict[int, list[str]] = {}  # node (position, level) -> the proof from it up
    for seq, (folder, _, _) in sorted(sel.events.items()):
        fn, sn, k, path, trail = seq - 1, size - 1, 0, [], []
        while sn:
            rest = above.get(fn << 6 | k)
            if rest is not None:
                path += rest
                break
            trail.append((fn << 6 | k, len(path)))
            if fn & 1 or fn == sn:
                while not fn & 1:
                    fn, sn, k = fn >> 1, sn >> 1, k + 1
                path.append(sibling(k, fn - 1))
            else:
                path.append(sibling(k, fn + 1))
            fn, sn, k = fn >> 1, sn >> 1, k + 1
        for key, at in trail:
            above[key] = path[at:]
        folders.setdefault(folder.removesuffix("/boundary"), {})[str(seq)] = path
    return {f"{folder}/proofs.json": _proofs_json(size, e) for folder, e in folders.items()}


def _proofs_json(size: int, proofs: dict[str, list[str]]) -> bytes:
    """``{"tree_size":N,"proofs":{"SEQ":["HEX",...],...}}`` as ``json.dumps`` writes it compact,
    joined directly (the numbers and hex digits need no escaping)."""
    entries = ",".join(
        f'"{seq}":' + ('["' + '","'.join(path) + '"]' if path else "[]")
        for seq, path in proofs.items()
    )
    return f'{{"tree_size":{size},"proofs":{{{entries}}}}}'.encode()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
