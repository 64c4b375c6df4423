"""Every endpoint that takes a request context opens its transaction, runs and commits in one
worker-thread call (``api/one_call.py``), and a request without a credential is still refused
before its body is read."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute

from changegate.api.deps import read_ctx, write_ctx
from changegate.api.one_call import ONE_CALL
from changegate.web.session import web_read, web_write
from tests.api.support import Org, database, running_org

CONTEXTS = {read_ctx, write_ctx, web_read, web_write}


@pytest.fixture(scope="module")
def sqlite_org(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Org]:
    tmp: Path = tmp_path_factory.mktemp("one_call")
    with database("sqlite", request, tmp) as url, running_org(url) as o:
        yield o


def _routes(routes: list[Any]) -> Iterator[APIRoute]:
    """The app's routes, through the routers it includes."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):  # FastAPI's included router
            yield from _routes(route.original_router.routes)


def _calls(dependant: Any) -> Iterator[Any]:
    for dep in dependant.dependencies:
        yield dep.call
        yield from _calls(dep)


def test_every_route_taking_a_request_context_opens_it_in_the_endpoints_call(
    sqlite_org: Org,
) -> None:
    taking = [
        route for route in _routes(sqlite_org.app.routes) if CONTEXTS & set(_calls(route.dependant))
    ]
    assert len(taking) > 100  # the API's and the web UI's pages
    unwrapped = [route.path for route in taking if not getattr(route.endpoint, ONE_CALL, False)]
    assert unwrapped == []


def test_the_wrapped_endpoint_keeps_its_name_and_docs_in_the_openapi_document(
    sqlite_org: Org,
) -> None:
    doc = sqlite_org.client.get("/openapi.json").json()
    approve = doc["paths"]["/api/changes/{key}/approve"]["post"]
    assert approve["operationId"].startswith("approve_")
    assert approve["requestBody"]["content"]["application/json"]["schema"]


def test_a_request_without_a_credential_is_refused_before_its_body_is_read(
    sqlite_org: Org,
) -> None:
    r = sqlite_org.client.post(
        "/api/changes/CHG-1/approve",
        json={"comment": ["not", "a", "string"]},
    )
    assert r.status_code == 401
    assert r.json()["field"] == "Authorization"


def test_a_refused_write_changes_nothing_and_the_next_write_gets_the_lock(sqlite_org: Org) -> None:
    o = sqlite_org
    author = o.user("engineer")
    key = o.change(author, "submitted")
    # the author may not approve their own change: refused inside the endpoint's transaction
    r = o.client.post(f"/api/changes/{key}/approve", json={}, headers=o.bearer(author))
    assert r.status_code == 403
    reviewer = o.user("engineer")
    r = o.client.post(f"/api/changes/{key}/approve", json={}, headers=o.bearer(reviewer))
    assert r.status_code == 201, r.text
    shown = o.client.get(f"/api/changes/{key}", headers=o.bearer(reviewer)).json()
    assert [(r["reviewer"], r["verdict"]) for r in shown["reviews"]] == [(reviewer, "approve")]
