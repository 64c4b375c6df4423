"""The title search on SQLite is ``title LIKE q``, not ILIKE's ``lower(title) LIKE lower(q)``:
SQLite answers the former from the sort index holding the title (migration 0018). The two
match the same titles for every title and every search text, and the page reads that index."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from changegate.changes import listing
from changegate.changes.listing import ChangeFilter
from changegate.db import make_engine
from changegate.migrate import upgrade

#: letters whose case SQLite folds (ASCII) and some it does not (beyond ASCII), the wildcards
#: and escape character a search text must not act as, and a few others
ALPHABET = "aAzZmMäÄßẞİıσΣΩ%_\\ -7é"


def _pattern(q: str) -> str:
    return str(listing._parameters(ChangeFilter(q=q))["q"])


@settings(max_examples=400, deadline=None)
@given(title=st.text(ALPHABET, max_size=12), q=st.text(ALPHABET, min_size=1, max_size=4))
def test_like_matches_the_titles_lower_like_matched(title: str, q: str) -> None:
    conn = sqlite3.connect(":memory:")
    try:
        pattern = _pattern(q)
        like, lower_like = conn.execute(
            "SELECT ? LIKE ? ESCAPE '\\', lower(?) LIKE lower(?) ESCAPE '\\'",
            (title, pattern, title, pattern),
        ).fetchone()
    finally:
        conn.close()
    assert like == lower_like
    # and both are "contains q, ignoring the case of ASCII letters"
    ascii_lower = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
    assert bool(like) == (q.translate(ascii_lower) in title.translate(ascii_lower))


def test_a_search_page_reads_the_index_holding_the_title(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'search.db'}")
    try:
        upgrade(engine)
        names = listing._EVERY_COLUMN[0]
        for sort, index in (
            ("-created", "ix_changes_created_at_id_title"),
            ("updated", "ix_changes_updated_at_id_title"),
        ):
            stmt = listing._statement("sqlite", ("q",), sort, False, names)
            sql = str(stmt.compile(dialect=engine.dialect))
            with engine.connect() as conn:
                plan = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, ("%x%", 51, 0)).all()
            details = " / ".join(str(row[-1]) for row in plan)
            assert f"USING INDEX {index}" in details, details
            assert "TEMP B-TREE" not in details, details  # no sort of the matches
    finally:
        engine.dispose()
