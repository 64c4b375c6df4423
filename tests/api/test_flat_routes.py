"""The app holds its routers' routes flat (``api/flat_routes.py``): the same OpenAPI document
and the same route for every request as FastAPI's ``include_router`` gives."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from starlette.routing import Match

from changegate.api.app import create_app
from changegate.api.flat_routes import include_flat
from changegate.db import make_engine
from tests.api.support import database, settings


def _include_router(app: FastAPI, router: APIRouter) -> None:
    app.include_router(router)


@pytest.fixture(scope="module")
def apps(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[FastAPI, FastAPI]]:
    """The app as built, and the same app built with ``include_router``."""
    tmp: Path = tmp_path_factory.mktemp("flat")
    with database("sqlite", request, tmp) as url, pytest.MonkeyPatch.context() as mp:
        engine = make_engine(url)
        flat = create_app(settings(url), engine=engine)
        mp.setattr("changegate.api.flat_routes.include_flat", _include_router)
        mp.setattr("changegate.web.routes.include_flat", _include_router)
        included = create_app(settings(url), engine=engine)
        yield flat, included
        engine.dispose()


def _resolve(app: FastAPI, path: str, method: str) -> tuple[Match, Any]:
    """What the app's router does with a request: the first full match, else the first
    partial one (a path whose route takes another method), as its endpoint's name (the two
    builds make their own closures for the app's system routes)."""
    scope = {"type": "http", "path": path, "root_path": "", "method": method, "headers": []}
    partial: tuple[Match, Any] = (Match.NONE, None)
    for route in app.router.routes:
        if hasattr(route, "_match"):  # FastAPI's included-router node (>= 0.137)
            match, _, inner, _ = route._match(scope)
            child = {"endpoint": getattr(inner, "endpoint", None)}
        else:
            match, child = route.matches(scope)
        if match is Match.FULL:
            return match, _name(child)
        if match is Match.PARTIAL and partial[0] is Match.NONE:
            partial = (match, _name(child))
    return partial


def _name(child: dict[str, Any]) -> str:
    """The matched endpoint's name, or the mounted app's class (static files)."""
    target = child.get("endpoint") or child["app"]
    kind = target if callable(target) and hasattr(target, "__qualname__") else type(target)
    return f"{kind.__module__}.{kind.__qualname__}"


def _concrete(template: str) -> str:
    return re.sub(r"\{[^}:]+(:path)?\}", lambda m: "a/b" if m.group(1) else "x1", template)


def test_the_app_holds_no_included_router_node(apps: tuple[FastAPI, FastAPI]) -> None:
    flat, included = apps
    assert not [r for r in flat.router.routes if hasattr(r, "original_router")]
    assert sum(isinstance(r, APIRoute) for r in flat.router.routes) > 100
    # the comparison below is against something: the other build does nest them (FastAPI
    # >= 0.137) or is flat too (older FastAPI); either way it is include_router's result
    assert len(included.router.routes) <= len(flat.router.routes)


def test_the_openapi_document_is_the_same(apps: tuple[FastAPI, FastAPI]) -> None:
    flat, included = apps
    assert flat.openapi() == included.openapi()


def test_every_route_resolves_to_the_same_endpoint(apps: tuple[FastAPI, FastAPI]) -> None:
    flat, included = apps
    routes = [r for r in flat.router.routes if isinstance(r, APIRoute)]
    checked = 0
    for route in routes:
        path = _concrete(route.path)
        for method in ("GET", "POST", "PUT", "DELETE", "PATCH"):
            got = _resolve(flat, path, method)
            assert got == _resolve(included, path, method), (method, path)
            checked += got[0] is Match.FULL
    assert checked >= len(routes)
    assert _resolve(flat, "/no/such/page", "GET") == (Match.NONE, None)


def test_a_router_holding_anything_but_api_routes_is_refused() -> None:
    router = APIRouter()

    @router.websocket("/ws")
    async def ws() -> None:  # pragma: no cover - never served
        return None

    with pytest.raises(TypeError, match="include_router"):
        include_flat(FastAPI(), router)
