"""The database side of the history audit (``changegate audit git``): which change, approvals
and deployments the record holds for each commit of a branch's history, looked up a batch at
a time, one batch ahead of the evaluation.

The audit itself (walking the history, the verdict per commit, the output) is
``changegate.scm.history``; this module only answers its ``lookup``.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from changegate.changes.by_commit import GATE_LINKS
from changegate.changes.models import Change
from changegate.scm.gitrepo import GitRepo
from changegate.scm.history import (
    Approver,
    DeploymentRecord,
    LinkedChange,
    ProgressCallback,
)
from changegate.scm.history_pipelined import PipelinedAudit

if TYPE_CHECKING:
    from changegate.policy.schema import Policy

PRE_APPROVED = "policy (pre-approved standard change)"


@dataclass
class DatabaseLookup:
    """The history audit's ``lookup`` backed by the database: one query per batch.

    For a batch of SHAs, one statement returns a row per linked commit (the commit index of
    ``changes.commits``, and the merge and push links) carrying what the verdict needs about
    its change: the author, the class, and the reviewers of the approvals bound to the
    change's present content (aggregated in the database, through the digest cache), the
    retrospective reviewer of an emergency change; plus a row per deployment GitHub reported
    for those SHAs. The batch goes to the database as one parameter (a JSON array on SQLite,
    an array on PostgreSQL) and rows are read from the driver's cursor, so neither SQL
    compilation nor ORM objects grow with the batch.

    A standard change that was submitted counts as approved (pre-approved by the policy).
    Deployments recorded by changegate are not read: ``deploy`` records one only after its
    gate passed, so they can never be a finding; the deployments GitHub reported carry
    whether a gate had passed. A change whose digest cache is behind its revision has its
    digest recomputed (one more query for those changes). SHAs match exactly: an
    abbreviated SHA on an old change (before full names were required) covers no commit.
    """

    session: Session
    policy: Policy
    queries: int = 0
    _changes: dict[int, LinkedChange] = field(default_factory=dict)
    #: approver tuples by ``approvers|retrospective reviewer|pre-approved``: few distinct
    _groups: dict[str, tuple[Approver, ...]] = field(default_factory=dict)
    _reviewed_classes: str = ""
    _pre_classes: str = ""
    _dialect: str = ""

    def __post_init__(self) -> None:
        self._dialect = self.session.get_bind().dialect.name
        if self._dialect == "postgresql":
            # For this read-only transaction: each statement looks up a batch of keys through
            # indexes. Compiling it just in time costs more than it saves, hash or merge
            # joins would read whole tables once per batch, and starting parallel workers
            # for each batch costs about 20 ms, more than the batch's own work.
            for setting in ("jit", "enable_hashjoin", "enable_mergejoin"):
                self.session.execute(text(f"SET LOCAL {setting} = off"))
            self.session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))
        # class names are the schema's fixed literals, safe to write into the statement
        classes = self.policy.classes.items()
        self._reviewed_classes = (
            ", ".join(f"'{n}'" for n, spec in classes if spec.retrospective_review) or "''"
        )
        self._pre_classes = ", ".join(f"'{n}'" for n, spec in classes if spec.pre_approved) or "''"

    def _matching(self, table: str, alias: str) -> str:
        """``FROM``/``WHERE`` text: the rows of ``table`` whose ``sha`` is in the batch (one
        parameter). SQLite is driven by the batch (``json_each`` joined to the index);
        PostgreSQL takes an array, which its planner estimates well (a join to ``unnest``
        is guessed 100 times too large and scanned)."""
        shas = self._named("shas")
        if self._dialect == "sqlite":
            return f"json_each({shas}) b JOIN {table} {alias} ON {alias}.sha = b.value WHERE 1 = 1"
        return f"{table} {alias} WHERE {alias}.sha = ANY(CAST({shas} AS text[]))"

    def _named(self, name: str) -> str:
        """The placeholder of parameter ``name``, bound once however often a statement names
        it (sqlite3's ``:name``, psycopg's ``%(name)s``): on PostgreSQL, adapting the batch's
        2,000 SHAs once per placeholder was most of a batch's time."""
        return f":{name}" if self._dialect == "sqlite" else f"%({name})s"

    def _linked_to(self, commits: str) -> str:
        """The links of the batch's SHAs: listed commits (0), merge links (1); references
        (a commit message naming a change) cover nothing."""
        kinds = ", ".join(f"'{kind}'" for kind in GATE_LINKS)  # fixed literals
        return (
            "SELECT 0 AS src, cc.sha, cc.change_id FROM "
            + self._matching(commits, "cc")
            + " UNION ALL SELECT 1, cl.sha, cl.change_id FROM "
            + self._matching("commit_links", "cl")
            + f" AND cl.kind IN ({kinds})"
        )

    def _param(self, values: Sequence[object]) -> object:
        import json

        return json.dumps(list(values)) if self._dialect == "sqlite" else list(values)

    def _agg(self, expression: str) -> str:
        if self._dialect == "sqlite":
            return f"group_concat({expression}, ',')"
        return f"string_agg({expression}, ',')"

    def _rows(self, sql: str, params: Mapping[str, object]) -> list[Any]:
        """Rows of ``sql``, whose placeholders are :meth:`_named`."""
        connection = self.session.connection().connection.driver_connection
        assert connection is not None
        cursor = connection.cursor()
        try:
            cursor.execute(sql, params)
            rows: list[Any] = cursor.fetchall()
        finally:
            cursor.close()
        self.queries += 1
        return rows

    def _statement(self, links: str) -> str:
        """Rows ``(source, sha, change id, key, author, who, fresh)`` for the links the
        subquery ``links`` selects (``src, sha, change_id``). ``who`` packs what counts as
        approval, ``approvers|retrospective reviewer|pre-approved``, so that the changes
        approved alike share one tuple of approvers; ``fresh`` says the digest cache is
        current."""
        approvers = (
            "(SELECT "
            + self._agg("r.reviewer")
            + " FROM reviews r WHERE r.change_id = c.id AND r.verdict = 'approve' "
            "AND r.content_digest = i.content_digest)"
        )
        retro = (
            f"CASE WHEN c.change_class IN ({self._reviewed_classes}) THEN "
            "(SELECT e.reviewer FROM emergency_reviews e WHERE e.change_id = c.id) END"
        )
        pre = (
            f"CASE WHEN c.submitted_at IS NOT NULL AND c.change_class IN ({self._pre_classes}) "
            "THEN '1' ELSE '' END"
        )
        return (
            "SELECT x.src, x.sha, c.id, 'CHG-' || c.id, c.author, "
            f"COALESCE({approvers}, '') || '|' || COALESCE({retro}, '') || '|' || {pre}, "
            "CASE WHEN i.revision = c.revision THEN 1 ELSE 0 END "
            f"FROM ({links}) x JOIN changes c ON c.id = x.change_id "
            "LEFT JOIN change_index i ON i.change_id = c.id"
        )

    def __call__(self, shas: Sequence[str]) -> Mapping[str, LinkedChange]:
        batch = list(shas)
        shas_in = self._param(batch)
        rows = self._rows(
            self._statement(self._linked_to("change_commits"))
            + " UNION ALL SELECT 2, g.sha, g.github_id, g.environment, '', '', "
            "CASE WHEN g.gate_passed THEN 1 ELSE 0 END FROM "
            + self._matching("github_deployments", "g")
            + " AND g.state = 'success'",
            {"shas": shas_in},
        )
        owner: dict[str, int] = {}
        stronger: dict[str, int] = {}
        github: dict[str, list[DeploymentRecord]] = {}
        stale: list[int] = []
        changes = self._changes
        groups = self._groups
        for source, sha, number, key, author, who, fresh in rows:
            if source == 2:
                github.setdefault(sha, []).append(
                    DeploymentRecord(key, bool(fresh), f"github {number}")
                )
                continue
            if source == 1:
                stronger[sha] = number
            else:
                owner[sha] = number
            if number not in changes:
                if fresh:
                    people = groups.get(who)
                    if people is None:
                        people = self._group(who)
                    changes[number] = LinkedChange(key, author, people)
                else:
                    stale.append(number)
        owner.update(stronger)  # a merge link wins over a listed commit
        if stale:
            self._load_slowly(sorted(set(stale)))
        out = {sha: changes[number] for sha, number in owner.items()}
        for sha, extra in github.items():
            found = out.get(sha)
            out[sha] = (
                LinkedChange(change_id=None, deployments=tuple(extra))
                if found is None
                else LinkedChange(
                    change_id=found.change_id,
                    author=found.author,
                    approvers=found.approvers,
                    deployments=found.deployments + tuple(extra),
                )
            )
        return out

    def _group(self, who: str) -> tuple[Approver, ...]:
        approvers, retro, pre = who.split("|")
        names = approvers.split(",") if approvers else []
        if retro:
            names.append(retro)
        if pre:
            names.append(PRE_APPROVED)
        people = self._groups[who] = tuple(Approver(name) for name in names)
        return people

    def _load_slowly(self, ids: list[int]) -> None:
        """Changes whose digest cache is behind (or absent): recompute the digest."""
        from changegate.reviews.models import Review

        for change_id in ids:
            change = self.session.get(Change, change_id)
            if change is None:
                continue
            digest = change.content_digest()
            names = self.session.scalars(
                select(Review.reviewer).where(
                    Review.change_id == change_id,
                    Review.verdict == "approve",
                    Review.content_digest == digest,
                )
            ).all()
            self.queries += 1
            rows = self._rows(
                self._statement(f"SELECT 0 AS src, '' AS sha, {self._named('id')} AS change_id"),
                {"id": change_id},
            )
            _, retro, pre = rows[0][5].split("|") if rows else ("", "", "")
            who = "|".join((",".join(names), retro, pre))
            self._changes[change_id] = LinkedChange(
                change.key, change.author, self._groups.get(who) or self._group(who)
            )


def audit_branch(
    session: Session,
    policy: Policy,
    repo: GitRepo | str | os.PathLike[str],
    branch: str,
    since: dt.datetime | dt.date | None = None,
    *,
    batch_size: int = 2000,
    progress: ProgressCallback | None = None,
) -> PipelinedAudit:
    """``changegate audit git``: the first-parent history of ``branch`` against the record."""
    git_repo = repo if isinstance(repo, GitRepo) else GitRepo(repo)
    return PipelinedAudit(
        git_repo,
        branch,
        since=since,
        lookup=DatabaseLookup(session, policy),
        batch_size=batch_size,
        progress=progress,
    )
