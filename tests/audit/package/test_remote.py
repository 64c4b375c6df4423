"""`audit package | sample` against a server (CHANGEGATE_URL): the server signs with its own key
(CHANGEGATE_AUDIT_KEY_FILE), only the audit.verify roles get the zip, a server without a key
says so (409), and the zip verifies offline like a local one. SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from changegate.audit.checkpoint import SignerKey, write_signer
from changegate.audit.package import verify
from changegate.demo import run_demo
from tests.api.remote_parity import run_remote
from tests.api.support import database, running_org, serving
from tests.audit.package.conftest import TODAY


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_the_server_packages_with_its_own_key(
    backend: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    signer = SignerKey.generate("cg.test/server")
    key = tmp_path / "server.key"
    write_signer(key, signer)
    period = ["--from", "2026-01-01", "--to", TODAY]
    with database(backend, request, tmp_path) as url:
        run_demo(db_url=url, verbose=False)
        with running_org(url, audit_key_file=key) as org, serving(org.app) as base:
            auditor = org.user("auditor", name="audrey1")
            engineer = org.user("engineer", name="eve1")
            out = tmp_path / "remote.zip"
            args = ["audit", "sample", *period, "--size", "2", "--seed", "s", "--out", str(out)]
            done = run_remote(base, org.token(auditor), [*args, "--json"], capsys)
            assert done.code == 0, done.stderr
            assert done.json()["generated_by"] == auditor
            report = verify.check(out, str(signer.verifier()))
            assert report["ok"], report["problems"]
            refused = run_remote(base, org.token(engineer), args, capsys)
            assert refused.code != 0 and "audit.verify" in refused.stderr
            with_key = run_remote(base, org.token(auditor), [*args, "--key", str(key)], capsys)
            assert with_key.code == 2 and "--key" in with_key.stderr
        with running_org(url) as keyless, serving(keyless.app) as base:
            none = run_remote(
                base, keyless.token(keyless.user("auditor", name="audrey2")), args, capsys
            )
            assert none.code == 1 and "CHANGEGATE_AUDIT_KEY_FILE" in none.stderr
