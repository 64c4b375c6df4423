"""The history walk with its lookups one batch ahead, on a worker thread.

Whatever answers the lookup (the database in ``scm.history_db``, or the server for
`audit git` with CHANGEGATE_URL), the answer for the next batch is on its way while this
batch is judged. Standard library only.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from concurrent.futures import Future

from changegate.scm.gitformats import Commit
from changegate.scm.history import Finding, HistoryAudit, LinkedChange


class PipelinedAudit(HistoryAudit):
    """A history audit whose lookups run one batch ahead, on a worker thread.

    While the database or the server answers for batch N+1 (the driver or the socket
    releases the GIL while it waits), this thread evaluates batch N and parses batch N+2
    from ``git log``. Findings, their order and the summary are those of ``HistoryAudit``.
    The lookup (and its database session) is used by the worker thread only, one batch at
    a time.
    """

    def _run(self, commits: Iterator[Commit]) -> Iterator[Finding]:
        from concurrent.futures import ThreadPoolExecutor

        lookup = self._lookup
        pending: tuple[list[Commit], Future[Mapping[str, LinkedChange]]] | None = None
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="changegate-lookup") as pool:
            for batch in self._batches(commits):
                ahead = (batch, pool.submit(lookup, [c.sha for c in batch]))
                if pending is not None:
                    yield from self._evaluate(pending[0], pending[1].result())
                pending = ahead
            if pending is not None:
                yield from self._evaluate(pending[0], pending[1].result())
        self.summary.complete = True
