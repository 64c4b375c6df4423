"""C2SP signed checkpoints of the audit log (``c2sp.org/tlog-checkpoint`` in a
``c2sp.org/signed-note``, Ed25519). Pure: text and keys in, verdicts out.

- A checkpoint's body is three lines: the origin (the log's name), the tree size in decimal,
  the RFC 9162 root in standard base64; each ends with a newline.
- The note is the body, a blank line, and one signature line per signer:
  ``— <key name> <base64(key ID || Ed25519 signature of the body)>`` (an em dash, U+2014).
- Key ID: the first 4 bytes of ``SHA-256(key name || 0x0A || 0x01 || public key)``
  (0x01: the Ed25519 signature type).
- Verifier key: ``<name>+<hex key ID>+<base64(0x01 || public key)>``; signer key:
  ``PRIVATE+KEY+<name>+<hex key ID>+<base64(0x01 || private seed)>`` (the Go reference's
  formats, so other tools read them).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from changegate.errors import InvalidInput

ED25519 = b"\x01"
_DASH = "\u2014 "
MAX_NOTE = 1 << 16


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


def key_id(name: str, public: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + ED25519 + public).digest()[:4]


def _check_name(name: str, what: str) -> str:
    if not name or any(c.isspace() or c == "+" for c in name) or not name.isprintable():
        raise InvalidInput(
            f"{what} {name!r}: a key name has no spaces and no '+', e.g. changegate.example.com/audit",
            field=what.lstrip("-"),
        )
    return name


@dataclass(frozen=True)
class VerifierKey:
    name: str
    public: bytes

    @property
    def id(self) -> bytes:
        return key_id(self.name, self.public)

    def __str__(self) -> str:
        return f"{self.name}+{self.id.hex()}+{_b64(ED25519 + self.public)}"

    @classmethod
    def parse(cls, text: str) -> VerifierKey:
        """A verifier key string; its key ID must be the one its name and key give."""
        name, _, rest = text.strip().partition("+")
        hex_id, _, encoded = rest.partition("+")
        try:
            raw = _unb64(encoded)
            ok = len(hex_id) == 8 and len(raw) == 33 and raw[:1] == ED25519
            key = cls(_check_name(name, "--vkey"), raw[1:])
            ok = ok and key.id == bytes.fromhex(hex_id)
        except (ValueError, binascii.Error, InvalidInput):
            ok = False
        if not ok:
            raise InvalidInput(
                "--vkey: give the verifier key `changegate audit keygen` printed "
                "(NAME+KEYID+BASE64), or a file holding it",
                field="vkey",
            )
        return key


@dataclass(frozen=True)
class SignerKey:
    name: str
    seed: bytes

    def verifier(self) -> VerifierKey:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        public = Ed25519PrivateKey.from_private_bytes(self.seed).public_key()
        return VerifierKey(self.name, public.public_bytes(Encoding.Raw, PublicFormat.Raw))

    def __str__(self) -> str:
        vkey = self.verifier()
        return f"PRIVATE+KEY+{self.name}+{vkey.id.hex()}+{_b64(ED25519 + self.seed)}"

    @classmethod
    def generate(cls, name: str) -> SignerKey:
        import secrets

        return cls(_check_name(name, "--origin"), secrets.token_bytes(32))

    @classmethod
    def parse(cls, text: str) -> SignerKey:
        parts = text.strip().split("+", 4)  # the base64 may hold "+"; a name never does
        try:
            raw = _unb64(parts[4]) if len(parts) == 5 else b""
            key = cls(parts[2], raw[1:])
            ok = parts[:2] == ["PRIVATE", "KEY"] and len(raw) == 33 and raw[:1] == ED25519
            ok = ok and key.verifier().id.hex() == parts[3].lower()
        except (ValueError, binascii.Error, IndexError):
            ok = False
        if not ok:
            raise InvalidInput(
                "--key: the file does not hold a signing key written by `changegate audit keygen`",
                field="key",
            )
        return key

    def sign(self, body: str) -> str:
        """The signed note of ``body`` (text ending in a newline)."""
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        signature = Ed25519PrivateKey.from_private_bytes(self.seed).sign(body.encode())
        return f"{body}\n{_DASH}{self.name} {_b64(self.verifier().id + signature)}\n"


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes

    def body(self) -> str:
        return f"{self.origin}\n{self.size}\n{_b64(self.root)}\n"


def open_note(note: str, vkey: VerifierKey) -> str:
    """The body of a signed note that ``vkey`` signed; InvalidInput saying why otherwise.
    Signature lines of other keys are ignored; one of ``vkey``'s that fails refuses the note."""
    if len(note) > MAX_NOTE or "\n\n" not in note or not note.endswith("\n"):
        raise InvalidInput("the checkpoint is not a signed note (text, blank line, signatures)")
    split = note.rindex("\n\n")
    body, signatures = note[: split + 1], note[split + 2 :]
    verified = False
    for line in signatures[:-1].split("\n"):
        name, _, encoded = line.removeprefix(_DASH).partition(" ")
        try:
            raw = _unb64(encoded)
        except (ValueError, binascii.Error):
            raw = b""
        if not line.startswith(_DASH) or len(raw) < 5:
            raise InvalidInput(f"the checkpoint has a malformed signature line: {line[:60]!r}")
        if name != vkey.name or raw[:4] != vkey.id:
            continue
        if not _ed25519_ok(vkey.public, raw[4:], body.encode()):
            raise InvalidInput(
                f"the checkpoint's signature by {vkey.name} does not verify (altered, or not "
                "signed by this key)"
            )
        verified = True
    if not verified:
        raise InvalidInput(
            f"the checkpoint carries no signature by the key {vkey.name}+{vkey.id.hex()} "
            "(wrong --vkey?)"
        )
    return body


def _ed25519_ok(public: bytes, signature: bytes, message: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        Ed25519PublicKey.from_public_bytes(public).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


def parse_body(body: str) -> Checkpoint:
    """The checkpoint in a (verified) note body: origin, size, root; extension lines allowed."""
    lines = body.split("\n")[:-1]
    try:
        size = int(lines[1]) if lines[1].isdigit() else -1
        root = _unb64(lines[2])
    except (IndexError, ValueError, binascii.Error):
        size, root = -1, b""
    if len(lines) < 3 or not lines[0] or size < 0 or len(root) != 32:
        raise InvalidInput("the signed note is not a checkpoint (origin, tree size, root)")
    return Checkpoint(lines[0], size, root)


def assess(
    note: str,
    vkey: VerifierKey,
    size: int,
    root: bytes,
    proof: Callable[[int], Sequence[bytes]],
) -> dict[str, object]:
    """Whether a checkpoint kept earlier is signed by ``vkey`` and today's log (``size`` events,
    root ``root``) extends it: ``proof(old_size)`` gives the consistency proof to ``size``.
    A dict for `audit verify`'s output, with ``ok`` and the ``problem`` when not."""
    out: dict[str, object] = {"key": str(vkey), "ok": False}
    try:
        cp = parse_body(open_note(note, vkey))
    except InvalidInput as exc:
        return out | {"problem": exc.message}
    out |= {"origin": cp.origin, "tree_size": cp.size, "root": cp.root.hex()}
    problem = inconsistency(cp, size, root, proof)
    return out | ({"ok": True} if problem is None else {"problem": problem})


def inconsistency(
    old: Checkpoint, size: int, root: bytes, proof: Callable[[int], Sequence[bytes]]
) -> str | None:
    """Why a log of ``size`` events with root ``root`` does not extend checkpoint ``old``."""
    from changegate.audit.merkle import verify_consistency

    if old.size > size:
        return (
            f"the checkpoint covers {old.size} events but the log holds {size} "
            "(events removed, or the log replaced)"
        )
    if old.size == 0:
        return None
    if old.size == size and old.root == root:
        return None
    if old.size < size and verify_consistency(old.size, size, old.root, root, proof(old.size)):
        return None
    return (
        f"the log's first {old.size} events differ from the checkpoint signed at that size: "
        "the log was rewritten since"
    )


# -- key files ------------------------------------------------------------------------------


def write_signer(path: Path, signer: SignerKey) -> None:
    """Write a new signing key readable by its owner only (0600); never replace one."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise InvalidInput(
            f"--out {path}: the file exists; keep that key, or give a new file name", field="out"
        ) from None
    except OSError as exc:
        raise InvalidInput(f"--out {path}: cannot write it ({exc.strerror})", field="out") from None
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(f"{signer}\n")


def load_signer(path: Path) -> SignerKey:
    """The signing key in ``path``; refused when missing or readable by anyone but its owner."""
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError):
        raise InvalidInput(
            f"--key {path}: no readable key file; create one with `changegate audit keygen "
            "--out FILE`",
            field="key",
        ) from None
    if mode & 0o077:
        raise InvalidInput(
            f"--key {path}: the signing key is readable by others (mode {mode & 0o777:o}): "
            f"run `chmod 600 {path}`",
            field="key",
        )
    return SignerKey.parse(text)


def load_vkey(value: str) -> VerifierKey:
    """A verifier key string, or a file holding one."""
    path = Path(value)
    if "+" not in value and path.is_file():
        value = path.read_text(encoding="utf-8", errors="replace")
    return VerifierKey.parse(value)


def merge(report: dict[str, object], result: dict[str, object]) -> dict[str, object]:
    """`audit verify`'s output with a checkpoint's check added: it fails when the check does."""
    out = report | {"checkpoint": result}
    if not result["ok"]:
        problems = report.get("problems")
        out |= {
            "ok": False,
            "problems": [
                *(problems if isinstance(problems, list) else []),
                f"checkpoint: {result['problem']}",
            ],
        }
    return out
