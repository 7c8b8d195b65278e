"""Which contract a proof bundle may name: a released TraceAnchor build, and the trusted one if given.

A look-alike contract (same ABI, ``verifyInclusion`` always true, ``anchor`` emitting ``Anchored``
for any root) would otherwise prove a forged record: the bundle below rewrites a payment's total,
makes the new leaf its own root and "anchors" it on the look-alike.
"""

import json

import pytest
import solcx
from support.records import fill

from service.anchor.compiler import find_solc
from service.hashing.merkle import leaf_hash, leaf_value
from service.cli import main
from service.hashing import content_hash
from service.models import Record
from service.verify.bundle import Verdict, check_bundle
from service.verify.verification import proof_bundle

LOOK_ALIKE = """// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

contract LookAlike {
    event Anchored(bytes32 indexed root, uint32 leafCount, address indexed anchorer);

    function anchor(bytes32 root, uint32 leafCount) external {
        emit Anchored(root, leafCount, msg.sender);
    }

    function anchoredAt(bytes32) external view returns (uint64) {
        return uint64(block.timestamp);
    }

    function verifyInclusion(bytes32, bytes32, bytes32[] calldata) external pure returns (bool) {
        return true;
    }
}
"""


@pytest.fixture(scope="module")
def look_alike_build() -> dict:
    """ABI and creation code of the look-alike, compiled here with the project's pinned solc."""
    output = solcx.compile_standard(
        {
            "language": "Solidity",
            "sources": {"LookAlike.sol": {"content": LOOK_ALIKE}},
            "settings": {"outputSelection": {"LookAlike.sol": {"LookAlike": ["abi", "evm.bytecode.object"]}}},
        },
        solc_binary=find_solc(),
    )
    built = output["contracts"]["LookAlike.sol"]["LookAlike"]
    return {"abi": built["abi"], "bytecode": "0x" + built["evm"]["bytecode"]["object"]}


@pytest.fixture
def genuine(ledger) -> dict:
    """The proof bundle of an anchored payment."""
    (record_id,) = fill(ledger, 1)
    ledger.anchoring.anchor_now()
    with ledger.session() as session:
        return proof_bundle(session, ledger.chain, session.get(Record, record_id)).as_json()


@pytest.fixture
def forged(ledger, genuine, look_alike_build) -> dict:
    """The genuine bundle with the payment's total rewritten, "anchored" on a look-alike contract."""
    w3 = ledger.chain.w3
    sender = w3.eth.accounts[0]
    factory = w3.eth.contract(abi=look_alike_build["abi"], bytecode=look_alike_build["bytecode"])
    address = w3.eth.wait_for_transaction_receipt(factory.constructor().transact({"from": sender}))["contractAddress"]
    record = {**genuine["record"], "total": "99999.00"}
    digest = content_hash(kind=genuine["record_kind"], body=record)
    leaf = leaf_hash(leaf_value(digest, bytes.fromhex(genuine["salt"][2:]), encoding=",".join(genuine["leaf_encoding"])))
    tx_hash = w3.eth.contract(address=address, abi=look_alike_build["abi"]).functions.anchor(leaf, 1).transact({"from": sender})
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash)
    return {
        **genuine, "record": record, "content_hash": "0x" + digest.hex(), "leaf": "0x" + leaf.hex(), "proof": [],
        "root": "0x" + leaf.hex(), "contract": address, "tx_hash": "0x" + bytes(tx_hash).hex(),
        "block_number": receipt["blockNumber"],
    }


def test_a_bundle_naming_a_look_alike_contract_is_invalid(ledger, forged):
    result = check_bundle(forged, w3=ledger.chain.w3)
    checks = {name: (ok, detail) for name, ok, detail in result.checks}
    assert result.verdict == Verdict.INVALID
    assert checks["contract"][0] is False and "no TraceAnchor release" in checks["contract"][1]
    # Every check before it passes: the forgery is caught by the contract's code alone.
    assert all(ok for name, ok, _ in result.checks if name != "contract")


def test_a_genuine_bundle_names_a_released_build(ledger, genuine):
    result = check_bundle(genuine, w3=ledger.chain.w3)
    assert result.verdict == Verdict.VALID, result.lines()
    details = dict((name, detail) for name, _, detail in result.checks)
    assert "runs TraceAnchor " in details["contract"]
    assert details["on_chain_inclusion"].startswith("verifyRecord(root, content_hash, salt, proof)")  # the leaf derived on chain


def test_a_trusted_contract_must_be_the_one_the_bundle_names(ledger, genuine):
    assert check_bundle(genuine, w3=ledger.chain.w3, contract=genuine["contract"].lower()).verdict == Verdict.VALID
    other = ledger.chain.deploy()  # a genuine TraceAnchor, but not the trusted deployment
    result = check_bundle(genuine, w3=ledger.chain.w3, contract=other)
    assert result.verdict == Verdict.INVALID
    assert [name for name, ok, _ in result.checks if ok is False] == ["trusted_contract"]


def test_verify_names_a_bad_contract_option(tmp_path, genuine, capsys):
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(genuine))
    with pytest.raises(SystemExit) as exited:
        main(["verify", str(path), "--rpc", "http://127.0.0.1:1", "--contract", "0x12"])
    err = capsys.readouterr().err
    assert exited.value.code == 2 and "--contract" in err and "not an Ethereum address: '0x12'" in err
