"""`changegate serve` on this machine: the database made ready, then uvicorn."""

from __future__ import annotations

import os
from typing import Any

from changegate.cli.local.base import LocalBackend


class LocalServer(LocalBackend):
    secret: str = ""

    def prepare(self, url: str, workers: int) -> dict[str, Any]:
        """The database created or upgraded, the policy recorded, the first administrator's
        password when nobody has one; what the server will run with."""
        from changegate.api.settings import ServerSettings, resolve_secret
        from changegate.auth.service import bootstrap_admin
        from changegate.db import current_revision, session_scope
        from changegate.policy.service import ensure_recorded

        settings = ServerSettings(db=self.opts.db_url, policy=self.opts.policy)
        self.secret, secret_source = resolve_secret(settings)
        checkpoints = _checkpoints(settings)  # a bad signing key stops the start here
        engine = self.engine
        created = current_revision(engine) is None
        if created:
            from changegate.migrate import upgrade

            upgrade(engine)
        loaded = self.loaded_policy()
        with session_scope(engine) as s:
            ensure_recorded(s, loaded)
            password = bootstrap_admin(s, loaded.policy)
        engine.dispose()
        return {
            "url": url,
            "db": engine.url.render_as_string(hide_password=True),
            "database_created": created,
            "policy": loaded.policy.label,
            "secret_key": secret_source,
            "checkpoints": checkpoints,
            "workers": workers,
            "bootstrap_user": "admin" if password else None,
            "bootstrap_password": password,
        }

    def run(self, host: str, port: int, workers: int, log_format: str = "json") -> None:
        """Serve until stopped; the app factory reads its settings from the environment."""
        os.environ["CHANGEGATE_LOG_FORMAT"] = log_format
        os.environ["CHANGEGATE_SECRET_KEY"] = self.secret
        os.environ["CHANGEGATE_DB"] = self.opts.db_url
        if self.opts.policy is not None:
            os.environ["CHANGEGATE_POLICY"] = str(self.opts.policy)
        import uvicorn

        uvicorn.run(
            "changegate.api.app:app_from_env",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            server_header=False,
            log_level="info",
            access_log=log_format != "json",  # JSON lines replace uvicorn's access log
        )


def _checkpoints(settings: Any) -> dict[str, Any]:
    """Whether the server signs checkpoints of the audit log, with which key, how often."""
    from changegate.audit.autosign import configured_signer
    from changegate.policy.loader import load_policy

    signer, source = configured_signer(settings)
    if signer is None:
        return {"enabled": False, "why": source}
    rule = load_policy(settings.policy).policy.audit_checkpoints
    return {
        "enabled": True,
        "key_from": source,
        "vkey": str(signer.verifier()),
        "every_events": rule.every_events,
        "every_minutes": rule.every_minutes,
    }
