"""Benchmark: the history audit against git's own first-parent log, in the same run.

    python bench/history_audit.py                 # builds a 100,000-commit repository
    python bench/history_audit.py --repo PATH --branch main
    python bench/history_audit.py --commits 200000 --runs 5 --json
    python bench/history_audit.py --lookup database       # changegate's tables, SQLite
    python bench/history_audit.py --lookup database --db postgresql://...
    python bench/history_audit.py --lookup server         # the same behind `changegate serve`

It prints, for the same repository and branch:

- ``git log --first-parent --format=%H%x00%an%x00%s`` wall time and commits per second;
- ``audit_history`` (every commit looked up, evaluated, findings collected) wall time and
  commits per second, with an in-memory lookup, or (``--lookup database``) with
  ``changegate.scm.history_db.DatabaseLookup`` over a migrated changegate database holding the
  same links as rows: one change per linked commit, its approvals, its deployments and the
  deployments GitHub reported (what ``changegate audit git`` runs);
- the ratio of the two. Target: the audit runs at least a third of git's rate.

The generated repository (``git fast-import``, a few seconds) has one merge of a side
branch every fifth first-parent commit, so the walk must really follow first parents, and
a lookup in which most commits have an approved change and some do not, so the audit
produces findings as a real one would.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, ExitStack, contextmanager, nullcontext
from pathlib import Path

from changegate.scm.gitrepo import GitRepo
from changegate.scm.history import (
    Approver,
    DeploymentRecord,
    LinkedChange,
    audit_history,
)

GIT_LOG_FORMAT = "--format=%H%x00%an%x00%s"
AUTHORS = [("Alice Example", "alice"), ("Bob Example", "bob"), ("Carol Example", "carol")]


def _fast_import_stream(commits: int, merge_every: int) -> Iterator[bytes]:
    """A fast-import stream with ``commits`` first-parent commits on refs/heads/main."""
    mark = 0
    main_mark = 0
    timestamp = 1_600_000_000
    for i in range(commits):
        timestamp += 60
        name, login = AUTHORS[i % len(AUTHORS)]
        side_mark = 0
        if merge_every and i and i % merge_every == 0:
            # One commit on a side branch, merged back below.
            mark += 1
            side_mark = mark
            body = f"side work {i}\n".encode()
            message = f"feature work for change {i}\n".encode()
            yield (
                (
                    f"commit refs/heads/side\nmark :{side_mark}\n"
                    f"author {name} <{login}@example.com> {timestamp} +0000\n"
                    f"committer {name} <{login}@example.com> {timestamp} +0000\n"
                    f"data {len(message)}\n"
                ).encode()
                + message
                + f"from :{main_mark}\n".encode()
            )
            yield f"M 644 inline side/{i % 97}.txt\ndata {len(body)}\n".encode() + body + b"\n"
        mark += 1
        if side_mark:
            message = (
                f"Merge pull request #{i} from {login}/change-{i}\n\n"
                f"Change {i}\n\nChange-Id: CHG-{i}\n"
            ).encode()
        else:
            message = f"Change {i}: update component {i % 53}\n\nChange-Id: CHG-{i}\n".encode()
        body = f"value {i}\n".encode()
        header = (
            f"commit refs/heads/main\nmark :{mark}\n"
            f"author {name} <{login}@example.com> {timestamp} +0000\n"
            f"committer {name} <{login}@example.com> {timestamp} +0000\n"
            f"data {len(message)}\n"
        ).encode() + message
        if main_mark:
            header += f"from :{main_mark}\n".encode()
        if side_mark:
            header += f"merge :{side_mark}\n".encode()
        if i % 10 == 0:
            # Touch a file now and then; every new tree costs fast-import time, and a log
            # walk without pathspecs never reads trees anyway.
            header += f"M 644 inline src/module{i % 211}.py\ndata {len(body)}\n".encode() + body
        yield header + b"\n"
        main_mark = mark


def build_repository(path: Path, commits: int, merge_every: int = 5) -> None:
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    process = subprocess.Popen(
        ["git", "-C", str(path), "fast-import", "--quiet"], stdin=subprocess.PIPE
    )
    assert process.stdin is not None
    buffer: list[bytes] = []
    size = 0
    for piece in _fast_import_stream(commits, merge_every):
        buffer.append(piece)
        size += len(piece)
        if size > 1 << 20:
            process.stdin.write(b"".join(buffer))
            buffer, size = [], 0
    process.stdin.write(b"".join(buffer))
    process.stdin.close()
    if process.wait() != 0:
        raise SystemExit("git fast-import failed")
    subprocess.run(["git", "-C", str(path), "checkout", "-q", "-f", "main"], check=True)
    # As 'git gc' leaves a real repository: a commit-graph makes git's own walk faster.
    subprocess.run(["git", "-C", str(path), "commit-graph", "write", "--reachable"], check=True)


def first_parent_shas(path: Path, branch: str) -> list[str]:
    output = subprocess.run(
        ["git", "-C", str(path), "rev-list", "--first-parent", branch],
        capture_output=True,
        check=True,
    ).stdout
    return output.decode().split()


def memory_lookup(shas: Sequence[str]) -> Callable[[Sequence[str]], Mapping[str, LinkedChange]]:
    """A dict-backed lookup, shaped like a healthy history with a few holes.

    Of every 100 commits: 5 have no linked change, 3 are approved only by their author,
    2 were deployed once without a passing gate; the rest are clean. Approvers carry their
    emails, so the audit also compares them with each commit's author.
    """
    links: dict[str, LinkedChange] = {}
    for index, sha in enumerate(shas):
        kind = index % 100
        if kind < 5:
            continue  # no linked change
        author = AUTHORS[index % len(AUTHORS)][1]
        approver = author if kind < 8 else AUTHORS[(index + 1) % len(AUTHORS)][1]
        links[sha] = LinkedChange(
            change_id=f"CHG-{index}",
            author=author,
            approvers=(Approver(approver, (f"{approver}@corp.example",)),),
            deployments=(DeploymentRecord("production", kind >= 10 or kind < 8, str(index)),),
        )

    def lookup(batch: Sequence[str]) -> Mapping[str, LinkedChange]:
        return {sha: links[sha] for sha in batch if sha in links}

    return lookup


def _kind(index: int) -> tuple[int, str, str]:
    """The memory lookup's pattern for commit ``index``: (kind, author, approver)."""
    kind = index % 100
    author = AUTHORS[index % len(AUTHORS)][1]
    approver = author if kind < 8 else AUTHORS[(index + 1) % len(AUTHORS)][1]
    return kind, author, approver


def build_database(url: str, shas: Sequence[str]) -> None:
    """A migrated changegate database holding the memory lookup's links as rows.

    Written in bulk (benchmark setup, not through the services and the audit log): per
    linked commit a change, its commit in the commit index with the digest cache, an
    approval bound to that digest, and a recorded deployment (or, for the ungated ones, a
    deployment GitHub reported without a passing gate).
    """
    from sqlalchemy import insert

    from changegate.changes.models import Change
    from changegate.db import make_engine, utcnow
    from changegate.deployments.models import Deployment
    from changegate.github.models import GitHubDeployment
    from changegate.migrate import upgrade
    from changegate.reviews.models import Review
    from changegate.scm.models import ChangeCommit, ChangeIndex

    engine = make_engine(url)
    upgrade(engine)
    now = utcnow()
    rows: dict[str, list[dict[str, object]]] = {
        "changes": [],
        "commits": [],
        "index": [],
        "reviews": [],
        "deployments": [],
        "github": [],
    }
    for index, sha in enumerate(shas):
        kind, author, approver = _kind(index)
        if kind < 5:
            continue
        change_id = index + 1
        digest = f"{change_id:064x}"
        rows["changes"].append(
            {
                "id": change_id,
                "title": f"Change {index}",
                "description": "",
                "change_class": "normal",
                "components": [],
                "providers": [],
                "risk": {},
                "rollback_plan": "",
                "justification": "",
                "links": [],
                "commits": [sha],
                "security_flag": False,
                "author": author,
                "state": "deployed",
                "revision": 1,
                "created_at": now,
                "updated_at": now,
                "submitted_at": now,
            }
        )
        rows["commits"].append({"change_id": change_id, "sha": sha})
        rows["index"].append({"change_id": change_id, "revision": 1, "content_digest": digest})
        rows["reviews"].append(
            {
                "change_id": change_id,
                "reviewer": approver,
                "verdict": "approve",
                "comment": "",
                "content_digest": digest,
                "roles": "engineer",
                "created_at": now,
            }
        )
        if kind in (8, 9):
            rows["github"].append(
                {
                    "github_id": change_id,
                    "repository": "bench/repo",
                    "sha": sha,
                    "ref": "main",
                    "environment": "production",
                    "creator_login": author,
                    "state": "success",
                    "change_id": change_id,
                    "gate_passed": False,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        else:
            rows["deployments"].append(
                {
                    "change_id": change_id,
                    "environment": "production",
                    "version": f"v{index}",
                    "kind": "deploy",
                    "actor": "carol",
                    "reason": "",
                    "bypass": False,
                    "created_at": now,
                }
            )
    tables = {
        "changes": Change,
        "commits": ChangeCommit,
        "index": ChangeIndex,
        "reviews": Review,
        "deployments": Deployment,
        "github": GitHubDeployment,
    }
    with engine.begin() as conn:
        for name, model in tables.items():
            batch = rows[name]
            for start in range(0, len(batch), 20_000):
                conn.execute(insert(model), batch[start : start + 20_000])
    if engine.dialect.name == "postgresql":
        # what autovacuum would have done to a database that grew to this size
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    engine.dispose()


LookupFactory = Callable[[], AbstractContextManager[Callable[..., Mapping[str, LinkedChange]]]]


def memory_factory(
    _path: Path, _branch: str, shas: list[str], _scratch: Path, _db: str | None
) -> LookupFactory:
    lookup = memory_lookup(shas)
    return lambda: nullcontext(lookup)


def database_factory(
    _path: Path, _branch: str, shas: list[str], scratch: Path, db: str | None
) -> LookupFactory:
    from changegate.db import make_engine, session_scope
    from changegate.policy.loader import load_policy
    from changegate.scm.history_db import DatabaseLookup

    url = db or f"sqlite:///{scratch / 'changegate.db'}"
    build_database(url, shas)
    engine = make_engine(url)
    policy = load_policy().policy

    @contextmanager
    def fresh() -> Iterator[Callable[..., Mapping[str, LinkedChange]]]:
        # a new lookup per run: nothing cached from an earlier run
        with session_scope(engine, write=False) as session:
            yield DatabaseLookup(session, policy)

    return fresh


#: what outlives one lookup factory: the server of ``--lookup server``
RESOURCES = ExitStack()


def server_factory(
    _path: Path, _branch: str, shas: list[str], scratch: Path, db: str | None
) -> LookupFactory:
    """``changegate audit git`` with CHANGEGATE_URL: the same database behind ``changegate
    serve``, each batch one ``POST /api/audit/commit-lookup`` from the remote backend."""
    sys.path.insert(0, str(Path(__file__).parent))
    from gate_latency import server, token_for

    from changegate.cli.remote.client import Client
    from changegate.cli.remote.git import RemoteGit
    from changegate.db import make_engine, session_scope
    from changegate.policy.loader import load_policy
    from changegate.users.service import add_user

    url = db or f"sqlite:///{scratch / 'changegate.db'}"
    build_database(url, shas)
    engine = make_engine(url)
    with session_scope(engine) as session:
        add_user(session, load_policy().policy, name="auditor", roles=["auditor"])
    engine.dispose()
    base = RESOURCES.enter_context(server(url))
    backend = RemoteGit(Client(base, token_for(url, "auditor")))
    return backend.lookup


LOOKUPS: dict[str, Callable[[Path, str, list[str], Path, str | None], LookupFactory]] = {
    "memory": memory_factory,
    "database": database_factory,
    "server": server_factory,
}


def time_git_log(path: Path, branch: str) -> tuple[float, int]:
    """git's own rate, at its best: fully buffered output (GIT_FLUSH=0) into a pipe."""
    start = time.perf_counter()
    output = subprocess.run(
        ["git", "-C", str(path), "log", "--first-parent", GIT_LOG_FORMAT, branch, "--"],
        stdout=subprocess.PIPE,
        env={**os.environ, "GIT_FLUSH": "0"},
        check=True,
    ).stdout
    elapsed = time.perf_counter() - start
    return elapsed, output.count(b"\n")


def time_audit(
    path: Path, branch: str, make_lookup: LookupFactory, batch_size: int, *, pipelined: bool
) -> tuple[float, int, int]:
    from changegate.scm.history_pipelined import PipelinedAudit

    start = time.perf_counter()
    with make_lookup() as lookup:
        if pipelined:
            # what `changegate audit git` runs: lookups one batch ahead, on a worker thread
            audit = PipelinedAudit(
                GitRepo(path),
                branch,
                since=None,
                lookup=lookup,
                batch_size=batch_size,
                progress=None,
            )
        else:
            audit = audit_history(GitRepo(path), branch, lookup=lookup, batch_size=batch_size)
        findings = sum(1 for _ in audit)
    elapsed = time.perf_counter() - start
    return elapsed, audit.summary.commits_scanned, findings


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", type=Path, help="existing repository (default: build one)")
    parser.add_argument("--branch", default="main")
    parser.add_argument("--commits", type=int, default=100_000, help="first-parent commits")
    parser.add_argument("--runs", type=int, default=3, help="timed runs of each (median)")
    parser.add_argument("--lookup", choices=sorted(LOOKUPS), default="memory")
    parser.add_argument(
        "--db", help="database URL for --lookup database (default: SQLite in a temp dir)"
    )
    parser.add_argument("--batch-size", type=int, default=2000, help="SHAs per lookup call")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="changegate-bench-") as scratch, RESOURCES:
        if args.repo is None:
            path = Path(scratch) / "repo"
            start = time.perf_counter()
            build_repository(path, args.commits)
            build_seconds: float | None = time.perf_counter() - start
        else:
            path = args.repo
            build_seconds = None
        shas = first_parent_shas(path, args.branch)
        start = time.perf_counter()
        lookup = LOOKUPS[args.lookup](path, args.branch, shas, Path(scratch), args.db)
        setup_seconds = time.perf_counter() - start

        # Warm the page cache and git's object access once before timing either side.
        time_git_log(path, args.branch)
        git_times: list[float] = []
        audit_times: list[float] = []
        git_count = audit_count = findings = 0
        for _ in range(args.runs):
            seconds, git_count = time_git_log(path, args.branch)
            git_times.append(seconds)
            seconds, audit_count, findings = time_audit(
                path, args.branch, lookup, args.batch_size, pipelined=args.lookup != "memory"
            )
            audit_times.append(seconds)

    git_seconds = statistics.median(git_times)
    audit_seconds = statistics.median(audit_times)
    git_rate = git_count / git_seconds
    audit_rate = audit_count / audit_seconds
    ratio = audit_rate / git_rate
    result = {
        "repository": "generated" if args.repo is None else str(args.repo),
        "build_seconds": build_seconds,
        "first_parent_commits": len(shas),
        "runs": args.runs,
        "lookup": args.lookup,
        "lookup_setup_seconds": setup_seconds,
        "batch_size": args.batch_size,
        "git_log_seconds": git_seconds,
        "git_log_commits_per_second": git_rate,
        "audit_seconds": audit_seconds,
        "audit_commits_per_second": audit_rate,
        "audit_findings": findings,
        "ratio": ratio,
        "target_ratio": 1 / 3,
        "meets_target": ratio >= 1 / 3,
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
    }
    if git_count != audit_count:
        raise SystemExit(f"git log saw {git_count} commits but the audit saw {audit_count}")
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        built = f", built in {build_seconds:.1f} s" if build_seconds is not None else ""
        print(f"repository: {result['repository']} ({len(shas):,} first-parent commits{built})")
        print(f"median of {args.runs} runs each, in this process, on the same repository:")
        print(
            f"  git log --first-parent --format=%H%x00%an%x00%s  "
            f"{git_seconds:7.3f} s  {git_rate:12,.0f} commits/s"
        )
        print(
            f"  audit_history ({args.lookup} lookup){' ' * (16 - len(args.lookup))}"
            f"{audit_seconds:7.3f} s  {audit_rate:12,.0f} commits/s  ({findings:,} findings)"
        )
        verdict = "meets" if ratio >= 1 / 3 else "MISSES"
        print(f"  ratio audit/git: {ratio:.2f} ({verdict} the target of 0.33)")
    return 0 if ratio >= 1 / 3 else 1


if __name__ == "__main__":
    raise SystemExit(main())
