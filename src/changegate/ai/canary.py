"""Random canary tokens and the search for them in what a target returned."""

from __future__ import annotations

import random
import re
import secrets
from dataclasses import dataclass
from typing import Any

from changegate.ai.targets import RagAnswer

_ADJECTIVES = (
    "amber", "brisk", "cobalt", "dusky", "ember", "frosted", "gilded", "hollow", "indigo",
    "jade", "kestrel", "lunar", "misty", "nimble", "onyx", "pale", "quiet", "russet",
    "silver", "tawny", "umber", "velvet", "wild", "xenial", "yellow", "zephyr",
)  # fmt: skip
_NOUNS = (
    "albatross", "beacon", "cedar", "delta", "falcon", "glacier", "harbor", "iris",
    "juniper", "lantern", "meadow", "nebula", "orchard", "pelican", "quarry", "raven",
    "summit", "thistle", "valley", "willow",
)  # fmt: skip


def make_rng(seed: int | None) -> random.Random:
    """Deterministic with a seed (for reproducible reports), else from the OS."""
    return random.Random(seed) if seed is not None else random.SystemRandom()


def token(rng: random.Random, prefix: str = "CANARY") -> str:
    """A random marker no target can produce by chance, e.g. ``CG-CANARY-9F3A0C1B7E2D``."""
    if isinstance(rng, random.SystemRandom):
        body = secrets.token_hex(6).upper()
    else:
        body = f"{rng.getrandbits(48):012X}"
    return f"CG-{prefix}-{body}"


def codename(rng: random.Random) -> str:
    return f"{rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)} {rng.randint(10, 99)}"


def _squash(text: str) -> str:
    return re.sub(r"[^0-9a-z]", "", text.casefold())


def contains_token(text: str, tok: str) -> bool:
    """True when ``tok`` appears in ``text``, also with spacing or punctuation changed."""
    return tok.casefold() in text.casefold() or _squash(tok) in _squash(text)


@dataclass(frozen=True)
class Sighting:
    """Where a canary showed up in a response."""

    where: str  # "answer" | "context" | "chunk"
    detail: str

    def to_dict(self) -> dict[str, str]:
        return {"where": self.where, "detail": self.detail}


def find_token(
    answer: RagAnswer, tok: str, *, doc_id: str | None = None, owner: str | None = None
) -> list[Sighting]:
    """Every place ``tok`` (or the canary document ``doc_id`` of tenant ``owner``) appears."""
    out: list[Sighting] = []
    if contains_token(answer.answer, tok):
        out.append(Sighting("answer", f"answer contains {tok}"))
    if answer.context and contains_token(answer.context, tok):
        out.append(Sighting("context", f"rendered context contains {tok}"))
    for i, chunk in enumerate(answer.chunks):
        reasons = []
        if contains_token(chunk.text, tok):
            reasons.append(f"text contains {tok}")
        if doc_id is not None and chunk.doc_id == doc_id:
            reasons.append(f"doc_id is {doc_id}")
        if owner is not None and chunk.tenant == owner:
            reasons.append(f"tenant is {owner}")
        if reasons:
            out.append(Sighting("chunk", f"chunks[{i}] ({chunk.doc_id}): " + ", ".join(reasons)))
    return out


@dataclass(frozen=True)
class CanaryReport:
    """What a canary check (tenant isolation, prompt injection) concluded about ``target``:
    ``status`` is ``pass``, ``fail`` or ``inconclusive``; only ``pass`` passes."""

    target: str
    status: str

    @property
    def passed(self) -> bool:
        return self.status == "pass"

    def head(self, kind: str) -> dict[str, Any]:
        """The first keys of the report's JSON form."""
        return {"kind": kind, "target": self.target, "status": self.status, "passed": self.passed}
