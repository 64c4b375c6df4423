"""The auditor's web area (issue 13 §4) on SQLite and PostgreSQL: the period's population,
exceptions and control matrix are the package's own rows; a sample drawn with a seed is the
one `audit sample` draws; the downloaded package verifies offline; only the audit.verify
roles get in; a server without a signing key says so and signs nothing."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from pathlib import Path

from changegate.audit.package.service import sample_of
from changegate.demo import run_demo
from tests.api.support import running_org
from tests.audit.package.conftest import TODAY
from tests.cli_runner import cli


def _csv(files: dict[str, bytes], name: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(files[name].decode())))


def test_the_area_shows_the_package_and_its_download_verifies(db_url: str, tmp_path: Path) -> None:
    run_demo(db_url=db_url, verbose=False)
    key = tmp_path / "audit.key"
    vkey = cli(db_url, "audit", "keygen", "--out", str(key), "--json").json()["vkey"]
    period = {"from": "2026-01-01", "to": TODAY}
    with running_org(db_url, audit_key_file=key) as org:
        org.user("auditor", name="audrey")
        headers, csrf = org.web("audrey")
        page = org.client.get("/auditor", params=period, headers=headers)
        assert page.status_code == 200, page.text[:500]
        assert vkey in page.text
        shown = re.findall(
            r'<tr class="population-row">\s*<td><a href="/changes/(CHG-\d+)"', page.text
        )
        got = org.client.post("/auditor/package", data={"csrf": csrf, **period}, headers=headers)
        assert got.status_code == 200 and got.headers["content-type"] == "application/zip"
        pkg = tmp_path / "from-the-web.zip"
        pkg.write_bytes(got.content)
        # the page and the zip hold the same population and exceptions
        with zipfile.ZipFile(pkg) as z:
            files = {n: z.read(n) for n in z.namelist()}
        population = _csv(files, "population.csv")
        assert shown == [r["id"] for r in population] and len(shown) >= 4
        exceptions = _csv(files, "exceptions.csv")
        assert f'<strong id="exception-count">{len(exceptions)}</strong>' in page.text
        assert page.text.count('class="control-row"') == len(_csv(files, "controls.csv"))
        # and it verifies offline, with no database
        checked = cli("sqlite:///nowhere.db", "audit", "verify-package", str(pkg), "--vkey", vkey)
        assert checked.code == 0, checked.stdout + checked.stderr
        # filters narrow the table, never the package
        only = org.client.get("/auditor", params={**period, "q": shown[0]}, headers=headers)
        assert only.text.count('class="population-row"') == 1
        # a sample drawn with a seed is the reproducible one, and its package says so
        drawn = org.client.get(
            "/auditor", params={**period, "size": 2, "seed": "fy2026-q4"}, headers=headers
        )
        expected = sample_of([r["id"] for r in population], 2, "fy2026-q4")["changes"]
        assert re.findall(r'class="sampled" href="/changes/(CHG-\d+)"', drawn.text) == expected
        sampled = org.client.post(
            "/auditor/package",
            data={"csrf": csrf, **period, "size": "2", "seed": "fy2026-q4"},
            headers=headers,
        )
        with zipfile.ZipFile(io.BytesIO(sampled.content)) as z:
            import json

            selection = json.loads(z.read("manifest.json"))["selection"]
        assert selection["changes"] == expected and selection["seed"] == "fy2026-q4"


def test_only_verifiers_and_only_with_a_key(db_url: str) -> None:
    with running_org(db_url) as org:
        org.user("engineer", name="erin")
        org.user("auditor", name="audrey")
        engineer, csrf_e = org.web("erin")
        assert org.client.get("/auditor", headers=engineer).status_code == 403
        denied = org.client.post(
            "/auditor/package",
            data={"csrf": csrf_e, "from": "2026-01-01", "to": TODAY},
            headers=engineer,
        )
        assert denied.status_code == 403
        auditor, csrf = org.web("audrey")
        page = org.client.get("/auditor", headers=auditor)
        assert page.status_code == 200 and "no signing key" in page.text
        refused = org.client.post(
            "/auditor/package", data={"csrf": csrf, "from": "2026-01-01", "to": TODAY},
            headers=auditor,
        )  # fmt: skip
        assert refused.status_code == 409 and "CHANGEGATE_AUDIT_KEY_FILE" in refused.text
        bad = org.client.get("/auditor", params={"from": "2026-13-01"}, headers=auditor)
        assert bad.status_code == 400
