"""Settings, read from CHANGEGATE_* environment variables. Built on demand, never at import."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from changegate.paths import default_db_url


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CHANGEGATE_", extra="ignore")

    db: str | None = None
    policy: Path | None = None
    #: the key that signs the server's checkpoints of the audit log (`audit keygen`): a file
    #: readable by its owner only, or the key's text; neither = no automatic checkpoints
    audit_key_file: Path | None = None
    audit_key: SecretStr | None = None

    @property
    def db_url(self) -> str:
        return self.db or default_db_url()
