"""The server signs checkpoints itself (policy `audit_checkpoints`), with a key from
CHANGEGATE_AUDIT_KEY_FILE: a real `changegate serve` with two worker processes, on SQLite and
PostgreSQL; and it refuses to start with a key file that is missing or readable by others."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from changegate.audit import tree
from changegate.audit.checkpoint import VerifierKey, open_note, parse_body
from changegate.audit.models import AuditEvent
from changegate.db import session_scope
from tests.cli_runner import cli
from tests.factories import make_change, make_team

POLICY = Path(__file__).parents[2] / "src" / "changegate" / "policy" / "default.yaml"
EVERY = 5


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(db_url: str, tmp_path: Path, key: Path) -> dict[str, str]:
    policy = tmp_path / "policy.yaml"
    text = POLICY.read_text()
    assert "  every_events: 1000\n" in text
    policy.write_text(text.replace("  every_events: 1000\n", f"  every_events: {EVERY}\n"))
    env = dict(os.environ, CHANGEGATE_DB=db_url, CHANGEGATE_POLICY=str(policy))
    env.pop("CHANGEGATE_URL", None)
    env |= {
        "CHANGEGATE_AUDIT_KEY_FILE": str(key),
        "CHANGEGATE_CHECKPOINT_POLL_SECONDS": "0.2",
        "CHANGEGATE_SECRET_KEY": "test-secret-" + "x" * 40,
        "CHANGEGATE_DATA_DIR": str(tmp_path / "data"),
    }
    return env


def _serve(env: dict[str, str], port: int, *extra: str) -> subprocess.Popen[str]:
    args = [sys.executable, "-m", "changegate", "serve", "--port", str(port), *extra]
    return subprocess.Popen(
        args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


@pytest.fixture
def key(db_url: str, tmp_path: Path) -> Iterator[tuple[Path, VerifierKey]]:
    path = tmp_path / "audit.key"
    out = cli(db_url, "audit", "keygen", "--out", str(path), "--origin", "cg.test/audit", "--json")
    yield path, VerifierKey.parse(out.json()["vkey"])


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except OSError:
        return 0, ""


def _wait(predicate: object, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _checkpoint_sizes(engine: Engine) -> list[int]:
    with session_scope(engine, write=False) as s:
        rows = s.scalars(
            select(AuditEvent.data).where(AuditEvent.entity_key == "checkpoint:cg.test/audit")
        )
        return [json.loads(bytes(d))["extra"]["tree_size"] for d in rows]


def test_the_server_signs_every_n_events(
    engine: Engine, db_url: str, key: tuple[Path, VerifierKey], tmp_path: Path
) -> None:
    path, vkey = key
    make_team(engine)  # more than EVERY events before the server starts
    port = _port()
    server = _serve(_env(db_url, tmp_path, path), port, "--workers", "2")
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(lambda: _get(f"{base}/api/audit/checkpoint")[0] == 200, "the first checkpoint")
        note = _get(f"{base}/api/audit/checkpoint")[1]
        first = parse_body(open_note(note, vkey))
        assert first.origin == "cg.test/audit" and first.size >= EVERY
        with session_scope(engine, write=False) as s:
            assert tree.root(s, first.size) == first.root
        for n in range(EVERY):  # a change is one event: EVERY more
            make_change(engine, title=f"Change {n}")
        _wait(lambda: max(_checkpoint_sizes(engine)) > first.size, "the next checkpoint")
        time.sleep(1.0)  # several polls by both workers with nothing new
        sizes = _checkpoint_sizes(engine)
        assert len(sizes) == len(set(sizes)) == 2, sizes  # one head is signed once
        latest = parse_body(open_note(_get(f"{base}/api/audit/checkpoint")[1], vkey))
        assert latest.size == max(sizes)
    finally:
        server.terminate()
        out, err = server.communicate(timeout=30)
    assert "audit checkpoints signed every 5 events" in out, out + err
    assert cli(db_url, "audit", "verify").code == 0


@pytest.mark.parametrize("problem", ["readable", "missing", "garbage"])
def test_serve_refuses_a_bad_signing_key(
    db_url: str, key: tuple[Path, VerifierKey], tmp_path: Path, problem: str
) -> None:
    path, _ = key
    if problem == "readable":
        path.chmod(0o644)
    elif problem == "missing":
        path.unlink()
    else:
        path.write_text("not a key\n")
    server = _serve(_env(db_url, tmp_path, path), _port())
    out, err = server.communicate(timeout=60)
    assert server.returncode == 2, out + err
    assert len(err.strip().splitlines()) == 1 and "CHANGEGATE_AUDIT_KEY_FILE" in err
    expected = {"readable": "chmod 600", "missing": "cannot read", "garbage": "not a signing key"}
    assert expected[problem] in err


def test_the_key_from_the_environment_or_none(tmp_path: Path) -> None:
    from changegate.audit.autosign import configured_signer
    from changegate.audit.checkpoint import SignerKey
    from changegate.config import Settings
    from changegate.errors import InvalidInput

    signer = SignerKey.generate("cg.test/audit")
    got, source = configured_signer(Settings(audit_key=str(signer)))
    assert got == signer and source == "CHANGEGATE_AUDIT_KEY"
    none, why = configured_signer(Settings())
    assert none is None and "CHANGEGATE_AUDIT_KEY_FILE" in why
    with pytest.raises(InvalidInput, match="CHANGEGATE_AUDIT_KEY: not a signing key"):
        configured_signer(Settings(audit_key="PRIVATE+KEY+x+00+AAAA"))


def test_due_after_n_events_or_t_minutes_with_new_events(engine: Engine) -> None:
    import datetime as dt

    from changegate.audit.autosign import due, sign_if_due
    from changegate.audit.checkpoint import SignerKey
    from changegate.db import utcnow
    from tests.factories import DEFAULT

    policy, signer = DEFAULT.policy, SignerKey.generate("cg.test/audit")
    rule = policy.audit_checkpoints

    def check(now: dt.datetime) -> bool:
        with session_scope(engine, write=False) as s:
            return due(s, policy, signer.name, now)

    make_team(engine)  # fewer events than every_events
    # after the events: on a loaded machine writing them can take longer than the second
    # this adds, and the first event's time is what the interval counts from
    later = utcnow() + dt.timedelta(minutes=rule.every_minutes, seconds=1)
    assert not check(utcnow()) and check(later)
    with session_scope(engine) as s:
        assert sign_if_due(s, policy, signer, now=utcnow()) is None
        assert sign_if_due(s, policy, signer, now=later) is not None
        assert sign_if_due(s, policy, signer, now=later) is None  # the same head: once
    assert not check(later + dt.timedelta(days=1))  # nothing new since
    make_change(engine)
    assert not check(utcnow()) and check(later + dt.timedelta(minutes=rule.every_minutes))
