"""The change lists parse their query string with ``change_query`` (one pydantic call) in
place of FastAPI's ``Annotated[ChangeQuery, Query()]``: the same values, the same refusals,
and, for the API, the same OpenAPI parameters. Each is checked against FastAPI itself, on a
throwaway app holding both ways side by side."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, FastAPI, Query
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.requests import Request

from changegate.api.list_query import ChangeQuery, change_query, query_parameters


def _app() -> FastAPI:
    app = FastAPI()

    @app.get("/fastapi")
    def by_fastapi(q: Annotated[ChangeQuery, Query()]) -> dict[str, Any]:
        return q.model_dump()

    @app.get("/ours", openapi_extra={"parameters": query_parameters(ChangeQuery)})
    def by_us(q: Annotated[ChangeQuery, Depends(change_query)]) -> dict[str, Any]:
        return q.model_dump()

    def refused(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return JSONResponse(
            [{"loc": e["loc"], "type": e["type"], "msg": e["msg"]} for e in exc.errors()], 422
        )

    app.add_exception_handler(RequestValidationError, refused)
    return app


APP = _app()
CLIENT = TestClient(APP)

NAMES = ["state", "class", "change_class", "category", "author", "environment", "since"]
NAMES += ["until", "q", "sort", "limit", "cursor", "mine", "other"]
VALUES = st.one_of(
    st.sampled_from(
        ["", "normal", "-created", "updated", "sideways", "0", "1", "50", "1001", "x" * 201]
    ),
    st.sampled_from(["2026-11-01", "2026-11-01T00:00:00Z", "yesterday", "a\x00b", "tab\there"]),
    st.text(max_size=12),
)


def _answers(query: list[tuple[str, str]]) -> tuple[Any, Any]:
    qs = urlencode(query)
    fastapi, ours = CLIENT.get(f"/fastapi?{qs}"), CLIENT.get(f"/ours?{qs}")
    return (fastapi.status_code, fastapi.json()), (ours.status_code, ours.json())


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(NAMES), VALUES), max_size=6))
def test_the_same_values_and_refusals_as_fastapis_query_model(
    query: list[tuple[str, str]],
) -> None:
    """Repeated parameters (the last counts), the field's name in place of its alias
    (ignored), unknown parameters (ignored), bad values (422 at ``("query", name)``)."""
    fastapi, ours = _answers(query)
    assert ours == fastapi


def test_examples_from_each_branch() -> None:
    cases = {
        "class=normal&class=emergency": (200, "emergency"),
        "change_class=normal": (200, "normal"),  # the field's name too (populate_by_name)
        # both names: the alias counts, the name's values (a list, repeated) are not read
        "class=normal&change_class=emergency&change_class=standard": (200, "normal"),
        "limit=0": (422, ["query", "limit"]),
    }
    for qs, (status, expected) in cases.items():
        fastapi, ours = _answers([tuple(p.split("=")) for p in qs.split("&")])  # type: ignore[misc]
        assert ours == fastapi and ours[0] == status
        if status == 200:
            assert ours[1]["change_class"] == expected
        else:
            assert ours[1][0]["loc"] == expected


def test_the_openapi_parameters_are_fastapis() -> None:
    paths = APP.openapi()["paths"]
    assert paths["/ours"]["get"]["parameters"] == paths["/fastapi"]["get"]["parameters"]
    assert [p["name"] for p in paths["/ours"]["get"]["parameters"]][:2] == ["state", "class"]
