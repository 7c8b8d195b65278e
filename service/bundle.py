"""Offline check of a proof bundle: nothing but the bundle and an Ethereum node.

This module deliberately uses no database and no settings, so ``traceanchor verify`` proves a
record to someone who does not trust the service that exported it.
"""

import json
from dataclasses import dataclass, field

from web3 import Web3
from web3.exceptions import TransactionNotFound
from web3.logs import DISCARD

from service.compiler import load_artifact
from service.hashing import HashingError, content_hash
from service.merkle import leaf_hash, verify_proof

REQUIRED_FIELDS = ("kind", "record", "content_hash", "leaf", "proof", "root", "chain_id", "contract", "tx_hash", "block_number")


@dataclass
class BundleCheck:
    """Each check by name with its outcome and a human-readable detail."""

    checks: list[tuple[str, bool, str]] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        """True only if every check passed (and there was at least one)."""
        return bool(self.checks) and all(ok for _, ok, _ in self.checks)

    def add(self, name: str, ok: bool, detail: str) -> bool:
        self.checks.append((name, ok, detail))
        return ok


def check_bundle(bundle: dict, *, w3: Web3) -> BundleCheck:
    """Recompute the hash and the leaf, walk the proof, then ask the chain."""
    result = BundleCheck()
    missing = [name for name in REQUIRED_FIELDS if name not in bundle]
    if not result.add("fields", not missing, f"missing: {', '.join(missing)}" if missing else "all present"):
        return result
    try:
        record = bundle["record"]
        recomputed = content_hash(kind=bundle["kind"], body=json.loads(record) if isinstance(record, str) else record)
        claimed = _bytes32(bundle["content_hash"])
        leaf = _bytes32(bundle["leaf"])
        root = _bytes32(bundle["root"])
        proof = [_bytes32(node) for node in bundle["proof"]]
    except (HashingError, ValueError, TypeError) as error:
        result.add("format", False, str(error))
        return result
    result.add("content_hash", recomputed == claimed, f"record hashes to 0x{recomputed.hex()}")
    result.add("leaf", leaf_hash(recomputed) == leaf, "leaf = keccak256(keccak256(abi.encode(content_hash)))")
    result.add("proof", verify_proof(root=root, leaf=leaf_hash(recomputed), proof=proof), f"proof of {len(proof)} nodes leads to the root")
    _check_chain(result, bundle, w3=w3, root=root, leaf=leaf_hash(recomputed), proof=proof)
    return result


def _check_chain(result: BundleCheck, bundle: dict, *, w3: Web3, root: bytes, leaf: bytes, proof: list[bytes]) -> None:
    chain_id = w3.eth.chain_id
    if not result.add("chain_id", chain_id == bundle["chain_id"], f"node is on chain {chain_id}"):
        return
    address = Web3.to_checksum_address(bundle["contract"])
    contract = w3.eth.contract(address=address, abi=load_artifact()["abi"])
    if not result.add("contract", len(w3.eth.get_code(address)) > 0, f"code at {address}"):
        return
    included = contract.functions.verifyInclusion(root, leaf, proof).call()
    result.add("on_chain_inclusion", included, "verifyInclusion(root, leaf, proof) via eth_call")
    try:
        receipt = w3.eth.get_transaction_receipt(bundle["tx_hash"])
    except TransactionNotFound:
        result.add("anchor_transaction", False, f"no transaction {bundle['tx_hash']} on this chain")
        return
    logs = contract.events.Anchored().process_receipt(receipt, errors=DISCARD)
    anchored_here = any(log["args"]["root"] == root for log in logs)
    result.add(
        "anchor_transaction",
        receipt["status"] == 1 and receipt["blockNumber"] == bundle["block_number"] and anchored_here,
        f"tx {bundle['tx_hash']} in block {receipt['blockNumber']} emitted Anchored(root)",
    )


def _bytes32(value: str) -> bytes:
    raw = bytes.fromhex(value.removeprefix("0x"))
    if len(raw) != 32:
        raise ValueError(f"not a 32-byte hex string: {value!r}")
    return raw
