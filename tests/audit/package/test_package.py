"""The auditor evidence package on SQLite and PostgreSQL: built through the CLI from a record
made by the real services, verified offline by `audit verify-package` and by the verify.py
inside it (run with `python -I` outside the repository: it imports no changegate code)."""

from __future__ import annotations

import csv
import io
import json
import random
import subprocess
import sys
import zipfile
from pathlib import Path

from changegate.audit.package import verify
from changegate.audit.package.service import VERIFIER_FILES
from tests.audit.package.conftest import TODAY, Packaged, rewrite
from tests.cli_runner import cli


def _rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode())))


def run_verify_py(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The package's own verify.py, isolated (-I: no user site, no cwd on the path) and run
    from a folder outside the repository."""
    return subprocess.run(
        [sys.executable, "-I", "verify.py", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_package_verifies_offline_and_says_what_happened(
    packaged: Packaged, tmp_path: Path
) -> None:
    files = packaged.files()
    manifest = packaged.manifest()
    pop = {r["id"]: r for r in _rows(files["population.csv"])}
    assert sorted(pop) == ["CHG-1", "CHG-2", "CHG-3", "CHG-4"]
    normal, emergency = pop["CHG-1"], pop["CHG-2"]
    assert normal["approvers"] == "bob(engineer)" and normal["author_not_approver"] == "yes"
    assert normal["tests"] == "passed" and normal["rolled_back"] == "yes"
    assert normal["approvals_match_deployed"] == "bob=yes" and normal["deployer"] == "carol"
    assert emergency["emergency_bypass"] == "yes" and emergency["retrospective_done"]
    kinds = [r["kind"] for r in _rows(files["exceptions.csv"])]
    assert "gate-refused" in kinds and "emergency-bypass" in kinds
    controls = {r["rule"]: r for r in _rows(files["controls.csv"])}
    assert controls["peer-review"]["soc2"] == "CC8.1" and controls["peer-review"]["iso27001"]
    assert controls["segregation_of_duties"]["population"] == "4"
    assert "changes/CHG-1/packet.html" in files and all(n in files for n in VERIFIER_FILES)
    assert manifest["generated_by"] == "audrey" and manifest["selection"]["kind"] == "period"
    # the checkpoint signed for the package is itself recorded in the log
    log = cli(packaged.db_url, "audit", "log", "--json").json()
    assert log[-1]["action"] == "audit.checkpoint_signed"

    ok = cli(packaged.db_url, "audit", "verify-package", str(packaged.zip), "--vkey", packaged.vkey)
    assert ok.code == 0 and ok.stdout.startswith("OK"), ok.stdout + ok.stderr
    outside = tmp_path / "auditor"
    outside.mkdir()
    with zipfile.ZipFile(packaged.zip) as z:
        z.extractall(outside / "unzipped")
    for name in VERIFIER_FILES:
        (outside / name).write_bytes(files[name])
    for target in (str(packaged.zip), "unzipped"):
        done = run_verify_py(outside, target, "--vkey", packaged.vkey)
        assert done.returncode == 0, done.stdout + done.stderr
    assert "OK" in done.stdout


def test_verify_py_refuses_what_is_not_a_package(packaged: Packaged, tmp_path: Path) -> None:
    for name in VERIFIER_FILES:
        (tmp_path / name).write_bytes(packaged.files()[name])
    (tmp_path / "notes.txt").write_text("not a zip")
    for target in ("missing.zip", "notes.txt"):
        done = run_verify_py(tmp_path, target, "--vkey", packaged.vkey)
        assert done.returncode == 2 and target in done.stderr
    bad_key = run_verify_py(tmp_path, str(packaged.zip), "--vkey", "nonsense")
    assert bad_key.returncode == 2 and "--vkey" in bad_key.stderr


def test_verify_package_needs_no_database(packaged: Packaged, tmp_path: Path) -> None:
    nowhere = f"sqlite:///{tmp_path}/absent/none.db"
    ok = cli(nowhere, "audit", "verify-package", str(packaged.zip), "--vkey", packaged.vkey)
    assert ok.code == 0, ok.stderr
    assert not (tmp_path / "absent").exists()
    missing = cli(nowhere, "audit", "verify-package", str(tmp_path / "x.zip"), "--vkey", "k")
    assert missing.code == 2


def test_a_sample_is_reproducible_from_its_seed(packaged: Packaged, tmp_path: Path) -> None:
    out = tmp_path / "sample.zip"
    made = cli(
        packaged.db_url, "audit", "sample", "--from", "2026-01-01", "--to", TODAY,
        "--size", "2", "--seed", "auditor-42", "--out", str(out), "--key", str(packaged.key),
        "--json",
    )  # fmt: skip
    assert made.code == 0, made.stderr
    ids = ["CHG-1", "CHG-2", "CHG-3", "CHG-4"]
    expected = sorted(random.Random("auditor-42").sample(ids, 2), key=lambda k: int(k[4:]))
    selection = made.json()["selection"]
    assert selection["changes"] == expected and selection["seed"] == "auditor-42"
    with zipfile.ZipFile(out) as z:
        names = set(z.namelist())
    packets = {n.split("/")[1] for n in names if n.endswith("packet.html")}
    assert packets == set(expected)
    assert verify.check(out, packaged.vkey)["ok"]

    def redraw(files: dict[str, bytes]) -> None:
        m = json.loads(files["manifest.json"])
        m["selection"]["changes"] = [i for i in ids if i not in expected][:2]
        files["manifest.json"] = json.dumps(m).encode()

    forged = verify.check(rewrite(out, tmp_path / "forged.zip", redraw), packaged.vkey)
    # the selection is bound into the package's signed checkpoint
    assert not forged["ok"] and any("does not sign this manifest" in p for p in forged["problems"])


def test_bad_dates_and_a_missing_key_are_refused(packaged: Packaged, tmp_path: Path) -> None:
    out = str(tmp_path / "x.zip")
    base = ("audit", "package", "--out", out, "--key", str(packaged.key))
    bad = cli(packaged.db_url, *base, "--from", "2026-13-01", "--to", TODAY)
    assert bad.code == 2 and "--from" in bad.stderr
    backwards = cli(packaged.db_url, *base, "--from", TODAY, "--to", "2026-01-01")
    assert backwards.code == 2 and "--to" in backwards.stderr
    no_key = cli(packaged.db_url, "audit", "package", "--out", out, "--from", TODAY, "--to", TODAY)
    assert no_key.code == 2 and "--key" in no_key.stderr
    assert not Path(out).exists()


def test_a_period_with_no_events_is_a_verified_empty_package(
    packaged: Packaged, tmp_path: Path
) -> None:
    out = tmp_path / "future.zip"
    made = cli(
        packaged.db_url, "audit", "package", "--from", "2099-01-01", "--to", "2099-12-31",
        "--out", str(out), "--key", str(packaged.key), "--json",
    )  # fmt: skip
    assert made.code == 0 and made.json()["counts"]["population"] == 0
    report = verify.check(out, packaged.vkey)
    assert report["ok"], report["problems"]
