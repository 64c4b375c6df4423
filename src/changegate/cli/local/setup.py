"""`changegate init` on the local database: migrate it, record the policy in force."""

from __future__ import annotations

from typing import Any

from changegate.cli.local.base import LocalBackend


class LocalSetup(LocalBackend):
    def init(self) -> dict[str, Any]:
        from changegate.db import SCHEMA_REVISION, current_revision, session_scope
        from changegate.migrate import upgrade
        from changegate.policy.service import ensure_recorded

        engine = self.engine
        before = current_revision(engine)
        loaded = self.loaded_policy()
        upgrade(engine)
        with session_scope(engine) as s:
            row = ensure_recorded(s, loaded, rewrite=True)
            return {
                "db": engine.url.render_as_string(hide_password=True),
                "schema": SCHEMA_REVISION,
                "previous_schema": before,
                "policy": loaded.policy.label,
                "policy_digest": row.digest,
            }
