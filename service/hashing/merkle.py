"""Merkle batches byte-for-byte compatible with OpenZeppelin's ``StandardMerkleTree``.

A batch is the tree that ``StandardMerkleTree.of(values, ["bytes32", "bytes32"])``
(``@openzeppelin/merkle-tree`` 1.0.8, default ``sortLeaves: true``) builds from the
batch's records, each value ``[content hash, salt]``, so any third party can rebuild our
root with that library, and every proof we issue verifies both there and with
OpenZeppelin's Solidity ``MerkleProof`` (commutative keccak256 pair hashing). The salt,
32 random bytes per record, makes every leaf unique (two parties recording the same event
get two leaves, two batches never share a root) and keeps a proof's siblings from
confirming a guessed neighbour record. Batches closed before salts use ``["bytes32"]``
(the content hash alone) and keep verifying with it.

Layout, mirrored from the library's ``core.js``/``merkletree.js``:

* leaf = ``keccak256(keccak256(abi.encode(values)))``; ``abi.encode`` of ``bytes32``
  values is their 32 bytes, concatenated;
* leaves are stably sorted ascending (JS ``Array.prototype.sort`` is stable, as is
  Python's ``sorted``, so duplicates keep their input order);
* the tree is an array of ``2n - 1`` nodes laid out as a complete binary tree
  (children of ``i`` at ``2i+1`` and ``2i+2``); the sorted leaves fill the tail in
  reverse, so the smallest leaf sits in the last slot;
* a proof lists the siblings from the leaf up to (excluding) the root.

Speed matters because a batch of 100,000 records must be built in at most twice the
time of its 3n-1 bare keccak calls (``bench/merkle.py``).  Hence: ``sha3.keccak_256``
(safe-pysha3), the fastest keccak we measured; one list comprehension per tree level
instead of per-node code; and a numpy sort of the leaves. Proofs are not built with the
tree: a record's proof is read from the stored nodes when asked (:func:`proof_from_nodes`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sha3 import keccak_256

HASH_SIZE = 32
DUMP_FORMAT = "standard-v1"
#: Leaf encodings as stored with each batch: a record's [content hash, salt], or (before salts) its content hash.
SALTED = "bytes32,bytes32"
UNSALTED = "bytes32"


def leaf_hash(value: bytes) -> bytes:
    """OpenZeppelin standard leaf of an abi-encoded value of ``bytes32`` fields: keccak(keccak(value))."""
    if not value or len(value) % HASH_SIZE:
        raise ValueError(f"a leaf value is a whole number of {HASH_SIZE}-byte words, not {len(value)} bytes")
    return keccak_256(keccak_256(value).digest()).digest()


def leaf_value(content_hash: bytes, salt: bytes | None, *, encoding: str) -> bytes:
    """The abi-encoded value of a record's leaf under ``encoding`` (ValueError if it does not fit)."""
    _check_hash(content_hash, "content hash")
    if encoding == UNSALTED:
        return content_hash
    if encoding != SALTED:
        raise ValueError(f"unknown leaf encoding {encoding!r}")
    if salt is None:
        raise ValueError("a salted leaf needs the record's salt")
    _check_hash(salt, "salt")
    return content_hash + salt


def verify_proof(*, root: bytes, leaf: bytes, proof: Sequence[bytes]) -> bool:
    """Return whether ``proof`` links ``leaf`` (a leaf hash) to ``root``.

    Same algorithm as Solidity ``MerkleProof.verify``/``processProof``: fold the
    proof into the leaf, hashing each pair in ascending byte order (the smaller
    operand first, ``a < b ? keccak(a, b) : keccak(b, a)``).  Inputs that are not
    32 bytes cannot be ``bytes32`` on chain, so they raise ``ValueError`` rather
    than quietly failing.
    """
    _check_hash(root, "root")
    _check_hash(leaf, "leaf")
    if any(map(HASH_SIZE.__ne__, map(len, proof))):
        raise ValueError(f"proof elements must be exactly {HASH_SIZE} bytes")
    computed = leaf
    for sibling in proof:
        if computed < sibling:
            computed = keccak_256(computed + sibling).digest()
        else:
            computed = keccak_256(sibling + computed).digest()
    return computed == root


class MerkleTree:
    """An immutable StandardMerkleTree over values of ``bytes32`` fields (see :func:`leaf_value`).

    Build with :meth:`build`; indexes passed to :meth:`proof` are positions in the
    input sequence (as ``StandardMerkleTree.getProof(i)``), not tree positions.
    """

    root: bytes
    leaf_count: int

    def __init__(self, *, values: tuple[bytes, ...], tree: list[bytes], tree_indexes: list[int], encoding: str) -> None:
        """Wrap an already laid-out tree; use :meth:`build` instead of calling this."""
        self._values = values
        self.encoding = encoding
        self._tree = tree
        self._tree_indexes = tree_indexes
        self.root = tree[0]
        self.leaf_count = len(values)

    @classmethod
    def build(cls, values: Sequence[bytes], *, encoding: str = UNSALTED, sort_leaves: bool = True) -> MerkleTree:
        """Build the tree OpenZeppelin would build from these abi-encoded values, in this order.

        ``sort_leaves=False`` is the library's ``{sortLeaves: false}``: leaves keep the input order, so
        the root depends on it (a signed submission's order is part of what is signed).

        ``encoding`` is :data:`SALTED` (each value 64 bytes: content hash and salt) or
        :data:`UNSALTED` (32 bytes). Duplicates are allowed (each gets its own leaf, as in the JS
        library). Raises ``ValueError`` for an empty input or a value of the wrong size,
        ``TypeError`` for a value that is not bytes-like.
        """
        values = tuple(values)
        if set(map(type, values)) != {bytes}:
            values = tuple(bytes(memoryview(value)) for value in values)
        if not values:
            raise ValueError("a Merkle tree needs at least one value")
        size = HASH_SIZE * len(encoding.split(","))
        if set(map(len, values)) != {size}:
            raise ValueError(f"values must be exactly {size} bytes for leaf encoding {encoding}")
        leaves = [keccak_256(keccak_256(value).digest()).digest() for value in values]
        sorted_order, tree_indexes = _leaf_layout(leaves) if sort_leaves else _input_layout(len(leaves))
        tree: list[bytes] = [b""] * (2 * len(leaves) - 1)
        tree[len(leaves) - 1 :] = map(leaves.__getitem__, reversed(sorted_order))
        _hash_internal_nodes(tree, internal_count=len(leaves) - 1)
        return cls(values=values, tree=tree, tree_indexes=tree_indexes, encoding=encoding)

    def proof(self, index: int) -> list[bytes]:
        """Sibling hashes from the leaf of input ``index`` up to the root."""
        if not 0 <= index < self.leaf_count:
            raise IndexError(f"leaf index {index} out of range 0..{self.leaf_count - 1}")
        node = self._tree_indexes[index]
        path = []
        while node > 0:
            path.append(self._tree[node + 1 if node % 2 else node - 1])
            node = (node - 1) // 2
        return path

    @property
    def nodes(self) -> bytes:
        """Every node, root first, in the library's array order, as one byte string (what is stored)."""
        return b"".join(self._tree)

    @property
    def tree_indexes(self) -> list[int]:
        """Position in the node array of each input's leaf, in input order (the library's ``treeIndex``)."""
        return list(self._tree_indexes)

    def leaf(self, index: int) -> bytes:
        """Leaf hash of input ``index`` (what ``verify_proof`` and the contract take)."""
        if not 0 <= index < self.leaf_count:
            raise IndexError(f"leaf index {index} out of range 0..{self.leaf_count - 1}")
        return self._tree[self._tree_indexes[index]]

    def dump(self) -> dict[str, Any]:
        """The JSON-ready dict ``StandardMerkleTree.dump()`` returns for the same input.

        Loadable by ``StandardMerkleTree.load`` (hex is lowercase and ``0x``-prefixed,
        like the library's own output).
        """
        return {
            "format": DUMP_FORMAT,
            "leafEncoding": self.encoding.split(","),
            "tree": ["0x" + node.hex() for node in self._tree],
            "values": [
                {"value": ["0x" + value[i : i + HASH_SIZE].hex() for i in range(0, len(value), HASH_SIZE)], "treeIndex": tree_index}
                for value, tree_index in zip(self._values, self._tree_indexes)
            ],
        }


def proof_from_nodes(nodes: bytes, tree_index: int) -> list[bytes]:
    """The proof of the leaf at ``tree_index`` of a tree stored as :attr:`MerkleTree.nodes`.

    Raises ``ValueError`` when ``nodes`` is not a whole tree or ``tree_index`` is not one of its
    leaves (a stored tree edited by hand, say).
    """
    count = _node_count(nodes)
    if not isinstance(tree_index, int) or not count // 2 <= tree_index < count:
        raise ValueError(f"{tree_index!r} is not a leaf position of a {count}-node tree")
    path = []
    node = tree_index
    while node > 0:
        sibling = node + 1 if node % 2 else node - 1
        path.append(nodes[sibling * HASH_SIZE : (sibling + 1) * HASH_SIZE])
        node = (node - 1) // 2
    return path


def leaves_of_nodes(nodes: bytes) -> list[bytes]:
    """The leaf hashes of a tree stored as :attr:`MerkleTree.nodes`, in node order (tree index
    ``n - 1`` first); ``ValueError`` when ``nodes`` is not a whole tree."""
    count = _node_count(nodes)
    return [nodes[i * HASH_SIZE : (i + 1) * HASH_SIZE] for i in range(count // 2, count)]


def _node_count(nodes: bytes) -> int:
    """How many nodes a stored tree holds; ``ValueError`` unless it is a whole tree (2n - 1 hashes)."""
    count, remainder = divmod(len(nodes), HASH_SIZE)
    if remainder or count % 2 == 0:
        raise ValueError(f"{len(nodes)} bytes are not the nodes of a Merkle tree")
    return count


def root_of_leaves(leaves: list[bytes]) -> bytes:
    """The root over leaf hashes laid out in node order (as :func:`leaves_of_nodes` returns them):
    recomputed, so that it does not rest on the stored internal nodes."""
    tree = [b""] * (len(leaves) - 1) + list(leaves)
    _hash_internal_nodes(tree, internal_count=len(leaves) - 1)
    return tree[0]


def _leaf_layout(leaves: list[bytes]) -> tuple[list[int], list[int]]:
    """Input indexes in ascending leaf order, and the tree index of each input.

    A stable sort (duplicates keep input order, as in JS) that compares leaves as
    unsigned big-endian 256-bit numbers, like the library's BigInt ``compare``:
    numpy compares fixed-width ``S32`` items bytewise, unsigned, over all 32
    bytes, several times faster than ``sorted`` with a key, and inverts the
    permutation without a Python loop.  The smallest leaf goes to the last slot.
    """
    order = np.argsort(np.array(leaves, dtype=f"S{HASH_SIZE}"), kind="stable")
    node_count = 2 * len(leaves) - 1
    tree_indexes = np.empty(len(leaves), dtype=np.int64)
    tree_indexes[order] = np.arange(node_count - 1, len(leaves) - 2, -1)
    return order.tolist(), tree_indexes.tolist()


def _input_layout(count: int) -> tuple[list[int], list[int]]:
    """The layout of ``{sortLeaves: false}``: input ``i`` at tree index ``2n - 2 - i``."""
    return list(range(count)), list(range(2 * count - 2, count - 2, -1))


def _hash_internal_nodes(tree: list[bytes], *, internal_count: int) -> None:
    """Fill ``tree[0:internal_count]`` from the leaves, deepest level first.

    Node ``i``'s children ``2i+1``/``2i+2`` always lie on the next level, so each
    level is one comprehension over two strided slices of the level below.
    """
    level_starts = []
    start = 0
    while start < internal_count:
        level_starts.append(start)
        start = 2 * start + 1
    for start in reversed(level_starts):
        end = min(2 * start + 1, internal_count)
        lefts = tree[2 * start + 1 : 2 * end + 1 : 2]
        rights = tree[2 * start + 2 : 2 * end + 1 : 2]
        tree[start:end] = [
            keccak_256(left + right).digest() if left < right else keccak_256(right + left).digest()
            for left, right in zip(lefts, rights)
        ]


def _check_hash(value: bytes, what: str) -> None:
    if len(value) != HASH_SIZE:
        raise ValueError(f"{what} must be exactly {HASH_SIZE} bytes, got {len(value)}")
