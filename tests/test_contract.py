"""TraceAnchor itself, on an in-memory eth-tester chain: roles, the admin's delayed transfer, custom
errors, event, proofs (of leaves, and of salted records whose leaf the contract derives).

Merkle trees come from ``@openzeppelin/merkle-tree`` (run with node), so the contract is checked
against the library third parties use, not against our own Python port of it.
"""

import json
import os
import subprocess
from pathlib import Path

import pytest
from eth_tester import EthereumTester
from web3 import Web3
from web3.exceptions import ContractCustomError

from service.anchor.chain import decode_custom_error
from service.anchor.compiler import load_artifact
from service.anchor.embedded_chain import SerialisedEthereumTesterProvider

ROOT = Path(__file__).resolve().parents[1]
ZERO_ADDRESS = "0x" + "00" * 20
DEFAULT_ADMIN_ROLE = bytes(32)
ANCHORER_ROLE = Web3.keccak(text="ANCHORER_ROLE")
ADMIN_DELAY = 3600  # seconds between scheduling an admin transfer and accepting it

OPENZEPPELIN_TREE_JS = """
const { StandardMerkleTree } = require("@openzeppelin/merkle-tree");
const tree = StandardMerkleTree.of(JSON.parse(process.argv[1]).map((v) => [v]), ["bytes32"]);
const leaves = [];
for (const [i, v] of tree.entries()) leaves.push({ hash: tree.leafHash(v), proof: tree.getProof(i) });
console.log(JSON.stringify({ root: tree.root, leaves }));
"""


def openzeppelin_tree(values: list[bytes]) -> tuple[bytes, list[tuple[bytes, list[bytes]]]]:
    """(root, [(leaf hash, proof)]) of ``StandardMerkleTree.of(values, ["bytes32"])``."""
    completed = subprocess.run(
        ["node", "-e", OPENZEPPELIN_TREE_JS, json.dumps(["0x" + v.hex() for v in values])],
        cwd=ROOT, capture_output=True, text=True, check=True, timeout=60,
    )
    tree = json.loads(completed.stdout)
    to_bytes = bytes.fromhex
    leaves = [(to_bytes(leaf["hash"][2:]), [to_bytes(p[2:]) for p in leaf["proof"]]) for leaf in tree["leaves"]]
    return to_bytes(tree["root"][2:]), leaves


@pytest.fixture(scope="module")
def seven_leaf_tree():
    """An unbalanced tree (7 leaves), so proofs of different lengths are exercised."""
    return openzeppelin_tree([Web3.keccak(text=f"record {i}") for i in range(7)])


@pytest.fixture
def w3() -> Web3:
    return Web3(SerialisedEthereumTesterProvider(EthereumTester()))


@pytest.fixture
def admin(w3) -> str:
    return w3.eth.accounts[0]


@pytest.fixture
def outsider(w3) -> str:
    return w3.eth.accounts[1]


@pytest.fixture
def anchor_contract(w3, admin):
    artifact = load_artifact()
    factory = w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    receipt = w3.eth.wait_for_transaction_receipt(factory.constructor(ADMIN_DELAY, admin).transact({"from": admin}))
    return w3.eth.contract(address=receipt["contractAddress"], abi=artifact["abi"])


def reverted_with(function_call, sender: str):
    """The decoded custom error ``function_call`` reverts with when sent by ``sender``."""
    with pytest.raises(ContractCustomError) as raised:
        function_call.call({"from": sender})
    decoded = decode_custom_error(raised.value.data)
    assert decoded is not None, f"undeclared custom error {raised.value.data}"
    return decoded.error_name, decoded.error_args


def anchor(w3, contract, *, root: bytes, leaf_count: int, sender: str):
    """Anchor for real (mined) and return the receipt."""
    tx_hash = contract.functions.anchor(root, leaf_count).transact({"from": sender})
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash)
    assert receipt["status"] == 1
    return receipt


def test_constructor_makes_the_initial_admin_admin_and_anchorer(anchor_contract, admin, outsider):
    assert anchor_contract.functions.ANCHORER_ROLE().call() == ANCHORER_ROLE
    assert anchor_contract.functions.hasRole(DEFAULT_ADMIN_ROLE, admin).call()
    assert anchor_contract.functions.hasRole(ANCHORER_ROLE, admin).call()
    assert not anchor_contract.functions.hasRole(ANCHORER_ROLE, outsider).call()


def test_constructor_refuses_the_zero_admin(w3, admin):
    artifact = load_artifact()
    factory = w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    with pytest.raises(ContractCustomError) as raised:
        factory.constructor(ADMIN_DELAY, ZERO_ADDRESS).transact({"from": admin})
    decoded = decode_custom_error(raised.value.data)
    assert (decoded.error_name, decoded.error_args) == ("AccessControlInvalidDefaultAdmin", {"defaultAdmin": ZERO_ADDRESS})


def test_anchor_stores_the_block_timestamp_and_emits_anchored(w3, anchor_contract, admin):
    root = os.urandom(32)
    receipt = anchor(w3, anchor_contract, root=root, leaf_count=1024, sender=admin)
    timestamp = w3.eth.get_block(receipt["blockNumber"])["timestamp"]
    assert anchor_contract.functions.anchoredAt(root).call() == timestamp
    (event,) = anchor_contract.events.Anchored().process_receipt(receipt)
    assert dict(event["args"]) == {"root": root, "leafCount": 1024, "anchorer": admin}


def test_anchored_at_is_zero_for_a_root_never_anchored(anchor_contract):
    assert anchor_contract.functions.anchoredAt(os.urandom(32)).call() == 0


def test_an_account_without_the_anchorer_role_cannot_anchor(anchor_contract, outsider):
    call = anchor_contract.functions.anchor(os.urandom(32), 1)
    assert reverted_with(call, outsider) == (
        "AccessControlUnauthorizedAccount",
        {"account": outsider, "neededRole": ANCHORER_ROLE},
    )


def test_the_admin_grants_and_revokes_the_anchorer_role(w3, anchor_contract, admin, outsider):
    w3.eth.wait_for_transaction_receipt(anchor_contract.functions.grantRole(ANCHORER_ROLE, outsider).transact({"from": admin}))
    root = os.urandom(32)
    anchor(w3, anchor_contract, root=root, leaf_count=3, sender=outsider)
    assert anchor_contract.functions.anchoredAt(root).call() > 0

    w3.eth.wait_for_transaction_receipt(anchor_contract.functions.revokeRole(ANCHORER_ROLE, outsider).transact({"from": admin}))
    name, _ = reverted_with(anchor_contract.functions.anchor(os.urandom(32), 1), outsider)
    assert name == "AccessControlUnauthorizedAccount"


def test_only_an_admin_grants_the_anchorer_role(anchor_contract, outsider):
    call = anchor_contract.functions.grantRole(ANCHORER_ROLE, outsider)
    assert reverted_with(call, outsider) == (
        "AccessControlUnauthorizedAccount",
        {"account": outsider, "neededRole": DEFAULT_ADMIN_ROLE},
    )


def test_a_root_is_anchored_once_and_keeps_its_first_timestamp(w3, anchor_contract, admin):
    root = os.urandom(32)
    anchor(w3, anchor_contract, root=root, leaf_count=2, sender=admin)
    first = anchor_contract.functions.anchoredAt(root).call()
    assert reverted_with(anchor_contract.functions.anchor(root, 5), admin) == (
        "RootAlreadyAnchored",
        {"root": root, "anchoredAt": first},
    )


def test_the_zero_root_is_refused(anchor_contract, admin):
    assert reverted_with(anchor_contract.functions.anchor(bytes(32), 1), admin) == ("ZeroRoot", {})


def test_an_empty_batch_is_refused(anchor_contract, admin):
    root = os.urandom(32)
    assert reverted_with(anchor_contract.functions.anchor(root, 0), admin) == ("EmptyBatch", {"root": root})


def test_every_leaf_of_an_anchored_openzeppelin_tree_verifies(w3, anchor_contract, admin, seven_leaf_tree):
    root, leaves = seven_leaf_tree
    anchor(w3, anchor_contract, root=root, leaf_count=len(leaves), sender=admin)
    assert {len(proof) for _, proof in leaves} == {2, 3}
    for leaf, proof in leaves:
        assert anchor_contract.functions.verifyInclusion(root, leaf, proof).call()


def test_a_valid_proof_under_a_root_not_anchored_is_rejected(anchor_contract, seven_leaf_tree):
    root, leaves = seven_leaf_tree
    leaf, proof = leaves[0]
    assert not anchor_contract.functions.verifyInclusion(root, leaf, proof).call()


def test_wrong_leaves_and_proofs_are_rejected(w3, anchor_contract, admin, seven_leaf_tree):
    root, leaves = seven_leaf_tree
    anchor(w3, anchor_contract, root=root, leaf_count=len(leaves), sender=admin)
    (leaf, proof), (_, other_proof) = leaves[0], leaves[1]
    verify = anchor_contract.functions.verifyInclusion
    assert not verify(root, Web3.keccak(text="not a record"), proof).call()
    assert not verify(root, leaf, other_proof).call()
    assert not verify(root, leaf, proof[:-1]).call()
    assert not verify(root, leaf, [proof[0], os.urandom(32), *proof[2:]]).call()
    other_root = os.urandom(32)
    anchor(w3, anchor_contract, root=other_root, leaf_count=1, sender=admin)
    assert not verify(other_root, leaf, proof).call()


def test_a_single_record_batch_is_its_own_root_with_an_empty_proof(w3, anchor_contract, admin):
    root, [(leaf, proof)] = openzeppelin_tree([Web3.keccak(text="lonely record")])
    assert (leaf, proof) == (root, [])
    anchor(w3, anchor_contract, root=root, leaf_count=1, sender=admin)
    assert anchor_contract.functions.verifyInclusion(root, leaf, proof).call()


# -- the admin: one account, handed over in two delayed steps ----------------------------------------


def mined(w3, tx_hash):
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash)
    assert receipt["status"] == 1
    return receipt


def test_the_admin_is_handed_over_in_two_steps_after_the_delay(w3, anchor_contract, admin, outsider):
    functions = anchor_contract.functions
    assert (functions.defaultAdmin().call(), functions.defaultAdminDelay().call()) == (admin, ADMIN_DELAY)
    assert reverted_with(functions.grantRole(DEFAULT_ADMIN_ROLE, outsider), admin) == ("AccessControlEnforcedDefaultAdminRules", {})
    receipt = mined(w3, functions.beginDefaultAdminTransfer(outsider).transact({"from": admin}))
    (scheduled,) = anchor_contract.events.DefaultAdminTransferScheduled().process_receipt(receipt)
    accept_after = scheduled["args"]["acceptSchedule"]
    assert accept_after == w3.eth.get_block(receipt["blockNumber"])["timestamp"] + ADMIN_DELAY
    assert reverted_with(functions.acceptDefaultAdminTransfer(), outsider) == (
        "AccessControlEnforcedDefaultAdminDelay", {"schedule": accept_after},
    )
    w3.provider.ethereum_tester.time_travel(accept_after + 1)
    mined(w3, functions.acceptDefaultAdminTransfer().transact({"from": outsider}))
    assert functions.defaultAdmin().call() == outsider
    assert not functions.hasRole(DEFAULT_ADMIN_ROLE, admin).call()
    assert functions.hasRole(ANCHORER_ROLE, admin).call()  # anchoring keys are the new admin's to rotate
    mined(w3, functions.revokeRole(ANCHORER_ROLE, admin).transact({"from": outsider}))
    assert not functions.hasRole(ANCHORER_ROLE, admin).call()


def test_an_admin_transfer_can_be_cancelled_before_it_is_accepted(w3, anchor_contract, admin, outsider):
    functions = anchor_contract.functions
    mined(w3, functions.beginDefaultAdminTransfer(outsider).transact({"from": admin}))
    receipt = mined(w3, functions.cancelDefaultAdminTransfer().transact({"from": admin}))
    assert len(anchor_contract.events.DefaultAdminTransferCanceled().process_receipt(receipt)) == 1
    w3.provider.ethereum_tester.time_travel(w3.eth.get_block("latest")["timestamp"] + ADMIN_DELAY + 1)
    name, _ = reverted_with(functions.acceptDefaultAdminTransfer(), outsider)
    assert name == "AccessControlInvalidDefaultAdmin" and functions.defaultAdmin().call() == admin


def traceanchor_interface_id() -> bytes:
    """ERC-165 id of ITraceAnchor: the XOR of its functions' selectors."""
    interface = ["anchoredAt(bytes32)", "verifyInclusion(bytes32,bytes32,bytes32[])", "verifyRecord(bytes32,bytes32,bytes32,bytes32[])"]
    interface_id = bytes(32)[:4]
    for signature in interface:
        interface_id = bytes(a ^ b for a, b in zip(interface_id, Web3.keccak(text=signature)[:4], strict=True))
    return interface_id


def test_supports_the_traceanchor_and_default_admin_rules_interfaces(anchor_contract):
    supports = anchor_contract.functions.supportsInterface
    assert supports(traceanchor_interface_id()).call()
    assert supports(bytes.fromhex("01ffc9a7")).call()  # ERC-165 itself
    assert not supports(bytes.fromhex("ffffffff")).call()


# -- verifyRecord: the salted leaf, derived on chain --------------------------------------------------


OPENZEPPELIN_SALTED_TREE_JS = """
const { StandardMerkleTree } = require("@openzeppelin/merkle-tree");
const tree = StandardMerkleTree.of(JSON.parse(process.argv[1]), ["bytes32", "bytes32"]);
const leaves = [];
for (const [i, v] of tree.entries()) leaves.push({ value: v, proof: tree.getProof(i) });
console.log(JSON.stringify({ root: tree.root, leaves, nodes: tree.dump().tree }));
"""


@pytest.fixture(scope="module")
def salted_tree():
    """A five-record salted StandardMerkleTree built by @openzeppelin/merkle-tree: its root, each
    record's (content hash, salt, proof), and every node of the tree."""
    values = [["0x" + Web3.keccak(text=f"record {i}").hex().removeprefix("0x"), "0x" + os.urandom(32).hex()] for i in range(5)]
    completed = subprocess.run(
        ["node", "-e", OPENZEPPELIN_SALTED_TREE_JS, json.dumps(values)], cwd=ROOT, capture_output=True, text=True, check=True, timeout=60,
    )
    tree = json.loads(completed.stdout)
    to_bytes = lambda text: bytes.fromhex(text[2:])  # noqa: E731
    records = [(to_bytes(l["value"][0]), to_bytes(l["value"][1]), [to_bytes(p) for p in l["proof"]]) for l in tree["leaves"]]
    return to_bytes(tree["root"]), records, [to_bytes(node) for node in tree["nodes"]]


def test_every_record_of_an_anchored_salted_tree_verifies_by_its_content_hash_and_salt(w3, anchor_contract, admin, salted_tree):
    root, records, _ = salted_tree
    verify = anchor_contract.functions.verifyRecord
    assert not any(verify(root, content, salt, proof).call() for content, salt, proof in records)  # not anchored yet
    anchor(w3, anchor_contract, root=root, leaf_count=len(records), sender=admin)
    for content, salt, proof in records:
        assert verify(root, content, salt, proof).call()
        assert not verify(root, content, os.urandom(32), proof).call()  # the salt is part of the leaf
        assert not verify(root, os.urandom(32), salt, proof).call()


def test_an_inner_node_cannot_pass_for_a_record(w3, anchor_contract, admin, salted_tree):
    """Node 1 of the five-leaf tree hashes its children 3 and 4 (an inner node, not a leaf): it passes
    verifyInclusion with its sibling as proof, but its children given as (content hash, salt) do not
    pass verifyRecord, whose leaf is hashed twice."""
    root, records, nodes = salted_tree
    anchor(w3, anchor_contract, root=root, leaf_count=len(records), sender=admin)
    inner, sibling, children = nodes[1], nodes[2], sorted([nodes[3], nodes[4]])
    assert Web3.keccak(b"".join(children)) == inner
    assert anchor_contract.functions.verifyInclusion(root, inner, [sibling]).call()
    assert not anchor_contract.functions.verifyRecord(root, *children, [sibling]).call()
    assert not anchor_contract.functions.verifyRecord(root, *reversed(children), [sibling]).call()
