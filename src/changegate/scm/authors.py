"""Who wrote a change's code: the people who authored, committed or pushed its commits.

They count as authors of the change for segregation of duties (§7): like the change's
author, they may not approve it, and the policy's rules on authors deploying high-risk
changes apply to them.

Identities are recorded as git and GitHub report them (``CommitAuthor`` rows, audited) and
mapped to changegate users when the policy is applied, so that a user added or mapped
later still counts. A recorded identity is user U when:

- its GitHub login is U's GitHub login or U's name, or
- its git email is a GitHub no-reply address of U's login
  (``login@users.noreply.github.com``, ``12345+login@users.noreply.github.com``), or
- its git email is U's name, or the email's local part is U's name or U's GitHub login.

Git identities are self-declared, so the mapping errs towards counting someone as an
author: the cost is a reviewer who must ask a peer, never an approval that should not count.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import Row, bindparam, select
from sqlalchemy.orm import Session

from changegate.audit import events
from changegate.audit.service import record
from changegate.changes.models import Change
from changegate.db import utcnow
from changegate.scm.models import CommitAuthor
from changegate.users.models import User

_NOREPLY = re.compile(r"\A(?:\d+\+)?(?P<login>[^@]+)@users\.noreply\.github\.com\Z", re.I)
#: identities that are GitHub itself, never a person (web-flow commits, merges in the UI)
_GITHUB_ITSELF = {"web-flow", "noreply@github.com", "github"}


@dataclass(frozen=True)
class Identity:
    """One person behind one commit, as reported."""

    sha: str
    role: str  # author | committer | pusher
    login: str = ""
    name: str = ""
    email: str = ""

    def describe(self) -> str:
        who = self.login or (f"{self.name} <{self.email}>" if self.email else self.name)
        verb = {"author": "authored", "committer": "committed", "pusher": "pushed"}[self.role]
        return f"commit {self.sha[:12]} {verb} by {who}"


def record_identities(
    session: Session, change: Change, people: Iterable[Identity], *, source: str, actor: str
) -> list[CommitAuthor]:
    """Record who authored, committed or pushed commits of ``change`` (each once); audited."""
    if change.id is None:
        session.flush()
    existing = {
        (row.sha, row.role, row.login, row.email)
        for row in session.scalars(select(CommitAuthor).where(CommitAuthor.change_id == change.id))
    }
    added: list[CommitAuthor] = []
    for person in people:
        login = person.login.strip()[:100]
        email = person.email.strip().lower()[:320]
        if not login and not email:
            continue
        if login.lower() in _GITHUB_ITSELF or email in _GITHUB_ITSELF:
            continue
        key = (person.sha.lower(), person.role, login, email)
        if key in existing:
            continue
        existing.add(key)
        row = CommitAuthor(
            change_id=change.id,
            sha=person.sha.lower(),
            role=person.role,
            login=login,
            name=person.name.strip()[:200],
            email=email,
            source=source,
            created_at=utcnow(),
        )
        session.add(row)
        record(session, events.CommitAuthorRecorded, actor=actor, after=row)
        added.append(row)
    return added


def record_from_repository(
    session: Session, change: Change, repo_path: object, *, source: str, actor: str
) -> list[CommitAuthor]:
    """Record the git author and committer of each of ``change``'s commits found in the
    repository at ``repo_path`` (commits it does not hold are skipped)."""
    import os

    from changegate.scm.gitrepo import GitRepo

    if not change.commits or not isinstance(repo_path, str | os.PathLike):
        return []
    repo = GitRepo(repo_path)
    found = repo.identities(change.commits)
    people = identities_of((sha, *names) for sha, names in found.items())
    return record_identities(session, change, people, source=source, actor=actor)


def identities_of(commits: Iterable[tuple[str, str, str, str, str]]) -> list[Identity]:
    """The people behind commits as git records them, ``(sha, author name, author email,
    committer name, committer email)``: the author, and the committer when another email."""
    people: list[Identity] = []
    for sha, a_name, a_email, c_name, c_email in commits:
        people.append(Identity(sha, "author", name=a_name, email=a_email))
        if c_email.lower() != a_email.lower():
            people.append(Identity(sha, "committer", name=c_name, email=c_email))
    return people


def _candidates(row: CommitAuthor | Row[str, str, str, str, str]) -> tuple[set[str], set[str]]:
    """(logins, names) a recorded identity may be, lower case."""
    logins: set[str] = set()
    names: set[str] = set()
    if row.login:
        logins.add(row.login.lower())
        names.add(row.login.lower())
    if row.email:
        email = row.email.lower()
        names.add(email)
        match = _NOREPLY.match(email)
        if match is not None:
            logins.add(match.group("login"))
            names.add(match.group("login"))
        else:
            local = email.split("@", 1)[0]
            if local:
                logins.add(local)
                names.add(local)
    return logins, names


_ROWS = (  # built once: every approval and status read asks (columns, on the connection)
    select(
        CommitAuthor.sha,
        CommitAuthor.role,
        CommitAuthor.login,
        CommitAuthor.name,
        CommitAuthor.email,
    )
    .where(CommitAuthor.change_id == bindparam("change_id"))
    .order_by(CommitAuthor.id)
)


def commit_authors(session: Session, change: Change) -> dict[str, str]:
    """``user name -> why`` for each changegate user who authored, committed or pushed one of
    ``change``'s commits (the change's own author left out)."""
    if change.id is None:
        return {}
    session.flush()  # identities recorded in this transaction count
    rows = session.connection().execute(_ROWS, {"change_id": change.id}).all()
    if not rows:
        return {}
    users = session.execute(select(User.name, User.github_login)).all()
    by_name = {str(name).lower(): str(name) for name, _ in users}
    by_login = {str(login).lower(): str(name) for name, login in users if login}
    out: dict[str, str] = {}
    for row in rows:
        logins, names = _candidates(row)
        found = {by_login[x] for x in logins if x in by_login}
        found |= {by_name[x] for x in names if x in by_name}
        for name in sorted(found):
            if name != change.author:
                out.setdefault(name, _identity(row).describe())
    return out


def _identity(row: CommitAuthor | Row[str, str, str, str, str]) -> Identity:
    return Identity(row.sha, row.role, login=row.login, name=row.name, email=row.email)


def as_reasons(authors: Mapping[str, str]) -> str:
    return "; ".join(f"{name}: {why}" for name, why in authors.items())
