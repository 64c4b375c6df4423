"""Settings, read from CHANGEGATE_* environment variables. Built on demand, never at import."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


def default_db_url() -> str:
    from platformdirs import user_data_dir

    data_dir = Path(user_data_dir("changegate", appauthor=False))
    data_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{data_dir / 'changegate.db'}"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CHANGEGATE_", extra="ignore")

    db: str | None = None
    policy: Path | None = None

    @property
    def db_url(self) -> str:
        return self.db or default_db_url()
