"""Merkle batches: edge cases, properties, and interop with @openzeppelin/merkle-tree.

Reference hashes here use pycryptodome's keccak, a different implementation from
the one under test, and a deliberately naive transcription of the library's
``prepare``/``makeMerkleTree`` as the oracle for the optimised code.  The real
oracle is the library itself, run once through node for a few hundred inputs.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from pathlib import Path

import pytest
from Crypto.Hash import keccak
from hypothesis import given, settings
from hypothesis import strategies as st

from service.hashing.merkle import SALTED, UNSALTED, MerkleTree, _leaf_layout, leaf_hash, proof_from_nodes, verify_proof

PROJECT_ROOT = Path(__file__).resolve().parents[1]
INTEROP_SCRIPT = PROJECT_ROOT / "tests" / "js" / "merkle_interop.mjs"
ZERO = bytes(32)
BYTES32 = st.binary(min_size=32, max_size=32)


def keccak256(data: bytes) -> bytes:
    return keccak.new(data=data, digest_bits=256).digest()


def reference_leaf(value: bytes) -> bytes:
    return keccak256(keccak256(value))


def reference_pair(a: bytes, b: bytes) -> bytes:
    """Solidity ``Hashes.commutativeKeccak256``: bytes32 compare as unsigned ints."""
    low, high = sorted((a, b), key=lambda node: int.from_bytes(node, "big"))
    return keccak256(low + high)


def reference_tree(values: list[bytes]) -> tuple[list[bytes], list[int]]:
    """Line-by-line transcription of merkletree.js ``prepare`` + core.js ``makeMerkleTree``."""
    hashed = sorted(
        [(reference_leaf(value), index) for index, value in enumerate(values)],
        key=lambda item: int.from_bytes(item[0], "big"),
    )
    tree: list[bytes] = [b""] * (2 * len(values) - 1)
    for position, (leaf, _) in enumerate(hashed):
        tree[len(tree) - 1 - position] = leaf
    for node in range(len(tree) - 1 - len(values), -1, -1):
        tree[node] = reference_pair(tree[2 * node + 1], tree[2 * node + 2])
    tree_indexes = [0] * len(values)
    for position, (_, index) in enumerate(hashed):
        tree_indexes[index] = len(tree) - 1 - position
    return tree, tree_indexes


def reference_process_proof(leaf: bytes, proof: list[bytes]) -> bytes:
    """Solidity ``MerkleProof.processProof``."""
    computed = leaf
    for sibling in proof:
        computed = reference_pair(computed, sibling)
    return computed


def flip_bit(data: bytes, bit: int) -> bytes:
    mutated = bytearray(data)
    mutated[bit // 8] ^= 1 << (bit % 8)
    return bytes(mutated)


def to_hex(data: bytes) -> str:
    return "0x" + data.hex()


@st.composite
def content_hash_lists(draw: st.DrawFn, max_size: int = 300) -> list[bytes]:
    """1..max_size bytes32 values in any order, with 0..n-1 duplicates."""
    size = draw(st.integers(1, max_size), label="size")
    distinct_count = draw(st.integers(1, size), label="distinct")
    distinct = draw(st.lists(BYTES32, min_size=distinct_count, max_size=distinct_count, unique=True))
    repeats = draw(st.lists(st.sampled_from(distinct), min_size=size - distinct_count, max_size=size - distinct_count))
    return draw(st.permutations(distinct + repeats))


# --- edge cases -----------------------------------------------------------------


def test_keccak_reference_matches_known_vector() -> None:
    assert keccak256(b"").hex() == "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"


def test_leaf_hash_is_double_keccak_of_value() -> None:
    value = bytes(range(32))
    assert leaf_hash(value) == keccak256(keccak256(value))


def test_matches_vector_recorded_from_library() -> None:
    """Recorded with @openzeppelin/merkle-tree 1.0.8: StandardMerkleTree.of([[1], [2], [3]], ["bytes32"])."""
    values = [i.to_bytes(32, "big") for i in (1, 2, 3)]
    tree = MerkleTree.build(values)
    assert to_hex(tree.root) == "0x6115218373392d12cc18a3d50ad2a53a2c99b391060070dfc0ebbbbe158ec944"
    assert [to_hex(node) for node in tree.proof(0)] == [
        "0x673620737675e2755ce8269a99904022d15da8d5843f5aec205cd243ff80240a"
    ]
    assert to_hex(leaf_hash(values[0])) == "0xb5d9d894133a730aa651ef62d26b0ffa846233c74177a591a4a896adfda97d22"


def test_single_leaf_tree_is_its_leaf_with_empty_proof() -> None:
    value = b"\x07" * 32
    tree = MerkleTree.build([value])
    assert tree.root == leaf_hash(value)
    assert tree.leaf_count == 1
    assert tree.proof(0) == []
    assert verify_proof(root=tree.root, leaf=leaf_hash(value), proof=[])
    assert tree.dump() == {
        "format": "standard-v1",
        "leafEncoding": ["bytes32"],
        "tree": [to_hex(leaf_hash(value))],
        "values": [{"value": [to_hex(value)], "treeIndex": 0}],
    }


def test_three_leaves_follow_library_layout() -> None:
    values = [b"\x01" * 32, b"\x02" * 32, b"\x03" * 32]
    smallest, middle, largest = sorted(map(reference_leaf, values))
    inner = reference_pair(middle, smallest)  # tree[1] = hash(tree[3], tree[4])
    expected_tree = [reference_pair(inner, largest), inner, largest, middle, smallest]
    tree = MerkleTree.build(values)
    assert tree.dump()["tree"] == [to_hex(node) for node in expected_tree]
    position = {node: index for index, node in enumerate(expected_tree)}
    assert [entry["treeIndex"] for entry in tree.dump()["values"]] == [
        position[reference_leaf(value)] for value in values
    ]
    leaves = [reference_leaf(value) for value in values]
    assert tree.proof(leaves.index(largest)) == [inner]
    assert tree.proof(leaves.index(smallest)) == [middle, largest]


def test_duplicates_get_separate_leaves_in_input_order() -> None:
    repeated, other = b"\xaa" * 32, b"\x55" * 32
    tree = MerkleTree.build([repeated, other, repeated])
    tree_indexes = [entry["treeIndex"] for entry in tree.dump()["values"]]
    assert len(set(tree_indexes)) == 3
    assert tree_indexes[0] > tree_indexes[2]  # stable sort: earlier duplicate, later slot
    for index, value in enumerate([repeated, other, repeated]):
        assert verify_proof(root=tree.root, leaf=leaf_hash(value), proof=tree.proof(index))


def test_empty_input_is_rejected() -> None:
    with pytest.raises(ValueError):
        MerkleTree.build([])


@pytest.mark.parametrize("bad", [b"", b"\x01" * 31, b"\x01" * 33])
def test_wrong_length_content_hash_is_rejected(bad: bytes) -> None:
    with pytest.raises(ValueError):
        MerkleTree.build([ZERO, bad])
    with pytest.raises(ValueError):
        leaf_hash(bad)


def test_non_bytes_content_hash_is_rejected_and_bytes_like_accepted() -> None:
    with pytest.raises(TypeError):
        MerkleTree.build([32])  # bytes(32) would silently be 32 zero bytes
    assert MerkleTree.build([bytearray(b"\x09" * 32)]).root == MerkleTree.build([b"\x09" * 32]).root


@pytest.mark.parametrize("index", [-1, 3])
def test_proof_index_out_of_range(index: int) -> None:
    tree = MerkleTree.build([ZERO, b"\x01" * 32, b"\x02" * 32])
    with pytest.raises(IndexError):
        tree.proof(index)
    with pytest.raises(IndexError):
        tree.leaf(index)


def test_verify_proof_rejects_non_bytes32_inputs() -> None:
    with pytest.raises(ValueError):
        verify_proof(root=ZERO[:31], leaf=ZERO, proof=[])
    with pytest.raises(ValueError):
        verify_proof(root=ZERO, leaf=ZERO, proof=[b"\x01" * 33])


def test_leaf_layout_orders_like_unsigned_256_bit_numbers() -> None:
    """Trailing zeros, high bytes and duplicates: where a byte-string sort could slip."""
    leaves = [b"\x80" + bytes(31), b"\x7f" + b"\xff" * 31, bytes(31) + b"\x01", ZERO, b"\x80" + bytes(31), b"\xff" * 32]
    order, tree_indexes = _leaf_layout(leaves)
    assert order == sorted(range(len(leaves)), key=lambda i: int.from_bytes(leaves[i], "big"))
    assert tree_indexes == [len(leaves) * 2 - 2 - order.index(i) for i in range(len(leaves))]


# --- properties -----------------------------------------------------------------


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 2**256 - 1).map(lambda number: number.to_bytes(32, "big")), min_size=1, max_size=50))
def test_leaf_layout_is_stable_numeric_sort(leaves: list[bytes]) -> None:
    """Integers shrink to 0, powers of two and repeats: leading/trailing zeros and ties."""
    order, _ = _leaf_layout(leaves)
    assert order == sorted(range(len(leaves)), key=lambda i: int.from_bytes(leaves[i], "big"))


@settings(max_examples=60, deadline=None)
@given(content_hash_lists())
def test_tree_matches_reference_and_every_proof_verifies(values: list[bytes]) -> None:
    tree = MerkleTree.build(values)
    expected_tree, expected_indexes = reference_tree(values)
    assert tree.root == expected_tree[0]
    dump = tree.dump()
    assert dump["tree"] == [to_hex(node) for node in expected_tree]
    assert [entry["treeIndex"] for entry in dump["values"]] == expected_indexes
    for value, proof in zip(values, map(tree.proof, range(len(values)))):
        assert verify_proof(root=tree.root, leaf=leaf_hash(value), proof=proof)
        assert reference_process_proof(reference_leaf(value), proof) == tree.root


@settings(max_examples=60, deadline=None)
@given(content_hash_lists())
def test_proofs_read_from_the_stored_nodes_equal_the_trees_own(values: list[bytes]) -> None:
    tree = MerkleTree.build(values)
    assert tree.nodes == b"".join(bytes.fromhex(node[2:]) for node in tree.dump()["tree"])
    assert tree.tree_indexes == [entry["treeIndex"] for entry in tree.dump()["values"]]
    for index, position in enumerate(tree.tree_indexes):
        assert proof_from_nodes(tree.nodes, position) == tree.proof(index)


@pytest.mark.parametrize(
    ("nodes", "position", "problem"),
    [(b"", 0, "not the nodes"), (bytes(64), 1, "not the nodes"), (bytes(31 * 3), 1, "not the nodes"),
     (bytes(96), 0, "not a leaf"), (bytes(96), 3, "not a leaf"), (bytes(96), None, "not a leaf")],
)
def test_nodes_that_are_not_a_tree_or_positions_that_are_not_leaves_are_refused(nodes, position, problem) -> None:
    with pytest.raises(ValueError, match=problem):
        proof_from_nodes(nodes, position)


@settings(max_examples=60, deadline=None)
@given(content_hash_lists(), st.data())
def test_changing_leaf_proof_element_or_root_fails_verification(values: list[bytes], data: st.DataObject) -> None:
    tree = MerkleTree.build(values)
    index = data.draw(st.integers(0, len(values) - 1), label="leaf index")
    bit = data.draw(st.integers(0, 255), label="flipped bit")
    leaf, proof = leaf_hash(values[index]), tree.proof(index)
    assert verify_proof(root=tree.root, leaf=leaf, proof=proof)
    assert not verify_proof(root=tree.root, leaf=flip_bit(leaf, bit), proof=proof)
    assert not verify_proof(root=flip_bit(tree.root, bit), leaf=leaf, proof=proof)
    for position in range(len(proof)):
        tampered = proof[:position] + [flip_bit(proof[position], bit)] + proof[position + 1 :]
        assert not verify_proof(root=tree.root, leaf=leaf, proof=tampered)


@settings(max_examples=100, deadline=None)
@given(BYTES32, st.lists(BYTES32, max_size=20))
def test_verify_proof_is_solidity_process_proof(leaf: bytes, proof: list[bytes]) -> None:
    root = reference_process_proof(leaf, proof)
    assert verify_proof(root=root, leaf=leaf, proof=proof)
    assert not verify_proof(root=flip_bit(root, 0), leaf=leaf, proof=proof)


# --- interop with @openzeppelin/merkle-tree --------------------------------------


def interop_inputs(rng: random.Random) -> list[list[bytes]]:
    """Edge cases, then random batches of 1..300 values (mostly small: the library
    needs ~0.3 ms per proof), some with duplicates, half of them salted ([content hash, salt])."""
    edge_cases = [
        [ZERO],
        [b"\xff" * 32],
        [ZERO, ZERO],
        [b"\x42" * 32] * 5,
        [bytes([i]) * 32 for i in range(16)],
        [bytes([i]) * 32 for i in reversed(range(16))],
    ]
    sizes_around_powers_of_two = (2, 3, 4, 5, 7, 8, 9, 127, 128, 129, 255, 256, 257)
    edge_cases += [[rng.randbytes(32) for _ in range(size)] for size in sizes_around_powers_of_two]
    random_cases = []
    for case in range(180):
        size = rng.randint(1, 40) if rng.random() < 0.9 else rng.randint(41, 300)
        width = 64 if case % 2 else 32  # every other batch of salted records
        distinct = [rng.randbytes(width) for _ in range(size)]
        values = distinct + rng.choices(distinct, k=rng.choice([0, 0, 1, 10]))
        rng.shuffle(values)
        random_cases.append(values[:300])
    return edge_cases + random_cases


def run_interop_script(payload: dict) -> dict:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not on PATH: the OpenZeppelin interop test needs Node.js")
    completed = subprocess.run(
        [node, str(INTEROP_SCRIPT)],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        timeout=120,
        check=False,
    )
    if completed.returncode != 0:
        pytest.fail(f"interop script failed (is @openzeppelin/merkle-tree installed?):\n{completed.stderr}")
    return json.loads(completed.stdout)


def claim(*, encoding: str, root: bytes, value: bytes, proof: list[bytes]) -> dict:
    return {"encoding": encoding.split(","), "root": to_hex(root), "value": to_hex(value), "proof": [to_hex(node) for node in proof]}


def encoding_of(values: list[bytes]) -> str:
    """Batches of 64-byte values are salted records ([content hash, salt]), of 32-byte ones the unsalted."""
    return SALTED if len(values[0]) == 64 else UNSALTED


@pytest.fixture(scope="module")
def interop() -> tuple[list[list[bytes]], list[MerkleTree], list[bool], dict]:
    """Our trees, the expected verdict per claim, and the library's answers, from one node run."""
    batches = interop_inputs(random.Random(20240611))
    trees = [MerkleTree.build(values, encoding=encoding_of(values)) for values in batches]
    claims, expected = [], []
    for values, tree in zip(batches, trees):
        encoding = encoding_of(values)
        for value, proof in zip(values, map(tree.proof, range(len(values)))):
            claims.append(claim(encoding=encoding, root=tree.root, value=value, proof=proof))
            expected.append(True)
        value, proof = values[-1], tree.proof(len(values) - 1)
        tampered = [(flip_bit(tree.root, 9), value, proof), (tree.root, flip_bit(value, 9), proof)]
        if len(value) == 64:  # the salt is part of the leaf: another salt is another leaf
            tampered.append((tree.root, flip_bit(value, 300), proof))
        if proof:
            tampered.append((tree.root, value, [flip_bit(proof[0], 9), *proof[1:]]))
        for root, bad_value, bad_proof in tampered:
            claims.append(claim(encoding=encoding, root=root, value=bad_value, proof=bad_proof))
            expected.append(False)
    answer = run_interop_script(
        {
            "cases": [{"encoding": encoding_of(values).split(","), "values": [to_hex(value) for value in values]}
                      for values in batches],
            "dumps": [tree.dump() for tree in trees],
            "claims": claims,
        }
    )
    return batches, trees, expected, answer


def test_interop_covers_few_hundred_batches(interop) -> None:
    batches, _, _, answer = interop
    assert len(batches) == len(answer["trees"]) >= 190


def test_library_rebuilds_same_root_and_dump(interop) -> None:
    _, trees, _, answer = interop
    for tree, theirs in zip(trees, answer["trees"]):
        assert theirs["root"] == to_hex(tree.root)
        assert theirs["dump"] == tree.dump()


def test_library_loads_our_dumps(interop) -> None:
    _, trees, _, answer = interop
    assert answer["loadedRoots"] == [to_hex(tree.root) for tree in trees]


def test_library_proofs_equal_ours(interop) -> None:
    _, trees, _, answer = interop
    for tree, theirs in zip(trees, answer["trees"]):
        assert theirs["proofs"] == [[to_hex(node) for node in proof] for proof in map(tree.proof, range(tree.leaf_count))]


def test_library_verifies_our_proofs_and_rejects_tampered_ones(interop) -> None:
    _, _, expected, answer = interop
    assert answer["verified"] == expected
    assert True in expected and False in expected
