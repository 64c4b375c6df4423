"""Base of every group's local backend: the database engine, the policy, one transaction."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from changegate.cli.core import Opts

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session

    from changegate.policy.loader import LoadedPolicy
    from changegate.policy.schema import Policy

#: who acts when a local command is not told (`--by`): whoever runs the database
OPERATOR = "system"

_ENGINES: dict[str, Engine] = {}


def engine_for(opts: Opts) -> Engine:
    """One engine per database URL for the life of the process."""
    from changegate.db import make_engine

    url = opts.db_url
    if url not in _ENGINES:
        _ENGINES[url] = make_engine(url)
    return _ENGINES[url]


def dispose_engines() -> None:
    """Close every pooled connection (SQLite checkpoints its WAL) before the process exits."""
    while _ENGINES:
        _ENGINES.popitem()[1].dispose()


class LocalBackend:
    """Services over the database named by ``--db`` / CHANGEGATE_DB, with ``--policy``."""

    def __init__(self, opts: Opts) -> None:
        self.opts = opts

    @property
    def engine(self) -> Engine:
        return engine_for(self.opts)

    def loaded_policy(self) -> LoadedPolicy:
        from changegate.policy.loader import load_policy

        return load_policy(self.opts.policy)

    def policy_digest(self) -> str:
        """The SHA-256 of the policy text in force (what reviews and obligations name)."""
        from changegate.policy.loader import policy_digest, read_policy_text

        return policy_digest(read_policy_text(self.opts.policy)[0])

    @contextmanager
    def tx(self, *, write: bool = True) -> Iterator[tuple[Session, Policy]]:
        """One transaction for one command: a change and its audit events commit together,
        under the policy in force (recorded on first use)."""
        from changegate.db import ensure_initialised, session_scope
        from changegate.policy.loader import read_policy_text
        from changegate.policy.service import policy_in_force

        engine = self.engine
        ensure_initialised(engine)
        text, source = read_policy_text(self.opts.policy)  # refused before any write
        with session_scope(engine, write=write) as session:
            loaded = policy_in_force(session, text, source, write=write)
            yield session, loaded.policy
