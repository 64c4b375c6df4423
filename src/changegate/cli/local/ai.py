"""`changegate ai` over the local database: the same service functions the API calls."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from changegate.cli.local.base import LocalBackend

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from changegate.changes.models import Change
    from changegate.policy.schema import Policy


class LocalAi(LocalBackend):
    @contextmanager
    def _on(self, change: str, *, write: bool = True) -> Iterator[tuple[Session, Policy, Change]]:
        from changegate.changes.service import get_change

        with self.tx(write=write) as (s, pol):
            yield s, pol, get_change(s, change, lock=write)

    def preflight(self, change: str, by: str, baseline_for: str | None) -> dict[str, Any]:
        from changegate.ai.checks import preflight

        with self._on(change, write=False) as (s, pol, c):
            return preflight(s, pol, c, actor=by, baseline_for=baseline_for)

    def regress(self, change: str, by: str, body: dict[str, Any]) -> dict[str, Any]:
        from changegate.ai.checks import record_regression

        with self._on(change) as (s, pol, c):
            return record_regression(s, pol, c, actor=by, **body)

    def check(self, change: str, by: str, check: str, seen: dict[str, Any]) -> dict[str, Any]:
        from changegate.ai.checks import record_check

        with self._on(change) as (s, pol, c):
            return record_check(s, pol, c, actor=by, check=check, observation=seen)

    def import_results(self, change: str, by: str, body: dict[str, Any]) -> dict[str, Any]:
        from changegate.ai.checks import record_import

        with self._on(change) as (s, pol, c):
            return record_import(s, pol, c, actor=by, **body)

    def assess(self, change: str, by: str, body: dict[str, Any]) -> dict[str, Any]:
        from changegate.ai.security import record_assessment

        with self._on(change) as (s, pol, c):
            return record_assessment(s, pol, c, actor=by, **body).to_dict()

    def provider_add(self, by: str | None, body: dict[str, Any]) -> dict[str, Any]:
        from changegate.ai.providers import add_provider

        with self.tx() as (s, pol):
            return add_provider(s, pol, actor=by, **body).audit_state()

    def provider_dpa(self, name: str, by: str, body: dict[str, Any]) -> dict[str, Any]:
        from changegate.ai import register

        with self.tx() as (s, pol):
            return register.record_dpa(s, pol, name, actor=by, **body)

    def providers(self) -> dict[str, Any]:
        from changegate.ai import register

        with self.tx(write=False) as (s, pol):
            return register.listing(s, pol)
