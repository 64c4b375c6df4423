"""Where changegate keeps its files by default (kept free of pydantic-settings: the CLI's hot
path needs only this)."""

from __future__ import annotations

from pathlib import Path


def default_db_url() -> str:
    from platformdirs import user_data_dir

    data_dir = Path(user_data_dir("changegate", appauthor=False))
    data_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{data_dir / 'changegate.db'}"
