"""verify.py's own RFC 9162 inclusion verifiers (it must stand alone, so it does not use
changegate.audit.merkle): transparency-dev's vectors, read where they are, and every leaf of
trees of many sizes against proofs computed with a naive Merkle Tree Hash written here."""

from __future__ import annotations

import hashlib
import json

from hypothesis import given
from hypothesis import strategies as st

from changegate.audit.package import verify
from tests.audit.test_merkle import VECTORS, _b64, _proof, _vectors, naive_mth


def test_inclusion_vectors() -> None:
    happy = refused = 0
    for path in _vectors("inclusion"):
        case = json.loads(path.read_text())
        args = (_b64(case["leafHash"]), case["leafIdx"], case["treeSize"], _proof(case))
        root = _b64(case["root"])
        ok = verify.verify_inclusion(*args, root)
        index, size, leaf = case["leafIdx"], case["treeSize"], args[0]
        batch = verify.verify_many([(index, leaf, args[3])], size, root) == []
        where = f"{path.relative_to(VECTORS)}: {case['desc']}"
        assert ok is not case["wantErr"] and batch is ok, where
        happy, refused = (happy, refused + 1) if case["wantErr"] else (happy + 1, refused)
    assert (happy, refused) == (6, 80)


def _naive_path(leaves: list[bytes], index: int) -> list[bytes]:
    """RFC 9162 §2.1.3.1 PATH(m, D[n]) literally."""
    n = len(leaves)
    if n == 1:
        return []
    k = 1 << ((n - 1).bit_length() - 1)
    if index < k:
        return [*_naive_path(leaves[:k], index), naive_mth(leaves[k:])]
    return [*_naive_path(leaves[k:], index - k), naive_mth(leaves[:k])]


@given(st.integers(min_value=1, max_value=70), st.data())
def test_every_leaf_of_a_tree_verifies_in_one_batch(size: int, data: st.DataObject) -> None:
    leaves = [hashlib.sha256(b"\x00" + str(i).encode()).digest() for i in range(size)]
    root = naive_mth(leaves)
    items = [(i, leaves[i], _naive_path(leaves, i)) for i in range(size)]
    order = data.draw(st.permutations(range(size)))
    assert verify.verify_many([items[i] for i in order], size, root) == []
    assert all(verify.verify_inclusion(leaves[i], i, size, p, root) for i, _, p in items)
    bad = data.draw(st.integers(min_value=0, max_value=size - 1))
    forged = [(i, leaf if i != bad else b"\x07" * 32, p) for i, leaf, p in items]
    assert verify.verify_many([forged[i] for i in order], size, root) == [bad]


@given(st.integers(min_value=2, max_value=70), st.data())
def test_any_altered_proof_hash_is_caught_in_a_batch(size: int, data: st.DataObject) -> None:
    """Every hash of every stored proof is checked, not only the ones below a node an earlier
    event of the batch already proved: a proof altered high up its path is refused too."""
    leaves = [hashlib.sha256(b"\x00" + str(i).encode()).digest() for i in range(size)]
    root = naive_mth(leaves)
    items = [(i, leaves[i], _naive_path(leaves, i)) for i in range(size)]
    order = data.draw(st.permutations(range(size)))
    bad = data.draw(st.integers(min_value=0, max_value=size - 1))
    step = data.draw(st.integers(min_value=0, max_value=len(items[bad][2]) - 1))
    path = list(items[bad][2])
    path[step] = bytes(b ^ 0xFF for b in path[step])
    items[bad] = (bad, leaves[bad], path)
    assert verify.verify_many([items[i] for i in order], size, root) == [bad]
    extra = [*path, leaves[0]]
    items[bad] = (bad, leaves[bad], extra)
    assert verify.verify_many([items[i] for i in order], size, root) == [bad]
