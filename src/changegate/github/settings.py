"""GitHub settings (``CHANGEGATE_GITHUB_*``), read when the first delivery arrives."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from changegate.github.client import DEFAULT_BASE_URL


class GitHubSettings(BaseSettings):
    """How changegate talks to GitHub.

    - ``webhook_secret``: the webhook's secret; deliveries not signed with it are refused.
    - ``token``: an installation access token of changegate's GitHub App, used to answer
      deployment protection rules and to post commit statuses.
    - ``api_url``: GitHub's REST API (``https://HOST/api/v3`` for GitHub Enterprise Server).
    - ``repositories``: ``owner/name`` -> path of a local clone, where the files a pull
      request changes are read (``{"octo-org/app": "/srv/git/app.git"}`` as JSON); missing
      commits are fetched from the clone's ``origin`` when ``fetch`` is true.
    - ``public_url``: changegate's web address, for links from commit statuses.
    """

    model_config = SettingsConfigDict(env_prefix="CHANGEGATE_GITHUB_", extra="ignore")

    webhook_secret: SecretStr | None = None
    token: SecretStr | None = None
    api_url: str = DEFAULT_BASE_URL
    repositories: dict[str, Path] = {}
    fetch: bool = True
    public_url: str | None = None

    @property
    def secret(self) -> str:
        return "" if self.webhook_secret is None else self.webhook_secret.get_secret_value()

    def change_url(self, key: str) -> str | None:
        if not self.public_url:
            return None
        return f"{self.public_url.rstrip('/')}/changes/{key}"
