"""`changegate audit package | sample` against a server: it signs with its own key."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

from changegate.cli.remote.client import RemoteBackend, error_of, urlencode


class RemoteAuditPackage(RemoteBackend):
    def package(
        self,
        date_from: str,
        date_to: str,
        out: str,
        key_file: str | None,
        sample: tuple[int, str] | None,
        by: str | None,
    ) -> dict[str, Any]:
        from changegate.errors import InvalidInput

        if key_file is not None or by is not None:
            raise InvalidInput(
                "against a server (CHANGEGATE_URL) the server's own key signs and your token "
                "says who asks: drop --key and --by",
                field="key" if key_file is not None else "by",
            )
        params: dict[str, Any] = {"from": date_from, "to": date_to}
        if sample is not None:
            params |= {"size": sample[0], "seed": sample[1]}
        answer = self.client.request("GET", f"/api/audit/package?{urlencode(params)}")
        if not 200 <= answer.status < 300:
            raise error_of(answer)
        try:
            with open(out, "wb") as fh:
                fh.write(answer.body)
        except OSError as exc:
            raise InvalidInput(
                f"--out {out}: cannot write it ({exc.strerror})", field="out"
            ) from None
        with zipfile.ZipFile(io.BytesIO(answer.body)) as z:
            manifest: dict[str, Any] = json.loads(z.read("manifest.json"))
        manifest.pop("files", None)
        return manifest
