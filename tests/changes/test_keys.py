"""Change ids as people type them: one parser (changes.keys) for the CLI, the API and the web
pages. Pure: no database."""

from __future__ import annotations

import pytest

from changegate.changes.keys import MAX_CHANGE_ID, parse_key
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
    "text", ["", "CHG-", "CHG-x1", "CHG--1", "CHG-1.5", "CR-1", "1 2", "x" * 31]
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
