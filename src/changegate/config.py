"""Settings, read from CHANGEGATE_* environment variables. Built on demand, never at import."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

from changegate.paths import default_db_url


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CHANGEGATE_", extra="ignore")

    db: str | None = None
    policy: Path | None = None

    @property
    def db_url(self) -> str:
        return self.db or default_db_url()
