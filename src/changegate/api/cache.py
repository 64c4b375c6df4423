"""A per-process cache of values derived from the database, keyed by the audit head.

Every mutation appends an audit event in its own transaction, which advances the single
``audit_head`` row. A value computed at head ``seq`` is therefore still what a fresh read
would give as long as the head has not moved: one indexed read of one row replaces the
queries behind a status evaluation. This holds across worker processes and servers sharing
the database, because the head lives in the database. Values that also depend on the clock
(a retrospective review falls due) carry an expiry and are recomputed after it.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from changegate.audit.models import AuditHead

T = TypeVar("T")


def head_seq(session: Session) -> int:
    return int(session.execute(select(AuditHead.seq).where(AuditHead.id == 1)).scalar_one())


class SeqCache:
    def __init__(self, maxsize: int = 2048, max_age: float = 5.0) -> None:
        self._data: OrderedDict[Hashable, tuple[int, float, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self.maxsize = maxsize
        #: upper bound on how long a value is trusted even when the head has not moved
        self.max_age = max_age
        self.hits = 0
        self.misses = 0

    def get_or_compute(
        self,
        key: Hashable,
        seq: int,
        compute: Callable[[], tuple[T, float | None]],
    ) -> T:
        """``compute`` returns the value and how many seconds it stays valid (None: max_age)."""
        now = time.monotonic()
        with self._lock:
            found = self._data.get(key)
            if found is not None and found[0] == seq and found[1] > now:
                self._data.move_to_end(key)
                self.hits += 1
                return found[2]  # type: ignore[no-any-return]
            self.misses += 1
        value, ttl = compute()
        life = self.max_age if ttl is None else max(0.0, min(ttl, self.max_age))
        if life > 0:
            with self._lock:
                self._data[key] = (seq, now + life, value)
                self._data.move_to_end(key)
                while len(self._data) > self.maxsize:
                    self._data.popitem(last=False)
        return value

    def peek(self, key: Hashable, seq: int) -> Any | None:
        """The value stored under ``key`` at head ``seq`` and still fresh, else None."""
        now = time.monotonic()
        with self._lock:
            found = self._data.get(key)
            if found is not None and found[0] == seq and found[1] > now:
                self.hits += 1
                return found[2]
            self.misses += 1
            return None

    def put(self, key: Hashable, seq: int, value: Any, ttl: float | None = None) -> None:
        life = self.max_age if ttl is None else max(0.0, min(ttl, self.max_age))
        if life <= 0:
            return
        with self._lock:
            self._data[key] = (seq, time.monotonic() + life, value)
            self._data.move_to_end(key)
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
