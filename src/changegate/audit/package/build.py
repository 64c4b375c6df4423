"""Building the auditor evidence package: sign a checkpoint (recorded), select and prove the
period's events, derive the rows, write the zip with its manifest and its verifier."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from changegate import __version__
from changegate.audit import tree
from changegate.audit.checkpoint import SignerKey
from changegate.audit.package import rows
from changegate.audit.package.packet import packet_context, render_packet
from changegate.audit.package.service import (
    HERE,
    VERIFIER_FILES,
    Period,
    Selected,
    controls,
    parameters,
    proofs,
    sample_of,
    select_events,
    sha256,
)
from changegate.audit.package.verify import FORMAT, MANIFEST, ROW_FILES, gc_paused
from changegate.audit.package.zipsink import ZipSink
from changegate.db import iso, utcnow
from changegate.errors import Conflict
from changegate.policy.schema import Policy


def _policies(session: Session, p: Period) -> list[dict[str, Any]]:
    """The policy versions recorded before the period ended, with the digest of each text."""
    from changegate.policy.models import PolicyVersion

    found = session.scalars(select(PolicyVersion).order_by(PolicyVersion.loaded_at))
    return [
        {"name": v.name, "version": v.version, "digest": v.digest, "loaded_at": iso(v.loaded_at)}
        for v in found
        if (iso(v.loaded_at) or "") < p.to_ts
    ]


def _change_files(session: Session, sel: Selected, keys: list[str]) -> Iterator[tuple[str, bytes]]:
    """packet.html and the evidence files (named by SHA-256) of the selected changes."""
    from changegate.evidence.models import Blob

    by_change: dict[str, list[dict[str, Any]]] = {k: [] for k in keys}
    for folder, _, ev in (sel.events[s] for s in sorted(sel.events)):
        key = folder.removeprefix("changes/")
        if key in by_change and ev["seq"] <= sel.last:
            by_change[key].append(ev)
    wanted = {
        str(ev["after"]["blob_sha256"])
        for evs in by_change.values()
        for ev in evs
        if ev["action"] == "evidence.added" and (ev.get("after") or {}).get("blob_sha256")
    }
    blobs: dict[str, bytes] = {}
    if wanted:
        stmt = select(Blob.sha256, Blob.content).where(Blob.sha256.in_(sorted(wanted)))
        for sha, content in session.execute(stmt):
            if content is not None and sha256(bytes(content)) == sha:
                blobs[sha] = bytes(content)
    stored = set(blobs)
    for key, evs in by_change.items():
        ctx = packet_context(key, evs, stored)
        yield f"changes/{key}/packet.html", render_packet(ctx)
        for e in ctx["evidence"]:
            if e["stored"]:
                yield f"changes/{key}/evidence/{e['blob_sha256']}", blobs[e["blob_sha256"]]


def _states(sel: Selected, keys: list[str]) -> dict[str, dict[str, Any]]:
    """The population's changes as their events up to the end of the window leave them."""
    states: dict[str, dict[str, Any]] = {k: {} for k in keys}
    for _, _, ev in (sel.events[s] for s in sorted(sel.events) if s <= sel.last):
        key = str(ev["entity"]).removeprefix("change:")
        if ev["entity"].startswith("change:") and key in states and ev.get("after"):
            states[key] = ev["after"]
    return states


def build_package(
    session: Session,
    policy: Policy,
    p: Period,
    out: IO[bytes],
    *,
    signer: SignerKey,
    actor: str,
    sample: tuple[int, str] | None = None,
) -> dict[str, Any]:
    """Write the package of period ``p`` (or of a sample of its population: size, seed) to
    ``out``; the checkpoint signed for it is recorded as an audit event. Returns the manifest
    without its file list."""
    with gc_paused():
        return _build(session, policy, p, out, signer=signer, actor=actor, sample=sample)


def _build(
    session: Session,
    policy: Policy,
    p: Period,
    out: IO[bytes],
    *,
    signer: SignerKey,
    actor: str,
    sample: tuple[int, str] | None,
) -> dict[str, Any]:
    from changegate.audit.checkpoint_service import sign

    size = tree.head_size(session)
    sel = select_events(session, p, size)
    sink, listing = ZipSink(out), {}

    def add(files: Iterable[tuple[str, bytes]]) -> None:
        for name, data in files:
            listing[name] = sha256(data)
            sink.add(name, data)

    try:
        add(_bulk(sel))  # the bulk first: it is compressed while the rest is made
        manifest = sel.manifest_window(parameters(policy))
        table = rows.derive(sel.parsed(), manifest)
        ids = [row[0] for row in table["population.csv"][1:]]
        selection = sample_of(ids, *sample) if sample else {"kind": "period", "changes": ids}
        manifest |= {"format": FORMAT, "selection": selection}
        note = sign(session, signer, actor=actor, extension=rows.binding(manifest))
        if int(note.split("\n")[1]) != size:
            raise Conflict("the log grew while the package was built: run the command again")
        add((name, rows.csv_bytes(table[name])) for name in ROW_FILES)
        matrix = controls(policy, table, _states(sel, ids))
        add([("controls.csv", rows.csv_bytes(matrix))])
        add(_change_files(session, sel, list(selection["changes"])))
        add((name, (HERE / name).read_bytes()) for name in VERIFIER_FILES)
        manifest |= {
            "generated_at": iso(utcnow()),
            "generated_by": actor,
            "changegate_version": __version__,
            "policies": _policies(session, p),
            "counts": {n.removesuffix(".csv"): len(table[n]) - 1 for n in ROW_FILES}
            | {"controls": len(matrix) - 1, "events": len(sel.events)},
            "events": {
                "first_seq": min(sel.events, default=0),
                "last_seq": max(sel.events, default=0),
            },
            "checkpoint": note,
        }
        text = json.dumps(
            manifest | {"files": listing}, indent=1, sort_keys=True, ensure_ascii=False
        )
        sink.add(MANIFEST, text.encode())  # last: it lists the others
    except BaseException:
        sink.abort()
        raise
    sink.close()
    return manifest


def _bulk(sel: Selected) -> Iterator[tuple[str, bytes]]:
    """The events' files (each folder's lines in seq order) and their proofs."""
    lines: dict[str, list[bytes]] = {}
    for _, (folder, data, _) in sorted(sel.events.items()):
        name = f"{folder}.jsonl" if folder == "log/boundary" else f"{folder}/events.jsonl"
        lines.setdefault(name, []).append(data + b"\n")
    yield from ((name, b"".join(chunks)) for name, chunks in lines.items())
    yield from proofs(sel).items()
