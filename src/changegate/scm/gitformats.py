"""git's machine formats: the records changegate reads (a commit of the log, a changed file,
a revision range) and the parsers of the NUL-separated output of ``git log -z``,
``git diff-tree -z --raw`` and ``git cat-file --batch``.

Pure: no process is run here (``changegate.scm.gitrepo`` runs git and hands its output to
these parsers), so paths and messages with spaces, newlines or non-ASCII characters are
tested without a repository.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, NamedTuple

from changegate.scm.errors import BadRevision, GitError

READ_SIZE = 1 << 20

# Fields of one commit in the streamed log, separated by NUL; git's -z ends each record
# with one more NUL. The trailers come last and are unfolded, one "Key: value" per line;
# without trailers the last field is empty (asking git to parse every message body costs
# it about a fifth more time, and the history audit does not need them).
LOG_FORMAT_BASE = "%H%x00%P%x00%an%x00%ae%x00%cI%x00%s%x00"
LOG_FORMAT = LOG_FORMAT_BASE + "%(trailers:only,unfold)"
LOG_FIELDS = 7


class Commit(NamedTuple):
    """One commit of a first-parent walk, as git reports it."""

    sha: str
    parents: tuple[str, ...]
    author_name: str
    author_email: str
    committed_at: str  # committer date, strict ISO 8601 with offset
    subject: str
    trailers: tuple[tuple[str, str], ...]

    def trailer(self, key: str) -> str | None:
        """The value of the first trailer named ``key`` (case-insensitive), if any."""
        wanted = key.lower()
        for name, value in self.trailers:
            if name.lower() == wanted:
                return value
        return None

    @property
    def is_merge(self) -> bool:
        return len(self.parents) > 1


@dataclass(frozen=True, slots=True)
class ChangedFile:
    """One entry of a diff between two commits.

    ``status`` is git's letter: A added, M modified, D deleted, R renamed, C copied,
    T type changed. ``old_path`` is set for renames and copies. ``old_oid``/``new_oid``
    are blob ids (None on the side where the file does not exist). ``old_content`` and
    ``new_content`` are filled only when contents were asked for, and stay None for a side
    that does not exist or for a submodule (which has no blob).
    """

    status: str
    path: str
    old_path: str | None
    old_oid: str | None
    new_oid: str | None
    old_mode: str
    new_mode: str
    similarity: int | None = None
    old_content: bytes | None = None
    new_content: bytes | None = None

    @property
    def paths(self) -> tuple[str, ...]:
        """Every path this entry touches: both sides of a rename, else the one path."""
        if self.old_path is not None and self.old_path != self.path:
            return (self.old_path, self.path)
        return (self.path,)


@dataclass(frozen=True, slots=True)
class RevisionRange:
    """``base..head`` (two dots) or ``base...head`` (three dots, from the merge base)."""

    base: str
    head: str
    symmetric: bool = False

    @classmethod
    def parse(cls, text: str) -> RevisionRange:
        """Parse ``BASE..HEAD`` or ``BASE...HEAD``; an empty side means ``HEAD``."""
        if "..." in text:
            base, _, head = text.partition("...")
            symmetric = True
        elif ".." in text:
            base, _, head = text.partition("..")
            symmetric = False
        else:
            raise BadRevision(
                f"git range {text!r} has no '..'; write it as BASE..HEAD, e.g. main..HEAD",
                field="git_range",
            )
        if ".." in head:
            raise BadRevision(
                f"git range {text!r} has more than one '..'; write it as BASE..HEAD",
                field="git_range",
            )
        return cls(base=base or "HEAD", head=head or "HEAD", symmetric=symmetric)

    def __str__(self) -> str:
        return f"{self.base}{'...' if self.symmetric else '..'}{self.head}"


def decode(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def parse_log_stream(stream: IO[bytes]) -> Iterator[Commit]:
    """Parse ``git log -z --format=LOG_FORMAT`` output as it arrives.

    Decoding happens once per chunk up to the last NUL in it, so a multi-byte character
    split across two reads is never cut.
    """
    pending = b""
    fields: list[str] = []
    # what the pipe holds now, up to a chunk: ``read`` would wait for a whole chunk while git,
    # its pipe full, waits for us; with ``read1`` the two work at once
    read = getattr(stream, "read1", stream.read)
    while True:
        chunk = read(READ_SIZE)
        if not chunk:
            break
        pending += chunk
        cut = pending.rfind(b"\0")
        if cut < 0:
            continue
        text = pending[:cut].decode("utf-8", "surrogateescape")
        pending = pending[cut + 1 :]
        tokens = text.split("\0")
        if fields:
            fields.extend(tokens)
            tokens = fields
        usable = len(tokens) - len(tokens) % LOG_FIELDS
        # Seven references to one iterator: zip hands out consecutive groups of seven.
        group = iter(tokens[:usable])
        for sha, parents, name, email, date_, subject, trailers in zip(
            group, group, group, group, group, group, group, strict=True
        ):
            yield Commit(
                sha,
                tuple(parents.split()) if parents else (),
                name,
                email,
                date_,
                subject,
                _parse_trailers(trailers) if trailers else (),
            )
        fields = tokens[usable:]
    if pending.strip() or fields:
        raise GitError(
            "git log output ended in the middle of a commit; the repository may be corrupt "
            "(run 'git fsck')",
            field="repo",
        )


def _parse_trailers(text: str) -> tuple[tuple[str, str], ...]:
    pairs: list[tuple[str, str]] = []
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            pairs.append((key.strip(), value.strip()))
    return tuple(pairs)


_NULL_OID_RE = re.compile(r"\A0+\Z")


def parse_raw_diff(output: bytes) -> list[ChangedFile]:
    """Parse ``git diff-tree -r -z --raw`` output.

    Each entry is ``:old_mode new_mode old_oid new_oid STATUS[score]`` NUL path NUL, with a
    second path for renames and copies.
    """
    tokens = output.split(b"\0")
    files: list[ChangedFile] = []
    i = 0
    while i < len(tokens):
        header = tokens[i]
        if not header:
            i += 1
            continue
        if not header.startswith(b":"):
            raise GitError(f"unexpected git diff-tree output: {decode(header)!r}", field="repo")
        old_mode, new_mode, old_oid, new_oid, status_score = decode(header[1:]).split(" ")
        status = status_score[0]
        score = int(status_score[1:]) if len(status_score) > 1 else None
        if status in "RC":
            old_path: str | None = decode(tokens[i + 1])
            path = decode(tokens[i + 2])
            i += 3
        else:
            old_path = None
            path = decode(tokens[i + 1])
            i += 2
        files.append(
            ChangedFile(
                status=status,
                path=path,
                old_path=old_path,
                old_oid=None if _NULL_OID_RE.match(old_oid) else old_oid,
                new_oid=None if _NULL_OID_RE.match(new_oid) else new_oid,
                old_mode=old_mode,
                new_mode=new_mode,
                similarity=score,
            )
        )
    return files


def parse_cat_file_batch(output: bytes) -> dict[str, bytes]:
    blobs: dict[str, bytes] = {}
    position = 0
    while position < len(output):
        end = output.index(b"\n", position)
        header = decode(output[position:end]).split(" ")
        position = end + 1
        if len(header) == 2 and header[1] == "missing":
            continue
        if len(header) != 3:
            raise GitError(f"unexpected git cat-file output: {' '.join(header)!r}", field="repo")
        oid, _type, size_text = header
        size = int(size_text)
        blobs[oid] = output[position : position + size]
        position += size + 1  # the contents are followed by a newline
    return blobs
