"""Every kind of change to a package is refused, naming the file (and the row): a file edited,
removed or added; a CSV row edited, added or dropped (the manifest's hashes redone, as a forger
would); an event's bytes, a proof or the checkpoint altered; the wrong verifier key; a
truncated zip. On SQLite and PostgreSQL, in-process and through the package's verify.py."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from changegate.audit.checkpoint import SignerKey
from changegate.audit.package import rows, verify
from changegate.audit.package.service import VERIFIER_FILES
from tests.audit.package.conftest import Packaged, rewrite

Edit = Callable[[dict[str, bytes]], None]


EVENTS = "changes/CHG-1/events.jsonl"


def _csv_edit(name: str, fn: Callable[[list[str]], list[str]]) -> Edit:
    def edit(files: dict[str, bytes]) -> None:
        lines = files[name].decode().split("\r\n")
        files[name] = "\r\n".join(fn(lines)).encode()

    return edit


def _edit_packet(files: dict[str, bytes]) -> None:
    files["changes/CHG-1/packet.html"] += b"<!-- approved by the CTO -->"


def _remove_file(files: dict[str, bytes]) -> None:
    del files[EVENTS]


def _remove_event(files: dict[str, bytes]) -> None:
    files[EVENTS] = files[EVENTS].split(b"\n", 1)[1]


def _add_file(files: dict[str, bytes]) -> None:
    files["changes/CHG-1/evidence/extra.pdf"] = b"%PDF-1.4 a document nobody recorded"


def _edit_event(files: dict[str, bytes]) -> None:
    first, rest = files[EVENTS].split(b"\n", 1)
    files[EVENTS] = first.replace(b'"alice"', b'"mallory"', 1) + b"\n" + rest


def _alter_proof(files: dict[str, bytes]) -> None:
    doc = json.loads(files["changes/CHG-2/proofs.json"])
    seq = min(doc["proofs"], key=int)
    doc["proofs"][seq][0] = "00" * 32
    files["changes/CHG-2/proofs.json"] = json.dumps(doc).encode()


def _alter_proof_top(files: dict[str, bytes]) -> None:
    """The last hash of a later event's proof, above the nodes the first event proved."""
    doc = json.loads(files["changes/CHG-2/proofs.json"])
    seq = sorted(doc["proofs"], key=int)[1]
    doc["proofs"][seq][-1] = "00" * 32
    files["changes/CHG-2/proofs.json"] = json.dumps(doc).encode()


def _move_event(files: dict[str, bytes]) -> None:
    """An event of CHG-2 copied into CHG-1's file, where it is not about CHG-1."""
    files[EVENTS] += files["changes/CHG-2/events.jsonl"].split(b"\n", 1)[0] + b"\n"


def _alter_checkpoint(files: dict[str, bytes]) -> None:
    m = json.loads(files["manifest.json"])
    origin, size, _, rest = m["checkpoint"].split("\n", 3)
    m["checkpoint"] = "\n".join([origin, size, base64.b64encode(b"\x01" * 32).decode(), rest])
    files["manifest.json"] = json.dumps(m).encode()


def _resign_forged_root(files: dict[str, bytes]) -> None:
    """A checkpoint over another root, well signed, but by a key that is not the log's."""
    m = json.loads(files["manifest.json"])
    origin, size, _ = m["checkpoint"].split("\n", 3)[:3]
    root = base64.b64encode(bytes([2]) * 32).decode()
    body = f"{origin}\n{size}\n{root}\n"
    m["checkpoint"] = SignerKey.generate(origin).sign(body)
    files["manifest.json"] = json.dumps(m).encode()


def _edit_parameters(files: dict[str, bytes]) -> None:
    """A retrospective review due a year later, and every row redone with the package's own
    rows.py from its events, so that the CSV files agree with the edited manifest."""
    m = json.loads(files["manifest.json"])
    m["parameters"]["retrospective_due_hours"]["emergency"] = 24 * 365
    files["manifest.json"] = json.dumps(m).encode()
    events = sorted(
        (
            json.loads(line)
            for name, data in files.items()
            if name.endswith(".jsonl")
            for line in data.splitlines()
        ),
        key=lambda ev: ev["seq"],
    )
    for name, table in rows.derive(events, m).items():
        files[name] = rows.csv_bytes(table)


CASES: list[tuple[str, Edit, bool, list[str]]] = [
    ("file edited", _edit_packet, False, ["changes/CHG-1/packet.html: its SHA-256"]),
    ("file removed", _remove_file, False, ["listed in manifest.json but missing"]),
    ("file added", _add_file, False, ["changes/CHG-1/evidence/extra.pdf: not listed"]),
    ("event bytes edited", _edit_event, True, [f"{EVENTS} line 1 (event #", "inclusion proof"]),
    ("event removed", _remove_event, True, ["of the period window is missing"]),
    (
        "proof altered",
        _alter_proof,
        True,
        ["changes/CHG-2/events.jsonl line 1 (event #", "changes/CHG-2/proofs.json"],
    ),
    (
        "proof altered high up",
        _alter_proof_top,
        True,
        ["changes/CHG-2/events.jsonl line 2 (event #", "changes/CHG-2/proofs.json"],
    ),
    ("event copied", _move_event, True, ["is not about CHG-1", "appears twice"]),
    ("checkpoint altered", _alter_checkpoint, True, ["manifest.json checkpoint", "not verify"]),
    ("checkpoint by another key", _resign_forged_root, True, ["no signature by the key"]),
    ("parameters edited", _edit_parameters, True, ["does not sign this manifest's period"]),
    (
        "population row edited",
        _csv_edit(
            "population.csv", lambda ls: [ls[0], ls[1].replace("bob(", "artur(", 1), *ls[2:]]
        ),
        True,
        ["population.csv row 1 (CHG-1 ", "column approvers", "artur(engineer)"],
    ),
    (
        "population row added",
        _csv_edit("population.csv", lambda ls: [*ls[:-1], ls[1].replace("CHG-1", "CHG-99"), ""]),
        True,
        ["population.csv row 5 (CHG-99", "(added)"],
    ),
    (
        "population row dropped",
        _csv_edit("population.csv", lambda ls: [ls[0], *ls[2:]]),
        True,
        ["population.csv row 4 (CHG-4", "(dropped)"],
    ),
    (
        "exception dropped",
        _csv_edit("exceptions.csv", lambda ls: [x for x in ls if "gate-refused,CHG-1" not in x]),
        True,
        ["exceptions.csv row", "(dropped)"],
    ),
    (
        "deployment row edited",
        _csv_edit("deployments.csv", lambda ls: [ls[0], ls[1].replace("carol", "dave"), *ls[2:]]),
        True,
        ["deployments.csv row 1 (changegate 1) column actor"],
    ),
]


def test_every_kind_of_change_is_refused_and_named(packaged: Packaged, tmp_path: Path) -> None:
    assert verify.check(packaged.zip, packaged.vkey)["ok"]
    missed = []
    for name, edit, rehash, expected in CASES:
        forged = rewrite(packaged.zip, tmp_path / "forged.zip", edit, rehash=rehash)
        report = verify.check(forged, packaged.vkey)
        text = "\n".join(report["problems"])
        if report["ok"] or not all(part in text for part in expected):
            missed.append(f"{name}: {text or 'verified'}")
    assert not missed, "\n".join(missed)


def test_the_wrong_key_and_a_truncated_zip(packaged: Packaged, tmp_path: Path) -> None:
    other = str(SignerKey.generate("cg.test/audit").verifier())
    report = verify.check(packaged.zip, other)
    assert not report["ok"] and "no signature by the key" in report["problems"][0]
    truncated = tmp_path / "truncated.zip"
    data = packaged.zip.read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(verify.BadInput, match=r"truncated\.zip: not a zip archive"):
        verify.check(truncated, packaged.vkey)
    # the package's own verifier, isolated, says the same with its exit status
    for name in VERIFIER_FILES:
        shutil.copy(Path(verify.__file__).with_name(name), tmp_path / name)
    for target, key, code, says in (
        (packaged.zip, other, 1, "no signature by the key"),
        (truncated, packaged.vkey, 2, "not a zip archive"),
    ):
        done = subprocess.run(
            [sys.executable, "-I", "verify.py", str(target), "--vkey", key],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == code and says in done.stdout + done.stderr
