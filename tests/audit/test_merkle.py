"""RFC 9162 Merkle proofs (changegate.audit.merkle): transparency-dev's conformance vectors,
read where they are (``<repo>/../shared/testdata/merkle``, Apache-2.0, never copied), and
hypothesis tests against a naive Merkle Tree Hash written here from RFC 9162 §2.1.1."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from changegate.audit import merkle

VECTORS = Path(__file__).resolve().parents[2] / ".." / "shared" / "testdata" / "merkle" / "testdata"


def _vectors(kind: str) -> list[Path]:
    folder = VECTORS / kind
    if not folder.is_dir() or not any(folder.iterdir()):
        message = (
            f"the Merkle conformance test needs ../shared/testdata/merkle (transparency-dev's "
            f"vectors): {folder} is missing"
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return sorted(folder.glob("*/*.json"))


def _b64(value: str | None) -> bytes:
    return base64.b64decode(value or "")


def _proof(case: dict[str, Any]) -> list[bytes]:
    return [_b64(p) for p in case["proof"] or []]


def _check(kind: str) -> tuple[int, int]:
    happy = refused = 0
    for path in _vectors(kind):
        case = json.loads(path.read_text())
        if kind == "inclusion":
            ok = merkle.verify_inclusion(
                _b64(case["leafHash"]),
                case["leafIdx"],
                case["treeSize"],
                _proof(case),
                _b64(case["root"]),
            )
        else:
            ok = merkle.verify_consistency(
                case["size1"], case["size2"], _b64(case["root1"]), _b64(case["root2"]), _proof(case)
            )
        assert ok is not case["wantErr"], f"{path.relative_to(VECTORS)}: {case['desc']}"
        happy, refused = (happy, refused + 1) if case["wantErr"] else (happy + 1, refused)
    return happy, refused


def test_inclusion_vectors() -> None:
    assert _check("inclusion") == (6, 80)


def test_consistency_vectors() -> None:
    assert _check("consistency") == (6, 92)


# -- against a naive Merkle Tree Hash ------------------------------------------------------


def naive_mth(leaves: list[bytes]) -> bytes:
    """RFC 9162 §2.1.1, literally (``leaves`` are leaf hashes)."""
    n = len(leaves)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return leaves[0]
    k = 1
    while k * 2 < n:
        k *= 2
    return hashlib.sha256(b"\x01" + naive_mth(leaves[:k]) + naive_mth(leaves[k:])).digest()


def _fetch(leaves: list[bytes]) -> merkle.Fetch:
    return lambda wanted: merkle.complete_hashes(leaves, wanted)


trees = st.lists(st.binary(max_size=8), min_size=1, max_size=70).map(
    lambda items: [merkle.leaf(b"%d:" % i + d) for i, d in enumerate(items)]
)


@given(trees)
def test_root_matches_naive(leaves: list[bytes]) -> None:
    for size in range(len(leaves) + 1):
        assert merkle.root(size, _fetch(leaves)) == naive_mth(leaves[:size])


@given(trees, st.data())
def test_inclusion_proof_verifies_and_binds(leaves: list[bytes], data: st.DataObject) -> None:
    size = data.draw(st.integers(1, len(leaves)))
    index = data.draw(st.integers(0, size - 1))
    root = naive_mth(leaves[:size])
    proof = merkle.inclusion_proof(index, size, _fetch(leaves))
    assert merkle.verify_inclusion(leaves[index], index, size, proof, root)
    other = merkle.leaf(b"not in the log")
    assert not merkle.verify_inclusion(other, index, size, proof, root)
    if size > 1:
        assert not merkle.verify_inclusion(leaves[index], (index + 1) % size, size, proof, root)
    if proof:
        flipped = bytes([proof[0][0] ^ 1]) + proof[0][1:]
        assert not merkle.verify_inclusion(leaves[index], index, size, [flipped, *proof[1:]], root)


@given(trees, st.data())
def test_consistency_proof_verifies_and_binds(leaves: list[bytes], data: st.DataObject) -> None:
    new = data.draw(st.integers(1, len(leaves)))
    old = data.draw(st.integers(1, new))
    old_root, new_root = naive_mth(leaves[:old]), naive_mth(leaves[:new])
    proof = merkle.consistency_proof(old, new, _fetch(leaves))
    assert merkle.verify_consistency(old, new, old_root, new_root, proof)
    if old < new:
        rewritten = [merkle.leaf(b"rewritten"), *leaves[1:new]]
        assert not merkle.verify_consistency(old, new, old_root, naive_mth(rewritten), proof)
        assert not merkle.verify_consistency(old, new, naive_mth(rewritten[:old]), new_root, proof)
        assert not merkle.verify_consistency(old, new, old_root, new_root, proof[:-1])


def test_proof_sizes_are_logarithmic() -> None:
    size = 1_000_003
    for index in (0, size // 2, size - 1):
        assert len(merkle.inclusion_ranges(index, size)) <= 20
        assert len(merkle.needed(merkle.inclusion_ranges(index, size))) <= 40
    assert len(merkle.needed(merkle.consistency_ranges(999_999, size))) <= 60


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError):
        merkle.inclusion_ranges(5, 5)
    with pytest.raises(ValueError):
        merkle.consistency_ranges(6, 5)
    with pytest.raises(ValueError):
        merkle.subtrees_of(1, 3)
