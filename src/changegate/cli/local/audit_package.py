"""`changegate audit package | sample` over the local database."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from changegate.cli.local.base import OPERATOR, LocalBackend
from changegate.errors import InvalidInput


@contextmanager
def written(out: str) -> Iterator[IO[bytes]]:
    """A file written whole or not at all: ``OUT.part``, renamed to ``out`` on success."""
    target = Path(out)
    part = target.with_name(target.name + ".part")
    try:
        fh = part.open("wb")
    except OSError as exc:
        raise InvalidInput(f"--out {out}: cannot write it ({exc.strerror})", field="out") from None
    try:
        with fh:
            yield fh
        os.replace(part, target)
    finally:
        part.unlink(missing_ok=True)


class LocalAuditPackage(LocalBackend):
    def package(
        self,
        date_from: str,
        date_to: str,
        out: str,
        key_file: str | None,
        sample: tuple[int, str] | None,
        by: str | None,
    ) -> dict[str, Any]:
        from changegate.audit.checkpoint import load_signer
        from changegate.audit.package.build import build_package
        from changegate.audit.package.service import period

        p = period(date_from, date_to)
        if key_file is None:
            raise InvalidInput(
                "--key: give the signing key (`changegate audit keygen --out FILE`); the "
                "package is signed by a checkpoint made with it",
                field="key",
            )
        signer = load_signer(Path(key_file))
        with written(out) as fh, self.tx() as (s, policy):
            return build_package(
                s, policy, p, fh, signer=signer, actor=by or OPERATOR, sample=sample
            )
