"""`GET /api/changes`, the web `/changes` page and the audit search, a page at a time (issue 12).

Keyset pagination: each row on exactly one page however many are inserted while a client pages;
filters and sorting; the next/previous pages in the ``Link`` header; a tampered or malformed
cursor is a 400 naming ``cursor``, never a 500. On SQLite and PostgreSQL (the ``org`` fixture).
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import pytest

from tests.api.remote_parity import run_remote
from tests.api.support import Org, serving

LINK = re.compile(r'<([^>]+)>; rel="(\w+)"')


def links(r: Any) -> dict[str, str]:
    """rel -> path and query of each URL in the answer's Link header."""
    found = LINK.findall(r.headers.get("link", ""))
    return {rel: "/" + url.split("://", 1)[1].split("/", 1)[1] for url, rel in found}


def walk(org: Org, headers: dict[str, str], url: str, between: Any = None) -> list[list[str]]:
    """The ids of every page from ``url`` on, following rel="next"; ``between`` runs after
    each page (to insert rows while paging)."""
    pages: list[list[str]] = []
    next_url: str | None = url
    while next_url:
        r = org.client.get(next_url, headers=headers)
        assert r.status_code == 200, r.text
        assert isinstance(r.json(), list)  # the body stays a list: old clients keep working
        pages.append([c["id"] for c in r.json()])
        next_url = links(r).get("next")
        if between is not None:
            between()
        assert len(pages) < 100
    return pages


@pytest.mark.parametrize("sort", ["-created", "created"])
def test_every_row_once_across_pages_while_changes_are_inserted(org: Org, sort: str) -> None:
    author = org.user("engineer")
    headers = org.bearer(author)
    before = [org.change(author) for _ in range(12)]
    added: list[str] = []

    def insert() -> None:
        added.extend(org.change(author, title=f"Inserted {len(added)}") for _ in range(2))

    pages = walk(org, headers, f"/api/changes?author={author}&limit=5&sort={sort}", insert)
    seen = [key for page in pages for key in page]
    assert len(seen) == len(set(seen)), "a change on two pages"
    assert set(before) <= set(seen), "a change on no page"
    if sort == "-created":  # newest first: what is inserted meanwhile lands before the cursor
        assert sorted(seen) == sorted(before)
    assert set(seen) <= set(before) | set(added)
    ids = [int(k.removeprefix("CHG-")) for k in seen]
    assert ids == sorted(ids, reverse=sort.startswith("-"))
    assert all(len(p) <= 5 for p in pages)


def test_previous_page_and_default_limit(org: Org) -> None:
    author = org.user("engineer")
    headers = org.bearer(author)
    keys = [org.change(author) for _ in range(7)]
    first = org.client.get(f"/api/changes?author={author}&limit=3", headers=headers)
    assert [c["id"] for c in first.json()] == keys[::-1][:3]
    assert "prev" not in links(first)
    second = org.client.get(links(first)["next"], headers=headers)
    assert [c["id"] for c in second.json()] == keys[::-1][3:6]
    back = org.client.get(links(second)["prev"], headers=headers)
    assert [c["id"] for c in back.json()] == keys[::-1][:3]
    assert "prev" not in links(back) and "next" in links(back)
    everything = org.client.get(f"/api/changes?author={author}", headers=headers)
    assert len(everything.json()) == 7 and "link" not in everything.headers
    # an empty cursor (a client that always sends the parameter) is no cursor: the first page
    web, _ = org.web(author)
    page = org.client.get(f"/changes?author={author}&limit=3&cursor=", headers=web)
    assert page.status_code == 200 and keys[-1] in page.text and keys[-4] not in page.text
    empty = org.client.get(f"/api/changes?author={author}&limit=3&cursor=", headers=headers)
    assert empty.json() == first.json() and links(empty) == links(first)
    assert "prev" not in links(empty)
    many = org.client.get("/api/changes?limit=501", headers=headers)
    assert many.status_code == 422


def test_filters_and_sorting(org: Org) -> None:
    author = org.user("engineer")
    headers = org.bearer(author)
    draft = org.change(author, title="100% rollout of tax_rounding")
    other = org.change(author, title="1000 rollouts of taxXrounding")
    submitted = org.change(author, "submitted")
    deployed = org.change(author, "deployed")
    emergency = org.change(author, "emergency")

    def ids(query: str) -> list[str]:
        r = org.client.get(f"/api/changes?author={author}&{query}", headers=headers)
        assert r.status_code == 200, r.text
        return [c["id"] for c in r.json()]

    assert ids("state=submitted") == [submitted]
    assert ids("class=emergency") == [emergency]
    assert set(ids("environment=production")) == {deployed, emergency}
    assert ids("environment=staging") == []
    assert ids("q=100%25") == [draft]  # % is text, not a wildcard
    assert ids("q=TAX_ROUNDING") == [draft]
    assert ids("category=dependency-update") == []
    assert len(ids("since=2000-01-01")) == 5 and ids("until=2000-01-01") == []
    assert ids("since=2999-01-01") == []
    assert ids("sort=created") == [draft, other, submitted, deployed, emergency]
    org.client.patch(f"/api/changes/{draft}", headers=headers, json={"description": "edited"})
    assert ids("sort=-updated")[0] == draft
    r = org.client.get("/api/changes?state=nonsense", headers=headers)
    assert r.status_code == 400 and r.json()["field"] == "state"
    r = org.client.get("/api/changes?since=yesterday", headers=headers)
    assert r.status_code == 422


def _b64(data: Any) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


TAMPERED = [
    "not a cursor!",
    "%%%",
    _b64(b"\xff\xfe binary"),
    _b64([1, 2]),
    _b64({}),
    _b64({"s": "-created", "k": "2026-01-01T00:00:00Z", "i": "7", "d": "n"}),
    _b64({"s": "-created", "k": "2026-01-01T00:00:00Z", "i": -1, "d": "n"}),
    _b64({"s": "-created", "k": "2026-01-01T00:00:00Z", "i": 2**70, "d": "n"}),
    _b64({"s": "-created", "k": "not a time", "i": 7, "d": "n"}),
    _b64({"s": "-created", "k": "2026-01-01T00:00:00", "i": 7, "d": "n"}),
    _b64({"s": "-created", "k": 5, "i": 7, "d": "n"}),
    _b64({"s": "-created", "k": "2026-01-01T00:00:00Z", "i": 7, "d": "sideways"}),
    _b64({"s": "-updated", "k": "2026-01-01T00:00:00Z", "i": 7, "d": "n"}),  # another sort
    _b64({"s": "-created", "k": "2026-01-01T00:00:00Z", "i": True, "d": "n"}),
]


@pytest.mark.parametrize("cursor", TAMPERED)
def test_a_tampered_cursor_is_refused_naming_it(org: Org, cursor: str) -> None:
    reader = org.user("auditor")
    r = org.client.get("/api/changes", params={"cursor": cursor}, headers=org.bearer(reader))
    assert r.status_code == 400, (r.status_code, r.text)
    assert r.json()["field"] == "cursor"
    headers, _ = org.web(reader)
    page = org.client.get("/changes", params={"cursor": cursor}, headers=headers)
    assert page.status_code == 400 and "cursor" in page.text


def test_an_overlong_or_unprintable_cursor_is_refused(org: Org) -> None:
    headers = org.bearer(org.user("auditor"))
    for cursor in ("A" * 201, "abc%00", "abc%ED%A0%80", "abc%FF"):
        r = org.client.get(f"/api/changes?cursor={cursor}", headers=headers)
        assert r.status_code in (400, 422), (r.status_code, r.text)


def test_web_page_links_keep_the_filters(org: Org) -> None:
    author = org.user("engineer")
    keys = [org.change(author, title=f"Pager test {i}") for i in range(5)]
    org.change(author, title="Something else")
    headers, _ = org.web(author)
    r = org.client.get(f"/changes?q=Pager+test&author={author}&limit=2", headers=headers)
    assert r.status_code == 200
    assert keys[4] in r.text and keys[3] in r.text and keys[2] not in r.text
    nxt = re.search(r'href="([^"]+)" rel="next"', r.text)
    assert nxt is not None
    url = nxt.group(1).replace("&amp;", "&")
    assert "q=Pager+test" in url and f"author={author}" in url and "limit=2" in url
    r2 = org.client.get(url, headers=headers)
    assert keys[2] in r2.text and keys[1] in r2.text and keys[4] not in r2.text
    assert 'rel="prev"' in r2.text and 'rel="first"' in r2.text
    mine = org.client.get("/changes?mine=true&limit=2", headers=headers)
    link = re.search(r'href="([^"]+)" rel="next"', mine.text)
    assert link is not None and "mine=true" in link.group(1)


def test_audit_search_pages_by_sequence(org: Org) -> None:
    author = org.user("engineer")
    for _ in range(3):
        org.change(author)
    headers = org.bearer(org.user("auditor"))
    first = org.client.get(f"/api/audit/events?actor={author}&limit=2", headers=headers)
    assert first.status_code == 200 and len(first.json()) == 2
    seqs = [e["seq"] for e in first.json()]
    older = org.client.get(links(first)["next"], headers=headers)
    older_seqs = [e["seq"] for e in older.json()]
    assert older_seqs and max(older_seqs) < min(seqs)
    web, _ = org.web(org.user("auditor"))
    page = org.client.get("/audit", headers=web)
    assert page.status_code == 200
    before = org.client.get(f"/audit?actor={author}&before={min(seqs)}", headers=web)
    assert before.status_code == 200 and 'rel="first"' in before.text


def test_remote_cli_follows_the_link_header(org: Org, capsys: pytest.CaptureFixture[str]) -> None:
    author = org.user("engineer")
    keys = [org.change(author) for _ in range(7)]
    with serving(org.app) as base:
        token = org.token(author)
        streamed = run_remote(
            base,
            token,
            ["change", "list", "--author", author, "--all", "--limit", "3", "--json"],
            capsys,
        )
        assert streamed.code == 0, streamed.stderr
        rows = [json.loads(line) for line in streamed.stdout.splitlines()]
        assert [r["id"] for r in rows] == keys[::-1]
        paged = run_remote(
            base, token, ["change", "list", "--author", author, "--limit", "3", "--json"], capsys
        )
        assert [r["id"] for r in paged.json()] == keys[::-1][:3]
        cursor = paged.stderr.split("--cursor ", 1)[1].split()[0]
        more = ["change", "list", "--author", author, "--limit", "3", "--cursor", cursor]
        assert [r["id"] for r in run_remote(base, token, [*more, "--json"], capsys).json()] == (
            keys[::-1][3:6]
        )
        bad = run_remote(base, token, ["change", "list", "--cursor", "garbage", "--json"], capsys)
        assert bad.code == 2 and json.loads(bad.stdout)["field"] == "cursor"
