"""`changegate audit` against the server."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from changegate.cli.remote.client import RemoteBackend, error_of, key, quote, urlencode

if TYPE_CHECKING:
    from changegate.cli.audit import Opener

#: the server's largest page of the audit log
PAGE = 5000


class RemoteAudit(RemoteBackend):
    def verify(self, anchors: list[str], deep: bool) -> dict[str, Any]:
        query = "&".join([f"anchor={quote(a)}" for a in anchors] + (["deep=true"] if deep else []))
        out: dict[str, Any] = self.call("GET", "/api/audit/verify" + (f"?{query}" if query else ""))
        return out

    def log(self, change: str | None, limit: int | None) -> tuple[str | None, list[dict[str, Any]]]:
        params: dict[str, Any] = {"limit": limit or PAGE}
        found = None
        if change:
            found = self.call("GET", f"/api/changes/{key(change)}")["id"]
            params["change"] = found
        rows: list[dict[str, Any]] = []
        while True:  # without --limit, page back through the whole log, as local mode prints it
            page = self.call("GET", f"/api/audit/events?{urlencode(params)}")
            rows = page + rows
            if limit or len(page) < params["limit"] or not page:
                break
            params["before"] = page[0]["seq"]
        return found, rows

    def export(self, open_out: Opener) -> int:
        answer = self.client.request("GET", "/api/audit/export")
        if not 200 <= answer.status < 300:
            raise error_of(answer)
        text = answer.body.decode("utf-8")
        with open_out() as fh:
            fh.write(text)
        return text.count("\n")

    def checkpoint(self, key_file: str) -> str:
        """Signs here (the key never travels) the head the server reports; the server records
        it only when it is its own tree, consistent with the last checkpoint."""
        from pathlib import Path

        from changegate.audit.checkpoint import Checkpoint, load_signer

        signer = load_signer(Path(key_file))
        head = self.call("GET", "/api/audit/proof/consistency?old=1")
        body = Checkpoint(signer.name, int(head["new_size"]), bytes.fromhex(head["new_root"]))
        sent = {"note": signer.sign(body.body()), "vkey": str(signer.verifier())}
        return str(self.call("POST", "/api/audit/checkpoint", sent)["checkpoint"])

    def check_checkpoint(self, note: str, vkey: str) -> dict[str, Any]:
        """The signature is checked here and the consistency proof verified here: the server
        only supplies today's head and the proof."""
        from changegate.audit.checkpoint import assess, load_vkey

        key_ = load_vkey(vkey)
        head = self.call("GET", "/api/audit/proof/consistency?old=1")
        size, root = int(head["new_size"]), bytes.fromhex(head["new_root"])

        def proof(old: int) -> list[bytes]:
            answer = self.call("GET", f"/api/audit/proof/consistency?old={old}&new={size}")
            return [bytes.fromhex(h) for h in answer["proof"]]

        return assess(note, key_, size, root, proof)

    def proof(self, seq: int, size: int | None) -> dict[str, Any]:
        query = f"seq={seq}" + (f"&size={size}" if size is not None else "")
        out: dict[str, Any] = self.call("GET", f"/api/audit/proof/inclusion?{query}")
        return out
