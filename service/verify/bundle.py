"""Offline check of a proof bundle: nothing but the bundle and an Ethereum node.

This module deliberately uses no database and no settings, so ``traceanchor verify`` proves a
record to someone who does not trust the service that exported it. Nor does it trust the contract the
bundle names: any contract can answer ``true`` to ``verifyInclusion`` and emit an ``Anchored`` event,
so the code at that address must be a released TraceAnchor build (``contracts/releases.json``), and,
when the checker names the deployment it trusts, be at that very address.
"""

import json
import re
from dataclasses import dataclass, field
from enum import StrEnum

from eth_utils import keccak
from web3 import Web3
from web3.exceptions import TransactionNotFound, Web3Exception
from web3.logs import DISCARD

from service.anchor.compiler import load_artifact
from service.anchor.releases import load_releases, release_of
from service.hashing import HashingError, content_hash
from service.hashing.merkle import SALTED, UNSALTED, leaf_hash, leaf_value, verify_proof
from service.verify.bundle_format import REQUIRED_FIELDS, with_current_names
from service.verify.submission import check_submission


class Verdict(StrEnum):
    """What a bundle check concluded."""

    VALID = "valid"  # every check passed, on chain too
    INVALID = "invalid"  # at least one check failed
    UNCHECKED = "unchecked"  # nothing failed, but the chain could not be asked


@dataclass
class BundleCheck:
    """Each check by name with its outcome (True, False, or None: could not be checked) and a
    human-readable detail."""

    checks: list[tuple[str, bool | None, str]] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        """True only if every check passed (and there was at least one)."""
        return bool(self.checks) and all(ok is True for _, ok, _ in self.checks)

    @property
    def verdict(self) -> Verdict:
        """A failed check makes the bundle invalid even when the chain could not be asked."""
        outcomes = {ok for _, ok, _ in self.checks}
        if False in outcomes or not outcomes:
            return Verdict.INVALID
        return Verdict.UNCHECKED if None in outcomes else Verdict.VALID

    def lines(self) -> list[str]:
        """One printable line per check: ``ok``, ``FAIL`` or ``--`` (not checked), name and detail."""
        marks = {True: "ok  ", False: "FAIL", None: "--  "}
        return [f"{marks[ok]} {name}: {detail}" for name, ok, detail in self.checks]

    def add(self, name: str, ok: bool | None, detail: str) -> bool:
        self.checks.append((name, ok, detail))
        return bool(ok)


def check_bundle(bundle: dict, *, w3: Web3, contract: str | None = None) -> BundleCheck:
    """Recompute the hash and the leaf and walk the proof (offline), then ask the chain; a node
    that cannot be reached or cannot answer leaves the chain part unchecked, not failed.

    ``contract``: the address of the deployment the checker trusts; the bundle must name it.
    Without it, any deployment of a released TraceAnchor build is accepted.
    """
    trusted = Web3.to_checksum_address(contract) if contract is not None else None  # ValueError: not an address
    result = BundleCheck()
    if not isinstance(bundle, dict):
        result.add("fields", False, "the bundle is not a JSON object")
        return result
    bundle = with_current_names(bundle)
    missing = [name for name in REQUIRED_FIELDS if name not in bundle]
    if not result.add("fields", not missing, f"missing: {', '.join(missing)}" if missing else "all present"):
        return result
    try:
        record = bundle["record"]
        recomputed = content_hash(kind=bundle["record_kind"], body=json.loads(record) if isinstance(record, str) else record)
        claimed = _bytes32(bundle["content_hash"])
        leaf = _bytes32(bundle["leaf"])
        root = _bytes32(bundle["root"])
        proof = [_bytes32(node) for node in bundle["proof"]]
        encoding = ",".join(bundle.get("leaf_encoding", [UNSALTED]))  # bundles of the release before salts name none
        salt = _bytes32(bundle["salt"]) if encoding != UNSALTED else None
        expected_leaf = leaf_hash(leaf_value(recomputed, salt, encoding=encoding))
        _bytes32(bundle["tx_hash"])
        Web3.to_checksum_address(bundle["contract"])
        for name in ("chain_id", "block_number"):
            if isinstance(bundle[name], bool) or not isinstance(bundle[name], int):
                raise TypeError(f"{name} is not an integer: {bundle[name]!r}")
    except (HashingError, ValueError, TypeError, AttributeError, KeyError) as error:
        result.add("format", False, str(error))
        return result
    result.add("content_hash", recomputed == claimed, f"record hashes to 0x{recomputed.hex()}")
    fields = "content_hash" if encoding == UNSALTED else "content_hash, salt"
    result.add("leaf", expected_leaf == leaf, f"leaf = keccak256(keccak256(abi.encode({fields})))")
    result.add("proof", verify_proof(root=root, leaf=expected_leaf, proof=proof), f"proof of {len(proof)} nodes leads to the root")
    if trusted is not None:
        named = Web3.to_checksum_address(bundle["contract"])
        result.add("trusted_contract", named == trusted, f"the bundle names {named}, the trusted deployment is {trusted}")
    if "submission" in bundle:
        check_submission(result.add, bundle["submission"], content_hash=recomputed, chain_id=bundle["chain_id"],
                         check_record=lambda nested: _nested(nested, w3=w3, contract=contract))
    try:
        record_key = (recomputed, salt) if encoding == SALTED else None
        _check_chain(result, bundle, w3=w3, root=root, leaf=expected_leaf, proof=proof, record_key=record_key)
    except (OSError, Web3Exception) as error:  # requests' errors are OSErrors; web3's when the node answers nonsense
        result.add("chain", None, f"not checked: the node did not answer ({type(error).__name__}: {_reason(error)})")
    return result


def _nested(bundle: dict, *, w3: Web3, contract: str | None) -> tuple[bool | None, str]:
    """A signing key's registration or revocation, checked as the proof bundle it is."""
    check = check_bundle(bundle, w3=w3, contract=contract)
    failed = [f"{name} ({detail})" for name, ok, detail in check.checks if ok is False]
    outcome = {Verdict.VALID: True, Verdict.INVALID: False, Verdict.UNCHECKED: None}[check.verdict]
    return outcome, ("failed: " + "; ".join(failed)) if failed else check.verdict.value


def _reason(error: Exception) -> str:
    """The gist of a connection error: the socket's reason ("Connection refused") if it names one."""
    text = str(error)
    socket_error = re.search(r"\[Errno -?\d+\] ([^\"')]+)", text)
    if socket_error:
        return socket_error.group(1)
    return text.splitlines()[0][:200] if text.strip() else "no detail"


def _check_chain(
    result: BundleCheck, bundle: dict, *, w3: Web3, root: bytes, leaf: bytes, proof: list[bytes], record_key: tuple[bytes, bytes] | None
) -> None:
    """The on-chain checks. ``record_key`` (content hash, salt) of a salted leaf lets a release with
    ``verifyRecord`` derive the leaf itself; older releases, and unsalted leaves, are asked with
    ``verifyInclusion``."""
    chain_id = w3.eth.chain_id
    if chain_id != bundle["chain_id"]:
        result.add("chain_id", None, f"not checked: the node is on chain {chain_id}, the bundle names chain {bundle['chain_id']}")
        return
    result.add("chain_id", True, f"node is on chain {chain_id}")
    address = Web3.to_checksum_address(bundle["contract"])
    code = w3.eth.get_code(address)
    release = release_of(code, load_releases())
    if release is None:
        found = "no code" if not code else f"code of no TraceAnchor release (keccak256 0x{keccak(bytes(code)).hex()})"
        result.add("contract", False, f"{address} has {found}")
        return
    result.add("contract", True, f"{address} runs TraceAnchor {release.version}")
    abi = load_artifact(release.artifact)["abi"]
    contract = w3.eth.contract(address=address, abi=abi)
    if record_key is not None and any(entry.get("name") == "verifyRecord" for entry in abi):
        included = contract.functions.verifyRecord(root, *record_key, proof).call()
        result.add("on_chain_inclusion", included, "verifyRecord(root, content_hash, salt, proof) via eth_call: the contract derives the leaf")
    else:
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
