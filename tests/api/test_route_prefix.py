"""Each route first compares a request's path with its literal beginning (``OneCallRoute``
in ``api/one_call.py``) and answers "no match" at once when the path does not start with it.
On every route of the app and every path of the app's routes (with values in their
parameters, cut short, run on, under a root path), it answers what ``APIRoute.matches``
answers, and it does skip the regular expression of a route the path cannot match."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from changegate.api.app import create_app
from changegate.api.one_call import OneCallRoute
from changegate.db import make_engine
from tests.api.support import database, settings


@pytest.fixture(scope="module")
def app(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FastAPI]:
    tmp: Path = tmp_path_factory.mktemp("prefix")
    with database("sqlite", request, tmp) as url:
        engine = make_engine(url)
        yield create_app(settings(url), engine=engine)
        engine.dispose()


def _paths(app: FastAPI) -> set[str]:
    formats = {r.path_format for r in app.router.routes if hasattr(r, "path_format")}
    paths = {"/", "", "/api", "/api/", "/changesx", "/chang", "/CHANGES", "/api/changes//x"}
    for fmt in formats:
        for value in ("CHG-1", "1", "x/y", ""):
            path = re.sub(r"\{[^}]+\}", value, fmt)
            paths |= {path, path + "/", path[:-1], path + "x", "/x" + path}
    return paths


def _scope(path: str, method: str, root_path: str = "") -> dict[str, Any]:
    return {
        "type": "http",
        "path": root_path + path,
        "root_path": root_path,
        "method": method,
        "headers": [],
    }


def test_every_route_answers_as_apiroute_on_every_path(app: FastAPI) -> None:
    routes = [r for r in app.router.routes if isinstance(r, OneCallRoute)]
    assert len(routes) > 100
    compared = 0
    for path in sorted(_paths(app)):
        for root_path in ("", "/base"):
            for method in ("GET", "POST"):
                for route in routes:
                    scope = _scope(path, method, root_path)
                    assert route.matches(scope) == APIRoute.matches(
                        route, _scope(path, method, root_path)
                    ), (route.path, path, root_path, method)
                    compared += 1
    assert compared > 100_000


def test_a_path_that_cannot_match_skips_the_regular_expression(app: FastAPI) -> None:
    """The shortcut is taken: a route whose expression would raise if asked is not asked."""

    class Exploding:
        def match(self, _: str) -> None:
            raise AssertionError("the regular expression was asked")

    route = next(
        r for r in app.router.routes if isinstance(r, OneCallRoute) and r.path == "/api/me"
    )
    saved = route.path_regex
    route.path_regex = Exploding()  # type: ignore[assignment]
    try:
        assert route.matches(_scope("/changes", "GET"))[0].name == "NONE"
        with pytest.raises(AssertionError, match="regular expression"):
            route.matches(_scope("/api/me", "GET"))
    finally:
        route.path_regex = saved
    assert route.literal == "/api/me"
    assert (
        next(r for r in app.router.routes if getattr(r, "path", "") == "/changes/{key}").literal
        == "/changes/"
    )
