"""Signed checkpoints (C2SP tlog-checkpoint + signed-note, Ed25519): the formats checked
independently here with hashlib, base64 and `cryptography`; `audit keygen`, `audit
checkpoint`, `audit proof` and `audit verify --checkpoint` on SQLite and PostgreSQL,
including the wrong key, an altered checkpoint and a log rewritten after the checkpoint."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Engine

from changegate.audit import merkle
from changegate.audit.checkpoint import SignerKey, VerifierKey, open_note
from changegate.errors import InvalidInput
from tests.audit.test_anchor import rewrite_from
from tests.audit.test_tamper import history  # noqa: F401 (fixture)
from tests.cli_runner import cli


def test_formats_follow_the_spec() -> None:
    signer = SignerKey.generate("cg.example.com/audit")
    vkey = signer.verifier()
    name, hex_id, encoded = str(vkey).split("+", 2)
    raw = base64.b64decode(encoded)
    assert name == "cg.example.com/audit" and raw[0] == 1 and len(raw) == 33
    assert bytes.fromhex(hex_id) == hashlib.sha256(name.encode() + b"\n\x01" + raw[1:]).digest()[:4]
    assert str(signer).startswith(f"PRIVATE+KEY+{name}+{hex_id}+")
    assert SignerKey.parse(str(signer)) == signer and VerifierKey.parse(str(vkey)) == vkey
    plus = SignerKey(name, b"\xfb" * 32)  # base64 holding "+", the key strings' separator
    assert "+" in str(plus).split("+", 4)[4] and SignerKey.parse(str(plus)) == plus
    assert VerifierKey.parse(str(plus.verifier())) == plus.verifier()

    body = f"{name}\n42\n{base64.b64encode(b'r' * 32).decode()}\n"
    note = signer.sign(body)
    text, sig_line = note.split("\n\n")
    assert text + "\n" == body
    dash, key_name, sig = sig_line.rstrip("\n").split(" ")
    assert (dash, key_name) == ("\u2014", name)
    decoded = base64.b64decode(sig)
    assert decoded[:4] == bytes.fromhex(hex_id)
    Ed25519PublicKey.from_public_bytes(raw[1:]).verify(decoded[4:], body.encode())  # raises if bad
    assert open_note(note, vkey) == body


def test_a_note_is_refused_when_altered_or_signed_by_another_key() -> None:
    signer, other = SignerKey.generate("log"), SignerKey.generate("log")
    note = signer.sign("log\n5\n" + base64.b64encode(b"r" * 32).decode() + "\n")
    with pytest.raises(InvalidInput, match="does not verify"):
        open_note(note.replace("\n5\n", "\n6\n"), signer.verifier())
    with pytest.raises(InvalidInput, match="no signature by the key"):
        open_note(note, other.verifier())
    forged = str(other.verifier()).split("+")
    with pytest.raises(InvalidInput, match="--vkey"):  # a key ID that is not its key's
        VerifierKey.parse("+".join([forged[0], "00000000", forged[2]]))
    with pytest.raises(InvalidInput, match="not a signed note"):
        open_note("log\n5\n", signer.verifier())


@pytest.fixture
def keys(tmp_path: Path, db_url: str) -> tuple[Path, str]:
    key = tmp_path / "audit.key"
    out = cli(db_url, "audit", "keygen", "--out", str(key), "--origin", "cg.test/audit", "--json")
    assert out.code == 0, out.stderr
    return key, out.json()["vkey"]


def test_keygen_writes_an_owner_only_key_and_never_replaces_one(
    keys: tuple[Path, str], db_url: str
) -> None:
    key, vkey = keys
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert str(SignerKey.parse(key.read_text()).verifier()) == vkey
    again = cli(db_url, "audit", "keygen", "--out", str(key))
    assert again.code == 2 and "the file exists" in again.stderr
    assert str(SignerKey.parse(key.read_text()).verifier()) == vkey


def test_a_world_readable_or_missing_key_is_refused(
    history: Engine,  # noqa: F811
    keys: tuple[Path, str],
    db_url: str,
) -> None:
    key, _ = keys
    os.chmod(key, 0o644)
    loose = cli(db_url, "audit", "checkpoint", "--key", str(key))
    assert loose.code == 2 and f"chmod 600 {key}" in loose.stderr
    missing = cli(db_url, "audit", "checkpoint", "--key", str(key) + ".none")
    assert missing.code == 2 and "audit keygen" in missing.stderr


def _checkpoint(db_url: str, key: Path) -> str:
    out = cli(db_url, "audit", "checkpoint", "--key", str(key))
    assert out.code == 0, out.stderr
    return out.stdout


@pytest.fixture
def signed(
    history: Engine,  # noqa: F811
    keys: tuple[Path, str],
    db_url: str,
    tmp_path: Path,
) -> tuple[Path, str, Path]:
    """A log with history, its signing key, verifier key, and a checkpoint kept in a file."""
    key, vkey = keys
    kept = tmp_path / "cp.txt"
    kept.write_text(_checkpoint(db_url, key))
    return key, vkey, kept


def test_checkpoint_is_recorded_and_verified_later(
    history: Engine,  # noqa: F811
    keys: tuple[Path, str],
    db_url: str,
    tmp_path: Path,
) -> None:
    key, vkey = keys
    note = _checkpoint(db_url, key)
    origin, size, root = note.split("\n")[:3]
    assert origin == "cg.test/audit" and len(base64.b64decode(root)) == 32
    log = cli(db_url, "audit", "log", "--json").json()
    assert log[-1]["action"] == "audit.checkpoint_signed" and log[-1]["seq"] == int(size) + 1

    kept = tmp_path / "2026-q4.txt"
    kept.write_text(note)
    cli(db_url, "user", "add", "dave", "--role", "engineer")  # the log grows
    ok = cli(db_url, "audit", "verify", "--checkpoint", str(kept), "--vkey", vkey, "--json")
    assert ok.code == 0, ok.stdout
    assert ok.json()["checkpoint"] | {"ok": True} == ok.json()["checkpoint"]
    assert ok.json()["checkpoint"]["tree_size"] == int(size)
    second = _checkpoint(db_url, key)  # consistent with the first
    assert int(second.split("\n")[1]) > int(size)

    proof = cli(db_url, "audit", "proof", "2", "--size", size, "--json").json()
    assert merkle.verify_inclusion(
        bytes.fromhex(proof["leaf_hash"]),
        1,
        int(size),
        [bytes.fromhex(h) for h in proof["proof"]],
        base64.b64decode(root),
    )
    assert cli(db_url, "audit", "proof", "0").code == 2
    assert cli(db_url, "audit", "proof", "2", "--size", "999999").code == 2


def test_wrong_key_and_altered_checkpoint_fail_verify(
    signed: tuple[Path, str, Path], db_url: str
) -> None:
    _, vkey, kept = signed
    other = SignerKey.generate("cg.test/audit").verifier()
    wrong = cli(db_url, "audit", "verify", "--checkpoint", str(kept), "--vkey", str(other))
    assert wrong.code == 1 and "no signature by the key" in wrong.stdout + wrong.stderr
    lines = kept.read_text().split("\n")
    lines[1] = str(int(lines[1]) - 1)  # claim a smaller tree under the same signature
    kept.write_text("\n".join(lines))
    altered = cli(db_url, "audit", "verify", "--checkpoint", str(kept), "--vkey", vkey, "--json")
    assert altered.code == 1 and "does not verify" in altered.json()["checkpoint"]["problem"]
    half = cli(db_url, "audit", "verify", "--checkpoint", str(kept), "--json")
    assert half.code == 2 and half.json()["field"] == "vkey"
    assert cli(db_url, "audit", "verify", "--checkpoint", str(kept), "--vkey", "nonsense").code == 2


def test_a_log_rewritten_after_a_checkpoint_fails_and_is_never_signed_again(
    history: Engine,  # noqa: F811
    signed: tuple[Path, str, Path],
    db_url: str,
) -> None:
    key, vkey, kept = signed
    rewrite_from(history, 2)  # every hash and subtree recomputed: verify alone passes
    assert cli(db_url, "audit", "verify").code == 0
    caught = cli(db_url, "audit", "verify", "--checkpoint", str(kept), "--vkey", vkey, "--json")
    assert caught.code == 1
    assert "rewritten since" in caught.json()["checkpoint"]["problem"]
    refused = cli(db_url, "audit", "checkpoint", "--key", str(key))
    assert refused.code == 1 and "refusing to sign" in refused.stderr


def test_against_a_server(db_url: str, keys: tuple[Path, str], tmp_path: Path) -> None:
    """The latest checkpoint is public at GET /api/audit/checkpoint; `audit proof` and `audit
    verify --checkpoint` work against the server, the client checking signature and proofs."""
    import urllib.error
    import urllib.request

    from tests.api.remote_parity import run_remote
    from tests.api.support import running_org, serving

    key, vkey = keys
    with running_org(db_url) as org, serving(org.app) as base:
        org.user("auditor", name="audrey")
        token = org.token("audrey")
        with pytest.raises(urllib.error.HTTPError) as none_yet:
            urllib.request.urlopen(f"{base}/api/audit/checkpoint")
        assert none_yet.value.code == 404
        note = _checkpoint(db_url, key)  # cron on the server host
        with urllib.request.urlopen(f"{base}/api/audit/checkpoint") as answer:  # no token
            assert answer.headers["content-type"].startswith("text/plain")
            assert answer.read().decode() == note
        kept = tmp_path / "cp.txt"
        kept.write_text(note)
        org.user("engineer", name="erin")  # the log grows after the checkpoint

        def remote(*args: str) -> tuple[int, str]:
            run = run_remote(base, token, list(args), None)  # type: ignore[arg-type]
            return run.code, run.stdout + run.stderr

        code, out = remote("audit", "verify", "--checkpoint", str(kept), "--vkey", vkey)
        assert code == 0 and "today's log extends it" in out, out
        local = cli(db_url, "audit", "proof", "3", "--json").stdout
        assert remote("audit", "proof", "3", "--json") == (0, local)
        other = str(SignerKey.generate("cg.test/audit").verifier())
        code, out = remote("audit", "verify", "--checkpoint", str(kept), "--vkey", other)
        assert code == 1 and "no signature by the key" in out
        code, out = remote("audit", "checkpoint", "--key", str(key))  # signed here, recorded there
        with urllib.request.urlopen(f"{base}/api/audit/checkpoint") as answer:
            assert code == 0 and answer.read().decode() == out
        assert int(out.split("\n")[1]) > int(note.split("\n")[1])
        signer = SignerKey.parse(key.read_text())  # a validly signed root that is not the log's
        bogus = signer.sign(f"{signer.name}\n3\n{base64.b64encode(b'x' * 32).decode()}\n")
        post = urllib.request.Request(
            f"{base}/api/audit/checkpoint",
            json.dumps({"note": bogus, "vkey": vkey}).encode(),
            {"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(post)
        assert refused.value.code == 409 and b"not this log's root" in refused.value.read()
        rewrite_from(org.engine, 2)  # the server's log rewritten: neither side signs it
        code, out = remote("audit", "checkpoint", "--key", str(key))
        assert code == 1 and "refusing to sign" in out
