"""Verify a changegate auditor evidence package, offline: ``python verify.py FILE.zip --vkey VKEY``.

This file and ``rows.py`` and ``inclusion.py`` beside it are everything the check does; they
need the Python standard library and ``cryptography`` (Ed25519) only, so an auditor reads them
instead of trusting changegate's code. changegate writes the package's CSV rows with rows.py's
functions and copies the three files into every package verbatim. Exit status: 0 everything verifies, 1 a check failed,
2 bad input.

What it checks:
1. Files: every file's SHA-256 is the one manifest.json lists; none missing, none added.
2. The checkpoint in manifest.json: a C2SP signed note (``c2sp.org/signed-note``) carrying an
   Ed25519 signature by VKEY over a ``c2sp.org/tlog-checkpoint`` body (origin, size, root),
   whose extension line binds the manifest's period, window, parameters and selection
   (``rows.binding``): the rows are derived with exactly what was signed.
3. Events: each line of ``changes/CHG-N/events.jsonl`` (and of ``log/events.jsonl`` and
   ``log/boundary.jsonl``) is an event's stored bytes, in seq order; its RFC 9162 leaf hash
   ``SHA-256(0x00 || bytes)`` and its inclusion proof (``proofs.json`` beside it, RFC 9162
   §2.1.3.2) lead to the checkpoint's root; each sits in its change's folder.
4. Completeness: every event of the period window (``manifest.window``) is present; the events
   just outside it (``log/boundary/``) fall outside the period; every entity's history in the
   package starts at its version 1 with no version missing.
5. Rows: population.csv, deployments.csv and exceptions.csv are recomputed from the events by
   ``rows.derive`` and compared cell by cell; a sample's selection is re-drawn from its seed.
"""

from __future__ import annotations

import base64
import contextlib
import csv
import gc
import hashlib
import importlib.util
import io
import json
import re
import sys
import zipfile
import zlib
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any


def _sibling(name: str) -> Any:
    """``rows.py`` (or ``inclusion.py``) from this file's own folder (run as a script, even with ``python -I``, or
    imported by changegate), never a module of that name found elsewhere on the path."""
    spec = importlib.util.spec_from_file_location(
        f"_changegate_package_{name}", Path(__file__).with_name(f"{name}.py")
    )
    if spec is None or spec.loader is None:
        raise ImportError(f"{name}.py is not beside {__file__}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


rows = _sibling("rows")
inclusion = _sibling("inclusion")
leaf_hash = inclusion.leaf_hash
verify_inclusion = inclusion.verify_inclusion
verify_many = inclusion.verify_many

FORMAT = "changegate-audit-package/2"
MANIFEST = "manifest.json"
ROW_FILES = ("population.csv", "deployments.csv", "exceptions.csv")
_EVENTS = re.compile(r"\A(?:(changes/CHG-[1-9][0-9]*)/events|log/(?:events|boundary))\.jsonl\Z")
_scan = json.JSONDecoder().scan_once  # type: ignore[attr-defined]
_DASH = "\u2014 "


class BadInput(Exception):
    """The input is not a package at all (exit 2)."""


# -- the checkpoint (C2SP signed note, Ed25519) ---------------------------------------------


def _b64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


def parse_vkey(text: str) -> tuple[str, bytes, bytes]:
    """A verifier key ``NAME+KEYID+BASE64(0x01 || key)``: its name, key ID and public key."""
    name, _, rest = text.strip().partition("+")
    hex_id, _, encoded = rest.partition("+")
    try:
        raw, key_id = _b64(encoded), bytes.fromhex(hex_id)
    except ValueError:
        raw = key_id = b""
    ok = name and len(raw) == 33 and raw[:1] == b"\x01" and len(key_id) == 4
    if not ok or hashlib.sha256(name.encode() + b"\n" + raw).digest()[:4] != key_id:
        raise BadInput("--vkey: not a verifier key (NAME+KEYID+BASE64), nor a file holding one")
    return name, key_id, raw[1:]


def open_checkpoint(note: str, vkey: str) -> tuple[str, int, bytes, list[str]]:
    """The origin, tree size, root and extension lines of a checkpoint signed by ``vkey``;
    ValueError why not."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    name, key_id, public = parse_vkey(vkey)
    if "\n\n" not in note or not note.endswith("\n"):
        raise ValueError("the checkpoint is not a signed note")
    split = note.rindex("\n\n")
    body, signed = note[: split + 1], False
    for line in note[split + 2 : -1].split("\n"):
        signer, _, encoded = line.removeprefix(_DASH).partition(" ")
        try:
            raw = _b64(encoded)
        except ValueError:
            raw = b""
        if not line.startswith(_DASH) or len(raw) < 5:
            raise ValueError(f"malformed signature line {line[:60]!r}")
        if signer != name or raw[:4] != key_id:
            continue
        try:
            Ed25519PublicKey.from_public_bytes(public).verify(raw[4:], body.encode())
        except (InvalidSignature, ValueError):
            raise ValueError(f"the signature by {name} does not verify (altered?)") from None
        signed = True
    if not signed:
        raise ValueError(f"no signature by the key {name} (wrong --vkey?)")
    lines = body.split("\n")[:-1]
    try:
        origin, size, root = lines[0], int(lines[1]), _b64(lines[2])
    except (IndexError, ValueError):
        origin, size, root = "", -1, b""
    if not origin or size < 1 or len(root) != 32 or not lines[1].isdigit():
        raise ValueError("the signed note is not a checkpoint (origin, size, root)")
    return origin, size, root, lines[3:]


# -- reading and checking a package ---------------------------------------------------------


def read_package(path: Path) -> tuple[dict[str, bytes], list[str]]:
    """Every file of a package (a zip, or the folder it was unzipped to) and the problems met
    reading it (a damaged member, a name twice); BadInput when it is neither."""
    if path.is_dir():
        files = {
            p.relative_to(path).as_posix(): p.read_bytes()
            for p in sorted(path.rglob("*"))
            if p.is_file()
        }
        return files, []
    if not path.is_file():
        raise BadInput(f"{path}: no such file")
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise BadInput(f"{path}: not a zip archive (truncated or damaged?): {exc}") from None
    data = path.read_bytes()
    files, problems = {}, []
    with archive:
        for info in archive.infolist():
            name = info.filename
            if info.is_dir():
                continue
            if name in files or name.startswith("/") or ".." in name.split("/"):
                problems.append(f"{name}: a duplicate or unsafe name in the archive")
                continue
            try:
                files[name] = _member(data, info)
            except (ValueError, zlib.error) as exc:
                problems.append(f"{name}: cannot be read from the archive ({exc})")
    return files, problems


def _member(data: bytes, info: zipfile.ZipInfo) -> bytes:
    """One member's bytes, inflated from the archive read once (``ZipFile.read`` costs a seek
    and a file object per member), its CRC-32 and size checked as ``zipfile`` checks them."""
    at = info.header_offset
    if data[at : at + 4] != b"PK\x03\x04" or info.flag_bits & 1:
        raise ValueError("no local header here, or encrypted")
    start = at + 30 + int.from_bytes(data[at + 26 : at + 28], "little")
    start += int.from_bytes(data[at + 28 : at + 30], "little")
    raw = data[start : start + info.compress_size]
    if info.compress_type == zipfile.ZIP_DEFLATED:
        raw = zlib.decompressobj(-15).decompress(raw, info.file_size + 1)
    elif info.compress_type != zipfile.ZIP_STORED:
        raise ValueError(f"compression method {info.compress_type} is not deflate")
    if len(raw) != info.file_size or zlib.crc32(raw) != info.CRC:
        raise ValueError("its size or CRC-32 does not match the archive's directory (damaged)")
    return raw


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Without the cyclic garbage collector while many small objects are made and kept (it
    would rescan them all again and again: half the time on 100,000 events)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _check_files(files: Mapping[str, bytes], listed: Mapping[str, str]) -> list[str]:
    problems = [
        f"{n}: listed in manifest.json but missing" for n in sorted(listed) if n not in files
    ]
    for name in sorted(files):
        if name == MANIFEST:
            continue
        if name not in listed:
            problems.append(f"{name}: not listed in manifest.json (added)")
        elif hashlib.sha256(files[name]).hexdigest() != listed[name]:
            problems.append(f"{name}: its SHA-256 is not the one manifest.json lists (edited)")
    return problems


def _proofs(data: bytes | None, size: int) -> tuple[dict[int, bytes], bool]:
    """A ``proofs.json``: each event's proof hashes, concatenated, by seq; and whether the file
    is readable and made for the checkpoint's tree size."""
    try:
        doc = json.loads(data if data is not None else b"null")
        proofs, ok = {}, doc["tree_size"] == size
        for k, v in doc["proofs"].items():
            flat = proofs[int(k)] = bytes.fromhex("".join(v))
            ok = ok and len(flat) == 32 * len(v)
    except (ValueError, TypeError, KeyError, AttributeError):
        return {}, False
    return proofs, ok


def _event(line: bytes) -> dict[str, Any] | None:
    """The event one line holds, when the line is exactly one JSON object with a seq."""
    try:
        text = line.decode("utf-8")
        ev, end = _scan(text, 0)
    except (UnicodeDecodeError, StopIteration, ValueError, RecursionError):
        return None
    ok = end == len(text) and isinstance(ev, dict) and isinstance(ev.get("entity"), str)
    seq = ev.get("seq") if ok else None
    return ev if type(seq) is int and seq >= 1 else None


def _lines(name: str, data: bytes) -> tuple[list[bytes], list[str]]:
    lines = data.split(b"\n")
    if lines.pop() != b"":
        return lines, [f"{name}: its last line does not end with a newline (truncated?)"]
    return lines, []


def _load_events(
    files: Mapping[str, bytes], size: int, root: bytes
) -> tuple[dict[int, dict[str, Any]], list[str]]:
    """The events (by seq), each checked: bytes, folder, proof against the checkpoint."""
    events: dict[int, dict[str, Any]] = {}
    problems: list[str] = []
    by_folder: dict[str, list[str]] = {}
    for name in files:
        m = _EVENTS.match(name)
        if m is not None:
            by_folder.setdefault(m[1] or "log", []).append(name)
    items, where = [], {}
    for folder, names in sorted(by_folder.items()):
        proofs_name = f"{folder}/proofs.json"
        proofs, ok = _proofs(files.get(proofs_name), size)
        if not ok:
            problems.append(f"{proofs_name}: missing, unreadable or not for the checkpoint's size")
        change, seqs = (folder[8:] if folder != "log" else None), set()
        for name in sorted(names):
            lines, found = _lines(name, files[name])
            problems += found
            boundary, previous = name == "log/boundary.jsonl", 0
            for number, line in enumerate(lines, start=1):
                ev = _event(line)
                if ev is None:
                    problems.append(f"{name} line {number}: not the stored bytes of an event")
                    continue
                seq = ev["seq"]
                label = f"{name} line {number} (event #{seq})"
                if seq <= previous:
                    problems.append(f"{label}: the lines are not in seq order")
                about = rows.change_of(ev)
                if change is not None and about != change:
                    problems.append(f"{label}: the event is not about {change}")
                elif change is None and not boundary and about:
                    problems.append(f"{label}: belongs in changes/{about}/")
                if seq in events:
                    problems.append(f"{label}: event #{seq} appears twice in the package")
                events[seq], previous = ev, seq
                where[seq - 1] = f"{label}: its inclusion proof in {proofs_name}"
                items.append((seq - 1, leaf_hash(line), proofs.get(seq, b"")))
                seqs.add(seq)
        extra = set(proofs) - seqs
        if extra:
            problems.append(
                f"{proofs_name}: proofs for events not in the package: {sorted(extra)[:5]}"
            )
    for index in verify_many(items, size, root):
        problems.append(
            f"{where[index]} does not lead to the checkpoint's root (altered or not in the log)"
        )
    return events, problems


def _check_complete(events: Mapping[int, dict[str, Any]], m: Mapping[str, Any]) -> list[str]:
    first, last = m["window"]["first_seq"], m["window"]["last_seq"]
    problems = [
        f"event #{s} of the period window is missing from the package"
        for s in range(first, last + 1)
        if s not in events
    ][:20]
    period = m["period"]
    before, after = events.get(first - 1), events.get(last + 1)
    if first > 1 and (before is None or before["ts"] >= period["from_ts"]):
        problems.append(
            f"event #{first - 1}, just before the window, must be in the package and before "
            "the period (it shows no earlier event of the period was left out)"
        )
    if last < m["tree_size"] and (after is None or after["ts"] < period["to_ts"]):
        problems.append(
            f"event #{last + 1}, just after the window, must be in the package and after the "
            "period (it shows no later event of the period was left out)"
        )
    versions: dict[str, list[int]] = {}
    for seq in sorted(events):
        versions.setdefault(events[seq]["entity"], []).append(events[seq]["entity_version"])
    for entity, seen in versions.items():
        if seen != list(range(1, len(seen) + 1)) and not _boundary_only(entity, events, m):
            problems.append(
                f"{entity}: its events in the package are versions {seen[:8]}, not "
                "1, 2, 3, ... (an earlier event of it was left out)"
            )
    return problems


def _boundary_only(entity: str, events: Mapping[int, dict[str, Any]], m: Mapping[str, Any]) -> bool:
    """Boundary events are shown for their time only: their entity's history is not needed."""
    first, last = m["window"]["first_seq"], m["window"]["last_seq"]
    return all(e["entity"] != entity or s in (first - 1, last + 1) for s, e in events.items())


def _compare(name: str, data: bytes, expected: list[list[str]]) -> list[str]:
    """Cell-by-cell differences between a CSV file and the rows the events give."""
    try:
        table = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    except (UnicodeDecodeError, csv.Error) as exc:
        return [f"{name}: not a UTF-8 CSV file ({exc})"]
    problems: list[str] = []
    header = expected[0]
    for i, (got, want) in enumerate(zip(table, expected, strict=False)):
        label = "header" if i == 0 else f"row {i} ({want[0]} {want[1]})"
        if len(got) != len(want):
            problems.append(f"{name} {label}: {len(got)} cells, the events give {len(want)}")
            continue
        for column, g, w in zip(header, got, want, strict=True):
            if g != w:
                problems.append(
                    f"{name} {label} column {column}: the file says {g[:80]!r}, "
                    f"the events say {w[:80]!r}"
                )
    for i in range(len(expected), len(table)):
        problems.append(
            f"{name} row {i} ({', '.join(table[i][:2])}): not derived from any event (added)"
        )
    for i in range(len(table), len(expected)):
        problems.append(
            f"{name} row {i} ({expected[i][0]} {expected[i][1]}): the events give it "
            "but the file lacks it (dropped)"
        )
    return problems


def check(path: Path, vkey: str) -> dict[str, Any]:
    """Verify the package at ``path`` against the verifier key ``vkey`` (the string, or a file
    holding it). ``ok`` is True only when every check passed; ``problems`` says what failed,
    naming the file and row. Raises BadInput when ``path`` is not a package or the key is bad."""
    with gc_paused():
        return _check(path, vkey)


def _check(path: Path, vkey: str) -> dict[str, Any]:
    key_path = Path(vkey)
    if "+" not in vkey and key_path.is_file():
        vkey = key_path.read_text(encoding="utf-8", errors="replace")
    parse_vkey(vkey)
    files, problems = read_package(path)
    try:
        m = json.loads(files[MANIFEST])
        checkpoint, listed = m["checkpoint"], m["files"]
        if m["format"] != FORMAT:
            raise ValueError(m["format"])
    except (KeyError, ValueError, TypeError) as exc:
        raise BadInput(f"{path}: no readable {MANIFEST} of a {FORMAT} package ({exc})") from None
    problems += _check_files(files, listed)
    try:
        _, size, root, extensions = open_checkpoint(checkpoint, vkey)
        if size != m["tree_size"]:
            raise ValueError(f"it covers {size} events, the manifest says {m['tree_size']}")
        if rows.binding(m) not in extensions:
            raise ValueError(
                "it does not sign this manifest's period, window, parameters and selection "
                "(one of them was edited)"
            )
    except ValueError as exc:
        return _report(m, [*problems, f"{MANIFEST} checkpoint: {exc}"], 0)
    events, found = _load_events(files, size, root)
    problems += found + _check_complete(events, m)
    derived = rows.derive((events[s] for s in sorted(events)), m)
    for name in ROW_FILES:
        if name in files:
            problems += _compare(name, files[name], derived[name])
        counted = m["counts"].get(name.removesuffix(".csv"))
        if counted != len(derived[name]) - 1:
            problems.append(
                f"{MANIFEST} counts.{name[:-4]}: {counted}, the events give "
                f"{len(derived[name]) - 1}"
            )
    selection = m["selection"]
    if selection.get("kind") == "sample":
        ids = [row[0] for row in derived["population.csv"][1:]]
        redrawn = rows.sample(ids, int(selection["size"]), str(selection["seed"]))
        if redrawn != selection["changes"]:
            problems.append(
                f"{MANIFEST} selection: the seed draws {redrawn[:10]}, the manifest "
                f"lists {selection['changes'][:10]}"
            )
    return _report(m, problems, len(events))


def _report(m: Mapping[str, Any], problems: list[str], events: int) -> dict[str, Any]:
    return {
        "ok": not problems,
        "period": m.get("period"),
        "tree_size": m.get("tree_size"),
        "events": events,
        "counts": m.get("counts"),
        "problems": problems,
    }


def main(argv: Sequence[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("package", help="the package (FILE.zip, or the folder it was unzipped to)")
    parser.add_argument("--vkey", required=True, help="the log's verifier key, or a file with it")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    try:
        report = check(Path(args.package), args.vkey)
    except BadInput as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for problem in report["problems"]:
            print(f"FAIL {problem}")
        counts = report["counts"] or {}
        print(
            ("OK" if report["ok"] else "FAILED") + f": {report['events']} events proven in a "
            f"tree of {report['tree_size']}; " + ", ".join(f"{v} {k}" for k, v in counts.items())
        )
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
