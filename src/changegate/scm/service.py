"""Changes and commits: classification by the policy's path rules, the commit index, the class
floor, the change behind a commit, and the database side of the history audit.

Everything here flushes and never commits; the CLI or the API request owns the transaction.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from changegate.audit import events
from changegate.audit.service import record
from changegate.changes.models import Change
from changegate.db import utcnow
from changegate.errors import ChangegateError, InvalidInput
from changegate.policy.engine import ChangeFacts, evaluate
from changegate.policy.schema import CLASS_NAMES, Policy
from changegate.scm.classify import RangeClassification, classify_git_range
from changegate.scm.gitrepo import GitRepo
from changegate.scm.history import Approver, DeploymentRecord, LinkedChange
from changegate.scm.models import ChangeClassification, ChangeCommit, ChangeIndex
from changegate.scm.pathrules import Classification, effective_class

#: at most this many commits of a range or pull request are listed on its change
MAX_RANGE_COMMITS = 1000
SECURITY_FLAG = "security_impacting"
_HEX = re.compile(r"\A[0-9a-f]{7,64}\Z")


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
    floor = _rank(classification.minimum_class)
    for slug in classification.categories:
        category = policy.categories.get(slug)
        if category is not None and category.change_class != "emergency":
            floor = max(floor, _rank(category.change_class))
    return CLASS_NAMES[floor]


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
    require (``ClassTooLow``), and keeps the commit index and the digest cache current.
    """
    floor = class_floor(session, change)
    if floor is not None:
        effective_class(change.change_class, floor, CLASS_NAMES)
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


@dataclass(frozen=True)
class CommitMatch:
    change: Change
    sha: str
    via: str  # merge | push | commit

    def describe(self) -> str:
        what = {
            "merge": "merge commit",
            "push": "pushed commit",
            "commit": "commit",
        }.get(self.via, self.via)
        return f"{self.sha[:12]} is a {what} of {self.change.key}"


def check_sha(sha: str, *, field: str = "git-sha") -> str:
    value = sha.strip().lower()
    if not _HEX.match(value):
        raise InvalidInput(
            f"--{field} {sha!r} is not a commit SHA; give 7 to 64 hex digits, e.g. $GITHUB_SHA",
            field=field,
        )
    return value


def changes_for_commit(session: Session, sha: str) -> list[tuple[int, str]]:
    """(change id, how) pairs linked to ``sha`` (full or abbreviated), strongest link first."""
    from changegate.github.models import CommitLink

    value = check_sha(sha)
    found: list[tuple[int, str]] = []

    def prefix(column: Any) -> Any:
        return column == value if len(value) >= 40 else column.like(value + "%")

    for change_id, kind in session.execute(
        select(CommitLink.change_id, CommitLink.kind).where(prefix(CommitLink.sha))
    ):
        found.append((int(change_id), str(kind)))
    for (change_id,) in session.execute(
        select(ChangeCommit.change_id).where(prefix(ChangeCommit.sha))
    ):
        found.append((int(change_id), "commit"))
    # Abbreviated SHAs on changes (``--commit abc1234``) match the full SHA they start.
    if len(value) >= 40:
        for change_id, short in session.execute(
            select(ChangeCommit.change_id, ChangeCommit.sha).where(
                func.length(ChangeCommit.sha) < len(value)
            )
        ):
            if value.startswith(short):
                found.append((int(change_id), "commit"))
    unique: dict[int, str] = {}
    for change_id, kind in found:
        unique.setdefault(change_id, kind)
    return list(unique.items())


def find_change_by_commit(session: Session, sha: str, *, lock: bool = False) -> CommitMatch:
    """The change a commit belongs to: a merge or pushed commit linked to it (strongest), or
    one of its listed commits. Raises ``NoLinkedChange`` when none, ``InvalidInput`` when
    the commit belongs to several changes at the same strength."""
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
    strength = {"merge": 0, "push": 1, "commit": 2}
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
    """The history audit's ``lookup`` backed by the database, a few queries per batch.

    For a batch of SHAs: the commit links and the indexed ``changes.commits`` (one query
    each), the deployments GitHub reported (one), then, for changes not seen in an earlier
    batch, their rows, approvals, emergency reviews and deployments (one query each). An
    approval counts when it is bound to the change's present content (the digest cache
    is checked against the change's revision and recomputed when stale), and so does an
    emergency change's retrospective review and a standard change's pre-approval.
    """

    session: Session
    policy: Policy
    queries: int = 0
    _changes: dict[int, LinkedChange] = field(default_factory=dict)
    _short: dict[int, dict[str, int]] | None = None

    def _abbreviated(self) -> dict[int, dict[str, int]]:
        if self._short is None:
            self._short = {}
            self.queries += 1
            for change_id, sha in self.session.execute(
                select(ChangeCommit.change_id, ChangeCommit.sha).where(
                    func.length(ChangeCommit.sha) < 40
                )
            ):
                self._short.setdefault(len(sha), {}).setdefault(str(sha), int(change_id))
        return self._short

    def __call__(self, shas: Sequence[str]) -> Mapping[str, LinkedChange]:
        from changegate.github.models import CommitLink, GitHubDeployment

        session = self.session
        batch = list(shas)
        owner: dict[str, int] = {}
        # weakest first, so that stronger links overwrite
        for change_id, sha in session.execute(
            select(ChangeCommit.change_id, ChangeCommit.sha).where(ChangeCommit.sha.in_(batch))
        ):
            owner[sha] = int(change_id)
        short = self._abbreviated()
        if short:
            for sha in batch:
                if sha not in owner:
                    for length, table in short.items():
                        hit = table.get(sha[:length])
                        if hit is not None:
                            owner[sha] = hit
                            break
        for change_id, sha in session.execute(
            select(CommitLink.change_id, CommitLink.sha).where(CommitLink.sha.in_(batch))
        ):
            owner[sha] = int(change_id)
        github: dict[str, list[DeploymentRecord]] = {}
        for sha, environment, passed, github_id in session.execute(
            select(
                GitHubDeployment.sha,
                GitHubDeployment.environment,
                GitHubDeployment.gate_passed,
                GitHubDeployment.github_id,
            ).where(GitHubDeployment.sha.in_(batch), GitHubDeployment.state == "success")
        ):
            github.setdefault(sha, []).append(
                DeploymentRecord(environment, bool(passed), f"github {github_id}")
            )
        self.queries += 3
        missing = {cid for cid in owner.values() if cid not in self._changes}
        if missing:
            self._load(sorted(missing))
        out: dict[str, LinkedChange] = {}
        for sha in batch:
            linked_id = owner.get(sha)
            extra = github.get(sha)
            if linked_id is None:
                if extra:
                    out[sha] = LinkedChange(change_id=None, deployments=tuple(extra))
                continue
            linked = self._changes[linked_id]
            if extra:
                linked = LinkedChange(
                    change_id=linked.change_id,
                    author=linked.author,
                    approvers=linked.approvers,
                    deployments=linked.deployments + tuple(extra),
                )
            out[sha] = linked
        return out

    def _load(self, ids: list[int]) -> None:
        from changegate.deployments.models import Deployment
        from changegate.incidents.models import EmergencyReview
        from changegate.reviews.models import Review

        session = self.session
        rows = session.execute(
            select(
                Change.id,
                Change.author,
                Change.change_class,
                Change.revision,
                Change.submitted_at,
                ChangeIndex.revision,
                ChangeIndex.content_digest,
            )
            .outerjoin(ChangeIndex, ChangeIndex.change_id == Change.id)
            .where(Change.id.in_(ids))
        ).all()
        digests: dict[int, str] = {}
        meta: dict[int, tuple[str, str, bool]] = {}
        stale: list[int] = []
        for change_id, author, change_class, revision, submitted, cached_rev, digest in rows:
            spec = self.policy.classes.get(change_class)  # type: ignore[call-overload]
            meta[change_id] = (
                author,
                change_class,
                bool(spec is not None and spec.pre_approved and submitted is not None),
            )
            if digest is not None and cached_rev == revision:
                digests[change_id] = digest
            else:
                stale.append(change_id)
        for change_id in stale:
            change = session.get(Change, change_id)
            if change is not None:
                digests[change_id] = change.content_digest()
        approvers: dict[int, list[Approver]] = {}
        for change_id, reviewer, digest in session.execute(
            select(Review.change_id, Review.reviewer, Review.content_digest).where(
                Review.change_id.in_(ids), Review.verdict == "approve"
            )
        ):
            if digests.get(change_id) == digest:
                approvers.setdefault(change_id, []).append(Approver(reviewer))
        for change_id, reviewer in session.execute(
            select(EmergencyReview.change_id, EmergencyReview.reviewer).where(
                EmergencyReview.change_id.in_(ids)
            )
        ):
            approvers.setdefault(change_id, []).append(Approver(reviewer))
        deployed: dict[int, list[DeploymentRecord]] = {}
        for change_id, environment, deployment_id in session.execute(
            select(Deployment.change_id, Deployment.environment, Deployment.id).where(
                Deployment.change_id.in_(ids), Deployment.kind == "deploy"
            )
        ):
            # recorded by `deploy`, which records a deployment only when its gate passed
            deployed.setdefault(change_id, []).append(
                DeploymentRecord(environment, True, str(deployment_id))
            )
        self.queries += 4
        for change_id, (author, _cls, pre_approved) in meta.items():
            people = approvers.get(change_id, [])
            if pre_approved:
                people.append(Approver(PRE_APPROVED))
            self._changes[change_id] = LinkedChange(
                change_id=f"CHG-{change_id}",
                author=author,
                approvers=tuple(people),
                deployments=tuple(deployed.get(change_id, ())),
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
    change = create_change(session, policy, ChangeCreate(**values))
    set_classification(session, change, source="git_range", result=result, actor=author)
    return change, result
