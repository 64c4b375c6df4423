"""A record made through the real services (the demo's flows: a normal change refused then
deployed and rolled back, an emergency bypass reviewed afterwards, a system prompt change
awaiting CTO sign-off, a standard change), a signing key, and the package of today."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from changegate.demo import run_demo
from tests.cli_runner import cli

TODAY = dt.datetime.now(dt.UTC).date().isoformat()


@dataclass
class Packaged:
    db_url: str
    zip: Path
    vkey: str
    key: Path

    def files(self) -> dict[str, bytes]:
        with zipfile.ZipFile(self.zip) as z:
            return {n: z.read(n) for n in z.namelist()}

    def manifest(self) -> dict[str, object]:
        return json.loads(self.files()["manifest.json"])  # type: ignore[no-any-return]


def rewrite(
    source: Path,
    target: Path,
    change: Callable[[dict[str, bytes]], None],
    *,
    rehash: bool = True,
) -> Path:
    """A copy of a package with ``change`` applied to its files; with ``rehash`` the manifest
    lists the new hashes, as a forger who can run sha256sum would make it."""
    with zipfile.ZipFile(source) as z:
        files = {n: z.read(n) for n in z.namelist()}
    change(files)
    if rehash:
        manifest = json.loads(files["manifest.json"])
        manifest["files"] = {
            n: hashlib.sha256(d).hexdigest() for n, d in files.items() if n != "manifest.json"
        }
        files["manifest.json"] = json.dumps(manifest).encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    target.write_bytes(buf.getvalue())
    return target


@pytest.fixture
def packaged(db_url: str, tmp_path: Path) -> Packaged:
    run_demo(db_url=db_url, verbose=False)
    key = tmp_path / "audit.key"
    vkey = cli(db_url, "audit", "keygen", "--out", str(key), "--origin", "cg.test/audit", "--json")
    out = tmp_path / "period.zip"
    made = cli(
        db_url, "audit", "package", "--from", "2026-01-01", "--to", TODAY,
        "--out", str(out), "--key", str(key), "--by", "audrey",
    )  # fmt: skip
    assert made.code == 0, made.stderr
    return Packaged(db_url, out, vkey.json()["vkey"], key)
