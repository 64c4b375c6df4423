"""Server settings (``CHANGEGATE_*``) and the secret key.

The secret signs the login form's CSRF token. ``changegate serve`` refuses an empty or
well-known secret; without ``CHANGEGATE_SECRET_KEY`` it generates one on first start and keeps
it in the data directory (mode 0600), so a fresh machine just works.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from pydantic import SecretStr

from changegate.config import Settings
from changegate.errors import InvalidInput

MIN_SECRET_LENGTH = 32
#: values seen in tutorials and templates; refused even when long enough
WELL_KNOWN = {
    "",
    "changeme",
    "change-me",
    "secret",
    "secret-key",
    "dev",
    "development",
    "test",
    "default",
    "insecure",
    "changegate",
    "your-secret-key",
    "please-change-me",
}


class ServerSettings(Settings):
    secret_key: SecretStr | None = None
    #: where the generated secret lives (default: the user data directory)
    data_dir: Path | None = None
    #: send the session cookie only over HTTPS (browsers treat http://localhost as secure)
    cookie_secure: bool = True
    session_hours: float = 12.0
    #: request bodies larger than this are refused with 413 (evidence uploads: max_upload_bytes)
    max_body_bytes: int = 1024 * 1024
    max_upload_bytes: int = 28 * 1024 * 1024
    login_failures_per_user: int = 10
    login_failures_per_address: int = 20
    login_window_minutes: int = 15
    #: read the client address from X-Forwarded-For (only behind a proxy you control)
    trust_proxy: bool = False
    #: database connections kept open per worker (requests run on up to 40 threads)
    db_pool_size: int = 20
    #: how often the server checks whether a checkpoint of the audit log is due
    checkpoint_poll_seconds: float = 10.0

    def data_path(self) -> Path:
        if self.data_dir is not None:
            return self.data_dir
        from platformdirs import user_data_dir

        return Path(user_data_dir("changegate", appauthor=False))


def check_secret(value: str | None) -> str:
    """The secret itself, or InvalidInput naming the fix."""
    if value is None or value.strip().lower() in WELL_KNOWN:
        raise InvalidInput(
            "CHANGEGATE_SECRET_KEY is empty or a well-known default; set it to a random value "
            '(python -c "import secrets; print(secrets.token_urlsafe(48))") or unset it to let '
            "`changegate serve` generate one in its data directory",
            field="CHANGEGATE_SECRET_KEY",
        )
    if len(value) < MIN_SECRET_LENGTH:
        raise InvalidInput(
            f"CHANGEGATE_SECRET_KEY has {len(value)} characters; use at least {MIN_SECRET_LENGTH} "
            "random ones",
            field="CHANGEGATE_SECRET_KEY",
        )
    return value


def resolve_secret(settings: ServerSettings) -> tuple[str, str]:
    """The secret to serve with and where it came from (``environment`` or a file path)."""
    if settings.secret_key is not None:
        return check_secret(settings.secret_key.get_secret_value()), "environment"
    path = settings.data_path() / "secret_key"
    if path.exists():
        return check_secret(path.read_text("utf-8").strip()), str(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(value + "\n")
    return value, str(path)
