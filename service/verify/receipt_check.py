"""Offline check of a receipt, and of the proof bundles of its records: nothing but them and an
Ethereum node (like ``service.verify.bundle``, no database and no settings).

A receipt is the operator's signed promise to anchor a submission's records by ``anchorBy``. The
check recovers its signer and asks the contract it names whether that account holds
``ANCHORER_ROLE`` (only then did the operator sign it), rebuilds ``root`` and ``count`` from the
receipt's content hashes, and ties each valid bundle to one of them. Then each record was anchored
in time (its root's ``anchoredAt`` at most ``anchorBy``), late, or not at all: a record without a
bundle once the chain's latest block is past ``anchorBy`` is evidence that the operator received it
and did not anchor it.
"""

from dataclasses import dataclass, field
from enum import StrEnum

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_keys.exceptions import BadSignature
from web3 import Web3
from web3.exceptions import Web3Exception

from service.anchor.compiler import load_artifact
from service.anchor.receipts import RECEIPT_TYPE
from service.anchor.releases import load_releases, release_of
from service.hashing.typed_data import DOMAIN_TYPE, NAME, VERSION, submission_root
from service.verify.bundle import BundleCheck, Verdict, check_bundle


class ReceiptVerdict(StrEnum):
    """What a receipt and its bundles show, the worst finding winning."""

    INVALID = "invalid"  # not a receipt the operator signed, or a bundle that does not hold
    UNCHECKED = "unchecked"  # nothing failed, but the chain could not be asked
    MISSING = "missing"  # anchorBy has passed and some records have no anchored bundle
    LATE = "late"  # every record anchored, some after anchorBy
    NOT_DUE = "not_due"  # some records not anchored yet, but anchorBy has not passed
    IN_TIME = "in_time"  # every record anchored by anchorBy (or: the receipt alone is valid, no bundles given)


@dataclass
class ReceiptCheck(BundleCheck):
    """The checks by name (as for a bundle), and the records by outcome (content hashes)."""

    verdict_found: ReceiptVerdict | None = None  # what the records showed; None: no bundles were checked
    in_time: list[str] = field(default_factory=list)
    late: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    @property
    def receipt_verdict(self) -> ReceiptVerdict:
        outcomes = {ok for _, ok, _ in self.checks}
        if False in outcomes or not outcomes:
            return ReceiptVerdict.INVALID
        if None in outcomes:
            return ReceiptVerdict.UNCHECKED
        return self.verdict_found or ReceiptVerdict.IN_TIME


def check_receipt(receipt: dict, *, w3: Web3, bundles: list[dict] | None = None) -> ReceiptCheck:
    """Check ``receipt`` (the ``receipt`` object of a capture answer) and, given, the proof bundles
    of its records; a node that cannot answer leaves the chain part unchecked, not failed."""
    result = ReceiptCheck()
    try:
        typed, message, signer, hashes = _parts(receipt)
        digest = encode_typed_data(full_message=typed)
    except (ValueError, TypeError, KeyError, AttributeError) as error:
        result.add("format", False, f"not a traceanchor receipt: {error}")
        return result
    try:
        recovered = Account.recover_message(digest, signature=receipt.get("signature"))
    except (BadSignature, ValueError, TypeError) as error:
        result.add("signature", False, f"no signer recovers from the signature ({error})")
    else:
        result.add("signature", recovered == signer, f"EIP-712 signature recovers {recovered}, the receipt names {signer}")
    if hashes is not None:
        rebuilt = "0x" + submission_root([bytes.fromhex(value[2:]) for value in hashes]).hex() if hashes else None
        result.add("root", rebuilt == message["root"].lower() and len(hashes) == message["count"],
                   f"{len(hashes)} content hashes rebuild root {rebuilt}, the receipt signs {message['count']} under {message['root']}")
    try:
        _check_chain(result, typed["domain"], signer=signer, message=message, hashes=hashes, bundles=bundles, w3=w3)
    except (OSError, Web3Exception) as error:
        result.add("chain", None, f"not checked: the node did not answer ({type(error).__name__})")
    return result


def _parts(receipt: dict) -> tuple[dict, dict, str, list[str] | None]:
    """The typed data, its message, the signer and the content hashes, once their shape is right:
    exactly the Receipt type in a traceanchor domain (a doctored type must not pass for one)."""
    typed = receipt["typed_data"]
    if typed["primaryType"] != "Receipt" or typed["types"] != {"EIP712Domain": DOMAIN_TYPE, "Receipt": RECEIPT_TYPE}:
        raise ValueError("the typed data is not of type Receipt(string party,bytes32 root,uint32 count,uint64 receivedAt,uint64 anchorBy)")
    if (typed["domain"]["name"], typed["domain"]["version"]) != (NAME, VERSION):
        raise ValueError(f"the domain is {typed['domain']['name']!r} version {typed['domain']['version']!r}")
    Web3.to_checksum_address(typed["domain"]["verifyingContract"])
    hashes = receipt.get("content_hashes")
    if hashes is not None and not all(isinstance(value, str) and len(bytes.fromhex(value.removeprefix("0x"))) == 32 for value in hashes):
        raise ValueError("content_hashes are not 32-byte hex strings")
    hashes = None if hashes is None else ["0x" + value.removeprefix("0x").lower() for value in hashes]
    return typed, typed["message"], Web3.to_checksum_address(receipt["signer"]), hashes


def _check_chain(result: ReceiptCheck, domain: dict, *, signer: str, message: dict, hashes: list[str] | None,
                 bundles: list[dict] | None, w3: Web3) -> None:
    chain_id = w3.eth.chain_id
    if chain_id != domain["chainId"]:
        result.add("chain_id", None, f"not checked: the node is on chain {chain_id}, the receipt names chain {domain['chainId']}")
        return
    address = Web3.to_checksum_address(domain["verifyingContract"])
    release = release_of(w3.eth.get_code(address), load_releases())
    if not result.add("contract", release is not None, f"{address} {'runs TraceAnchor ' + release.version if release else 'is no TraceAnchor'}"):
        return
    contract = w3.eth.contract(address=address, abi=load_artifact(release.artifact)["abi"])
    anchorer = contract.functions.hasRole(contract.functions.ANCHORER_ROLE().call(), signer).call()
    result.add("signer_role", anchorer, f"{signer} {'holds' if anchorer else 'does not hold'} ANCHORER_ROLE on {address}")
    if bundles is None:
        return
    if hashes is None:
        hashes = _hashes_of(bundles)
        result.add("root", "0x" + submission_root([bytes.fromhex(h[2:]) for h in hashes]).hex() == message["root"].lower()
                   and len(hashes) == message["count"], "without the receipt's content hashes, the bundles' must rebuild its root")
    _check_records(result, message, hashes=hashes, bundles=bundles, w3=w3, contract_address=address, contract=contract)


def _hashes_of(bundles: list[dict]) -> list[str]:
    return ["0x" + str(bundle.get("content_hash", "")).removeprefix("0x").lower() for bundle in bundles]


def _check_records(result: ReceiptCheck, message: dict, *, hashes: list[str], bundles: list[dict], w3: Web3,
                   contract_address: str, contract) -> None:
    """Each bundle must hold (offline and on chain, on the receipt's contract) and be one of the
    receipt's records; then each record is in time, late or missing."""
    anchored: dict[str, int] = {}
    for index, bundle in enumerate(bundles):
        checked = check_bundle(bundle, w3=w3, contract=contract_address)
        name = f"bundle[{index}]"
        if checked.verdict != Verdict.VALID:
            failed = next((f"{check}: {detail}" for check, ok, detail in checked.checks if ok is not True), "")
            result.add(name, None if checked.verdict == Verdict.UNCHECKED else False, f"{checked.verdict}: {failed}")
            continue
        content = _hashes_of([bundle])[0]
        if not result.add(name, content in hashes, f"record {content} {'is' if content in hashes else 'is not'} one of the receipt's"):
            continue
        anchored[content] = contract.functions.anchoredAt(bytes.fromhex(bundle["root"][2:])).call()
    anchor_by = message["anchorBy"]
    for content in hashes:
        if content not in anchored:
            result.missing.append(content)
        elif anchored[content] <= anchor_by:
            result.in_time.append(content)
        else:
            result.late.append(content)
    now = w3.eth.get_block("latest")["timestamp"]
    if result.missing and now > anchor_by:
        result.verdict_found = ReceiptVerdict.MISSING
    elif result.missing:
        result.verdict_found = ReceiptVerdict.NOT_DUE
    elif result.late:
        result.verdict_found = ReceiptVerdict.LATE
    result.add("records", True, f"{len(result.in_time)} anchored by anchorBy {anchor_by}, {len(result.late)} later, "
               f"{len(result.missing)} without an anchored bundle (latest block at {now})")


def receipt_of(data: object) -> object:
    """A receipt file's receipt: the ``receipt`` object itself, or a whole capture answer holding one."""
    return data["receipt"] if isinstance(data, dict) and isinstance(data.get("receipt"), dict) else data
