"""Change ids as people type them: one parser (changes.keys) for the CLI, the API and the web
pages. Pure: no database."""

from __future__ import annotations

import pytest

from changegate.changes.keys import MAX_CHANGE_ID, change_key, parse_key, written_id
from changegate.errors import InvalidInput, NotFound


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("CHG-12", 12),
        ("chg-12", 12),
        ("12", 12),
        (" CHG-7 ", 7),
        (f"CHG-{MAX_CHANGE_ID}", 2**31 - 1),
    ],
)
def test_a_change_id_in_any_accepted_form(text: str, number: int) -> None:
    assert parse_key(text) == number


@pytest.mark.parametrize(
    "text",
    [
        "",
        "CHG-",
        "CHG-x1",
        "CHG--1",
        "CHG-1.5",
        "CR-1",
        "1 2",
        "x" * 31,
        "CHG-\u0661\u0662",
    ],
)
def test_text_that_cannot_be_a_change_id_is_bad_input(text: str) -> None:
    with pytest.raises(InvalidInput, match="is not a change id; use the form CHG-12") as exc:
        parse_key(text)
    assert exc.value.field == "change"


def test_a_number_no_change_can_have_is_not_found_before_the_database() -> None:
    """Before, the API and the web bounded the number each in its own way (with different
    messages) and the CLI sent any number to the database."""
    for text in (f"CHG-{MAX_CHANGE_ID + 1}", "CHG-99999999999999999999"):
        with pytest.raises(NotFound, match="no change CHG-"):
            parse_key(text)


@pytest.mark.parametrize("number", [1, 12, MAX_CHANGE_ID])
def test_the_key_changegate_writes_reads_back_as_its_number(number: int) -> None:
    assert change_key(number) == f"CHG-{number}"
    assert written_id(change_key(number)) == number
    assert parse_key(change_key(number)) == number


@pytest.mark.parametrize(
    "text",
    [
        "",
        "12",
        "chg-12",
        "CHG-",
        "CHG-012",
        "CHG-0",
        "CHG-\u0661\u0662",
        " CHG-1",
        "CHG-1 ",
        "CHG-1x",
    ],
)
def test_only_a_key_as_changegate_writes_it_names_a_change_in_stored_state(text: str) -> None:
    """What the system reads back from its own records (an audited state's ``change``, for
    the AI-change alert) is matched exactly: Arabic-Indic digits pass ``str.isdigit`` and
    ``int()``, and did name change 12 there."""
    assert written_id(text) is None
