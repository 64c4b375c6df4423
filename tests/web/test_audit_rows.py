"""The audit page's rows are written with autoescaping off, each value escaped once by the
``text`` filter: markup in an event's actor, action, entity, summary or reason is shown as
text, and the link to a change keeps its key escaped."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from markupsafe import escape

from changegate.web.render import jinja_env

MARKUP = """<img src=x onerror="alert(1)">'&"""


def _rows(**entry: Any) -> str:
    env = jinja_env(SimpleNamespace(extra={}))  # type: ignore[arg-type]
    base = {
        "seq": 7,
        "ts": "2026-11-30T09:05:07Z",
        "actor": "alice",
        "action": "change.edited",
        "entity": "change:CHG-7",
        "summary": "",
        "event": {},
    }
    return str(
        env.get_template("audit.html").render(
            entries=[SimpleNamespace(**(base | entry))],
            q={"change": "", "actor": "", "action": "", "since": "", "until": ""},
            errors={},
            actions=[],
            may_verify=False,
            newest=None,
            older=None,
            user=None,
            csrf="",
            can=lambda action: False,
            policy=SimpleNamespace(label="policy"),
            path="/audit",
        )
    )


@pytest.mark.parametrize(
    "entry",
    [
        {"actor": MARKUP},
        {"action": MARKUP},
        {"entity": MARKUP},
        {"entity": "change:" + MARKUP},
        {"summary": MARKUP},
        {"event": {"extra": {"reason": MARKUP}}},
    ],
)
def test_markup_in_any_value_is_shown_as_text(entry: dict[str, Any]) -> None:
    page = _rows(**entry)
    table = page.split("<tbody>", 1)[1]
    assert "<img" not in table and str(escape(MARKUP)) in table


def test_a_plain_row() -> None:
    page = _rows(event={"extra": {"reason": "why"}})
    assert '<a href="/changes/CHG-7">change:CHG-7</a>' in page
    assert "<td>why</td>" in page and '<td class="num">7</td>' in page
    assert "2026-11-30 09:05 UTC" in page
    assert "<td></td>" in _rows(event={"extra": ["not", "a", "mapping"]})
