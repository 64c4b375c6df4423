"""Changes and commits: classification by the policy's path rules, the commit index, the class
floor, the change behind a commit, and the database side of the history audit.

Everything here flushes and never commits; the CLI or the API request owns the transaction.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session

from changegate.audit import events
from changegate.audit.service import record
from changegate.changes.floor import effective_class
from changegate.changes.models import Change
from changegate.db import utcnow
from changegate.errors import ChangegateError, InvalidInput
from changegate.policy.engine import ChangeFacts, evaluate
from changegate.policy.names import CLASS_NAMES
from changegate.scm.classify import Classification, RangeClassification, classify_git_range
from changegate.scm.gitrepo import Commit, GitRepo
from changegate.scm.history import (
    Approver,
    DeploymentRecord,
    Finding,
    HistoryAudit,
    LinkedChange,
    ProgressCallback,
    evaluate_commit,
)
from changegate.scm.models import ChangeClassification, ChangeCommit, ChangeIndex
from changegate.scm.sha import check_sha

if TYPE_CHECKING:
    from changegate.policy.schema import Policy

#: at most this many commits of a range or pull request are listed on its change
MAX_RANGE_COMMITS = 1000
SECURITY_FLAG = "security_impacting"


class NoLinkedChange(ChangegateError):
    """No change record is linked to a commit: for the gate, a closed gate (exit code 1)."""

    exit_code = 1
    http_status = 404


# -- classification against the policy ---------------------------------------------------


@dataclass(frozen=True)
class Requirement:
    rule: str
    section: str
    description: str
    stage: str

    def to_dict(self) -> dict[str, str]:
        return {
            "rule": self.rule,
            "section": self.section,
            "description": self.description,
            "stage": self.stage,
        }


@dataclass(frozen=True)
class PolicyClassification:
    """What the policy makes of a set of changed files.

    ``minimum_class`` is the floor: the highest class any matching path rule names, or the
    class the policy gives a matched category (emergency categories excepted: an emergency
    is declared by a person, never by files). A change record carries one category:
    ``category`` is the one of ``categories`` that brings the most requirements;
    ``other_requirements`` are those only the other categories would add, so a reader can
    split the change when they matter.
    """

    classification: Classification
    change_class: str
    minimum_class: str
    categories: tuple[str, ...]
    category: str | None
    components: tuple[str, ...]
    flags: tuple[str, ...]
    requirements: tuple[Requirement, ...]
    other_requirements: tuple[Requirement, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def security_impacting(self) -> bool:
        return SECURITY_FLAG in self.flags

    def to_dict(self) -> dict[str, Any]:
        return {
            "class": self.change_class,
            "minimum_class": self.minimum_class,
            "categories": list(self.categories),
            "category": self.category,
            "components": list(self.components),
            "flags": list(self.flags),
            "security_impacting": self.security_impacting,
            "requirements": [r.to_dict() for r in self.requirements],
            "other_requirements": [r.to_dict() for r in self.other_requirements],
            "notes": list(self.notes),
            "unmatched_files": list(self.classification.unmatched),
        }


def _rank(change_class: str) -> int:
    return CLASS_NAMES.index(change_class)


def minimum_class(policy: Policy, classification: Classification) -> str:
    from changegate.policy.catalogue import is_pre_approved

    floor = _rank(classification.minimum_class)
    for slug in classification.categories:
        category = policy.categories.get(slug)
        if category is not None and category.change_class != "emergency":
            floor = max(floor, _rank(category.change_class))
    if is_pre_approved(policy, CLASS_NAMES[floor]):
        floor = max(floor, _rank(_catalogue_floor(policy, classification)))
    return CLASS_NAMES[floor]


def _catalogue_floor(policy: Policy, classification: Classification) -> str:
    """A pre-approved class only when one catalogue entry covers every changed file (§3a);
    files it cannot place make the change normal, never standard."""
    from changegate.policy.catalogue import paths_covered, unplaced_class

    paths = [f.path for f in classification.files]
    for slug in classification.categories:
        if paths_covered(policy, slug, paths):
            return CLASS_NAMES[0]
    return unplaced_class(policy)


def category_fits(policy: Policy, slug: str, change_class: str) -> bool:
    """Whether the changes service accepts ``slug`` on a change of ``change_class``: the
    policy's class for it, or normal for a standard category (raising is allowed)."""
    category = policy.categories.get(slug)
    if category is None:
        return False
    return category.change_class == change_class or (
        category.change_class == "standard" and change_class == "normal"
    )


def _requirements(
    policy: Policy,
    *,
    change_class: str,
    category: str | None,
    components: Sequence[str],
    security_flag: bool,
) -> tuple[Requirement, ...]:
    facts = ChangeFacts(
        id="-",
        change_class=change_class,
        author="",
        risk={},
        category=category,
        components=tuple(components),
        security_flag=security_flag,
    )
    evaluation = evaluate(policy, facts, now=utcnow())
    rules = {rule.id: rule for rule in policy.rules}
    return tuple(
        Requirement(r.rule_id, r.section, rules[r.rule_id].description, r.stage)
        for r in evaluation.results
    )


def classify_for_policy(
    policy: Policy, classification: Classification, *, requested_class: str | None = None
) -> PolicyClassification:
    """Apply the policy to a path-rule classification.

    ``requested_class`` is the class a person asks for; below the floor it raises
    ``ClassTooLow``. Without it the change gets the floor.
    """
    floor = minimum_class(policy, classification)
    change_class = effective_class(requested_class, floor, CLASS_NAMES)
    components = classification.components
    security = SECURITY_FLAG in classification.flags
    candidates = [c for c in classification.categories if category_fits(policy, c, change_class)]
    notes: list[str] = []
    unfit = [c for c in classification.categories if c not in candidates]
    if unfit:
        notes.append(
            f"categor{'y' if len(unfit) == 1 else 'ies'} {', '.join(unfit)} cannot be carried "
            f"by a {change_class} change (the policy classifies it otherwise)"
        )
    by_category = {
        slug: _requirements(
            policy,
            change_class=change_class,
            category=slug,
            components=components,
            security_flag=security,
        )
        for slug in candidates
    }
    order = list(policy.categories)
    chosen = (
        max(candidates, key=lambda slug: (len(by_category[slug]), -order.index(slug)))
        if candidates
        else None
    )
    requirements = (
        by_category[chosen]
        if chosen is not None
        else _requirements(
            policy,
            change_class=change_class,
            category=None,
            components=components,
            security_flag=security,
        )
    )
    have = {r.rule for r in requirements}
    others: dict[str, Requirement] = {}
    for slug in candidates:
        for requirement in by_category[slug]:
            if requirement.rule not in have:
                others.setdefault(requirement.rule, requirement)
    if len(candidates) > 1:
        notes.append(
            f"the files fall in {len(candidates)} categories ({', '.join(candidates)}); a change "
            f"record carries one, {chosen}, the one with the most requirements"
            + (
                "; split the change to have the others enforced too"
                if others
                else "; the others add no requirement"
            )
        )
    return PolicyClassification(
        classification=classification,
        change_class=change_class,
        minimum_class=floor,
        categories=classification.categories,
        category=chosen,
        components=components,
        flags=classification.flags,
        requirements=requirements,
        other_requirements=tuple(others.values()),
        notes=tuple(notes),
    )


@dataclass(frozen=True)
class RangeResult:
    """A classified commit range: what git says and what the policy makes of it."""

    range: RangeClassification
    policy: PolicyClassification
    commits: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = self.range.to_dict()
        out.update(self.policy.to_dict())
        out["commits"] = list(self.commits)
        return out


def range_commits(
    repo: GitRepo, base: str, head: str, *, limit: int = MAX_RANGE_COMMITS
) -> list[str]:
    """The commits of ``base..head``, oldest first; the newest ``limit`` when there are more."""
    result = subprocess.run(
        ["git", "-C", str(repo.path), "rev-list", f"--max-count={limit}", f"{base}..{head}", "--"],
        capture_output=True,
        env={**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"},
        check=False,
    )
    if result.returncode != 0:
        first = result.stderr.decode("utf-8", "replace").strip().splitlines()
        raise InvalidInput(
            f"git rev-list {base[:12]}..{head[:12]} failed: {first[0] if first else 'no message'}",
            field="git_range",
        )
    return list(reversed(result.stdout.decode().split()))


def classify_range(
    policy: Policy,
    repo: GitRepo | str | os.PathLike[str],
    git_range: str,
    *,
    requested_class: str | None = None,
) -> RangeResult:
    """Classify ``BASE..HEAD`` (or ``BASE...HEAD``) of a real repository under the policy."""
    git_repo = repo if isinstance(repo, GitRepo) else GitRepo(repo)
    ranged = classify_git_range(git_repo, git_range, policy.path_rules, CLASS_NAMES)
    classified = classify_for_policy(policy, ranged.classification, requested_class=requested_class)
    commits = range_commits(git_repo, ranged.base, ranged.head)
    return RangeResult(range=ranged, policy=classified, commits=tuple(commits))


# -- the class floor and the commit index -----------------------------------------------


def set_classification(
    session: Session,
    change: Change,
    *,
    source: str,
    result: RangeResult,
    actor: str,
) -> ChangeClassification:
    """Record (or update) what the path rules say about ``change``; audited."""
    row = session.scalar(
        select(ChangeClassification).where(ChangeClassification.change_id == change.id)
    )
    now = utcnow()
    values = {
        "source": source,
        "git_range": result.range.git_range[:300],
        "base_sha": result.range.base,
        "head_sha": result.range.head,
        "minimum_class": result.policy.minimum_class,
        "categories": list(result.policy.categories),
        "components": list(result.policy.components),
        "flags": list(result.policy.flags),
        "files": len(result.range.files),
    }
    if row is None:
        row = ChangeClassification(change_id=change.id, created_at=now, updated_at=now, **values)
        session.add(row)
        record(session, events.ChangeClassified, actor=actor, after=row)
        return row
    if all(getattr(row, key) == value for key, value in values.items()):
        return row
    before = row.audit_state()
    for key, value in values.items():
        setattr(row, key, value)
    row.updated_at = now
    record(session, events.ChangeClassified, actor=actor, before=before, after=row)
    return row


def class_floor(session: Session, change: Change) -> str | None:
    if change.id is None:
        return None
    return session.scalar(
        select(ChangeClassification.minimum_class).where(
            ChangeClassification.change_id == change.id
        )
    )


def change_written(session: Session, policy: Policy, change: Change) -> None:
    """Called by the changes service each time a change is created or edited.

    Refuses a class below what the changed files of the change's pull request or range
    require (``ClassTooLow``), and components or a security flag they bring taken off (what
    the files say decides which reviews apply), and keeps the commit index and the digest
    cache current.
    """
    row = (
        session.scalar(
            select(ChangeClassification).where(ChangeClassification.change_id == change.id)
        )
        if change.id is not None
        else None
    )
    if row is not None:
        effective_class(change.change_class, row.minimum_class, CLASS_NAMES)
        dropped = [c for c in row.components if c not in (change.components or [])]
        if dropped:
            raise InvalidInput(
                f"--component: the changed files of {row.git_range} touch "
                f"{', '.join(dropped)}; keep {'them' if len(dropped) > 1 else 'it'} among the "
                "change's components (add others if you like)",
                field="component",
            )
        if SECURITY_FLAG in row.flags and not change.security_flag:
            raise InvalidInput(
                f"security_flag: the changed files of {row.git_range} are security-impacting "
                "by the policy's path rules; the flag stays set",
                field="security_flag",
            )
    sync_commit_index(session, change)


def sync_commit_index(session: Session, change: Change) -> None:
    if change.id is None:
        session.flush()
    wanted = list(dict.fromkeys(sha.lower() for sha in change.commits or []))
    existing = session.execute(
        select(ChangeCommit.id, ChangeCommit.sha).where(ChangeCommit.change_id == change.id)
    ).all()
    have = {sha for _, sha in existing}
    for row_id, sha in existing:
        if sha not in wanted:
            session.execute(delete(ChangeCommit).where(ChangeCommit.id == row_id))
    for sha in wanted:
        if sha not in have:
            session.add(ChangeCommit(change_id=change.id, sha=sha))
    index = session.get(ChangeIndex, change.id)
    digest = change.content_digest()
    if index is None:
        session.add(
            ChangeIndex(change_id=change.id, revision=change.revision, content_digest=digest)
        )
    else:
        index.revision = change.revision
        index.content_digest = digest
    session.flush()


# -- the change behind a commit -----------------------------------------------------------


#: the kinds of ``commit_links`` that cover a commit: only the merge commit GitHub reported.
#: ``reference`` (a commit message naming a change) and ``push`` (how references were linked
#: before schema 0007) are shown on the change and never open a gate.
GATE_LINKS = ("merge",)


@dataclass(frozen=True)
class CommitMatch:
    change: Change
    sha: str
    via: str  # merge | commit

    def describe(self) -> str:
        what = {"merge": "merge commit", "commit": "commit"}.get(self.via, self.via)
        return f"{self.sha[:12]} is a {what} of {self.change.key}"


def changes_for_commit(session: Session, sha: str) -> list[tuple[int, str]]:
    """(change id, how) pairs that cover the full commit ``sha``, strongest first: the merge
    commit of the change's pull request as GitHub reported it, or one of the change's own
    commits (its pull request's head among them). Exact matches only: an abbreviated SHA
    may name another commit. References (a commit message naming a change) cover nothing."""
    from changegate.audit.service import undescribed
    from changegate.github.models import CommitLink

    value = check_sha(sha)
    found: list[tuple[int, str]] = []
    # Each row relied on is checked against the audit event describing it, so a row written
    # behind the log's back links nothing (``audit verify`` names it): a merge link is an
    # audited row; the commit index is derived from the change's audited ``commits``.
    for link in session.scalars(
        select(CommitLink).where(CommitLink.sha == value, CommitLink.kind.in_(GATE_LINKS))
    ):
        if undescribed(session, "commit_link", link) is None:
            found.append((int(link.change_id), str(link.kind)))
    ids = session.scalars(select(ChangeCommit.change_id).where(ChangeCommit.sha == value)).all()
    if ids:
        for change in session.scalars(select(Change).where(Change.id.in_(ids))):
            listed = value in (c.lower() for c in change.commits or [])
            if listed and undescribed(session, "change", change) is None:
                found.append((int(change.id), "commit"))
    unique: dict[int, str] = {}
    for change_id, kind in found:
        unique.setdefault(change_id, kind)
    return list(unique.items())


def find_change_by_commit(session: Session, sha: str, *, lock: bool = False) -> CommitMatch:
    """The change a full commit SHA belongs to: its pull request's merge commit (strongest),
    or one of its own commits. Raises ``NoLinkedChange`` when none, ``InvalidInput`` when the
    SHA is not a full one or the commit belongs to several changes at the same strength."""
    from changegate.changes.service import get_change

    value = check_sha(sha)
    links = changes_for_commit(session, value)
    if not links:
        raise NoLinkedChange(
            f"no change record is linked to commit {value[:12]}: link it with "
            f"`changegate change edit CHG-n --commit {value}` (or open a pull request), "
            "or gate the change by its id",
            field="git-sha",
        )
    strength = {"merge": 0, "commit": 1}
    best = min(strength.get(kind, 3) for _, kind in links)
    top = [(cid, kind) for cid, kind in links if strength.get(kind, 3) == best]
    if len(top) > 1:
        keys = ", ".join(f"CHG-{cid}" for cid, _ in sorted(top))
        raise InvalidInput(
            f"commit {value[:12]} belongs to several changes ({keys}); give the change id "
            "instead of --git-sha",
            field="git-sha",
        )
    change_id, kind = top[0]
    return CommitMatch(
        change=get_change(session, f"CHG-{change_id}", lock=lock), sha=value, via=kind
    )


# -- the history audit's lookup -----------------------------------------------------------


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
            # indexes. Compiling it just in time costs more than it saves, and hash or merge
            # joins would read whole tables once per batch.
            for setting in ("jit", "enable_hashjoin", "enable_mergejoin"):
                self.session.execute(text(f"SET LOCAL {setting} = off"))
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
        if self._dialect == "sqlite":
            return f"json_each(?) b JOIN {table} {alias} ON {alias}.sha = b.value WHERE 1 = 1"
        return f"{table} {alias} WHERE {alias}.sha = ANY(CAST(? AS text[]))"

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

    def _rows(self, sql: str, *params: object) -> list[Any]:
        connection = self.session.connection().connection.driver_connection
        assert connection is not None
        if self._dialect != "sqlite":
            sql = sql.replace("?", "%s")
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
            shas_in,
            shas_in,
            shas_in,
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
                self._statement("SELECT 0 AS src, '' AS sha, ? AS change_id"), change_id
            )
            _, retro, pre = rows[0][5].split("|") if rows else ("", "", "")
            who = "|".join((",".join(names), retro, pre))
            self._changes[change_id] = LinkedChange(
                change.key, change.author, self._groups.get(who) or self._group(who)
            )


class PipelinedAudit(HistoryAudit):
    """A history audit whose lookups run one batch ahead, on a worker thread.

    While the database answers for batch N+1 (the driver releases the GIL while it waits),
    this thread evaluates batch N and parses batch N+2 from ``git log``. Findings, their
    order and the summary are those of ``HistoryAudit``. The lookup (and its database
    session) is used by the worker thread only, one batch at a time.
    """

    def _run(self, commits: Iterator[Commit]) -> Iterator[Finding]:
        from concurrent.futures import ThreadPoolExecutor

        size = self._batch_size
        lookup = self._lookup
        pending: tuple[list[Commit], Future[Mapping[str, LinkedChange]]] | None = None
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="changegate-lookup") as pool:
            batch: list[Commit] = []
            for commit in commits:
                batch.append(commit)
                if len(batch) >= size:
                    ahead = (batch, pool.submit(lookup, [c.sha for c in batch]))
                    if pending is not None:
                        yield from self._evaluate(*pending)
                    pending, batch = ahead, []
            if batch:
                ahead = (batch, pool.submit(lookup, [c.sha for c in batch]))
                if pending is not None:
                    yield from self._evaluate(*pending)
                pending = ahead
            if pending is not None:
                yield from self._evaluate(*pending)
        self.summary.complete = True

    def _evaluate(
        self, batch: list[Commit], future: Future[Mapping[str, LinkedChange]]
    ) -> list[Finding]:
        links = future.result()
        summary = self.summary
        counts = summary.problems
        get = links.get
        findings: list[Finding] = []
        for commit in batch:
            finding = evaluate_commit(commit, get(commit.sha))
            if finding is not None:
                findings.append(finding)
                for problem in finding.problems:
                    counts[problem] += 1
        summary.commits_scanned += len(batch)
        summary.commits_with_findings += len(findings)
        if self._progress is not None:
            self._progress(summary.commits_scanned)
        return findings


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


def parse_since(value: str | None) -> dt.datetime | dt.date | None:
    """``--since`` as a date (YYYY-MM-DD) or an ISO 8601 timestamp."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        if len(text) == 10:
            return dt.date.fromisoformat(text)
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidInput(
            f"--since {value!r} is not a date; use YYYY-MM-DD or an ISO 8601 timestamp",
            field="since",
        ) from exc
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


# -- changes created from a commit range -------------------------------------------------


def create_change_from_range(
    session: Session,
    policy: Policy,
    *,
    repo: GitRepo | str | os.PathLike[str],
    git_range: str,
    author: str,
    requested_class: str | None,
    fields: Mapping[str, Any],
) -> tuple[Change, RangeResult]:
    """Create a change for ``git_range``: class, category, components, flags and commits come
    from the changed files; the class may be raised above the rules' floor, never lowered."""
    from changegate.changes.schemas import ChangeCreate
    from changegate.changes.service import create_change

    result = classify_range(policy, repo, git_range, requested_class=requested_class)
    classified = result.policy
    values: dict[str, Any] = {
        **fields,
        "author": author,
        "change_class": classified.change_class,
        "components": unique([*fields.get("components", []), *classified.components]),
        "commits": list(result.commits),
    }
    if classified.category is not None and not fields.get("category"):
        values["category"] = classified.category
    if classified.security_impacting:
        values["security_flag"] = True
    change = create_change(session, policy, ChangeCreate(**values), placed=True)
    set_classification(session, change, source="git_range", result=result, actor=author)
    from changegate.scm.authors import record_from_repository

    git_repo = repo if isinstance(repo, GitRepo) else GitRepo(repo)
    record_from_repository(session, change, git_repo.path, source="git", actor=author)
    return change, result
