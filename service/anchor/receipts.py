"""Receipts: the operator's signed promise to anchor a submission's records by a given time.

A supplier can prove what it sent with its own signature; without a receipt it cannot prove that
the operator received it. Each accepted submission is answered with EIP-712 typed data
``Receipt(string party,bytes32 root,uint32 count,uint64 receivedAt,uint64 anchorBy)`` in the
deployment's domain, signed by the account that anchors (anyone can check it holds
``ANCHORER_ROLE`` on ``verifyingContract``). ``root`` and ``count`` are those a signed submission
covers (``service.hashing.typed_data.submission_root``), so the receipt and the proof bundles of
its records tie together without the service. The receipt is signed once per submission, and kept
(``Receipt`` table, with the records) so the audit can list receipts whose records were not anchored by
``anchorBy``.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from eth_account.messages import encode_typed_data
from eth_utils import keccak

from service.anchor.chain import Chain
from service.hashing.typed_data import domain, submission_root, typed_data
from service.models import Receipt

RECEIPT_TYPE = [
    {"name": "party", "type": "string"},
    {"name": "root", "type": "bytes32"},
    {"name": "count", "type": "uint32"},
    {"name": "receivedAt", "type": "uint64"},
    {"name": "anchorBy", "type": "uint64"},
]


def receipt_typed_data(domain_: dict, *, party: str, root: bytes, count: int, received_at: int, anchor_by: int) -> dict:
    """The full EIP-712 message of a receipt, JSON-ready (hex strings for bytes)."""
    message = {"party": party, "root": "0x" + bytes(root).hex(), "count": count, "receivedAt": received_at, "anchorBy": anchor_by}
    return typed_data("Receipt", RECEIPT_TYPE, domain_, message)


RECEIPT_TYPEHASH = keccak(text="Receipt(" + ",".join(f"{item['type']} {item['name']}" for item in RECEIPT_TYPE) + ")")


def receipt_digest(full: dict) -> bytes:
    """The EIP-712 hash a receipt's signature signs, from its typed data: the same as
    ``eth_account.messages.encode_typed_data``'s (a test holds them equal), in a few keccaks rather
    than the generic encoder, which costs more than signing, once per submission."""
    message, domain_ = full["message"], full["domain"]
    struct = keccak(RECEIPT_TYPEHASH + keccak(message["party"].encode()) + bytes.fromhex(message["root"][2:])
                    + b"".join(message[name].to_bytes(32, "big") for name in ("count", "receivedAt", "anchorBy")))
    return keccak(b"\x19\x01" + _domain_separator(domain_["chainId"], domain_["verifyingContract"]) + struct)


@lru_cache(maxsize=16)
def _domain_separator(chain_id: int, contract: str) -> bytes:
    return encode_typed_data(full_message=receipt_typed_data(domain(chain_id, contract), party="", root=bytes(32), count=0,
                                                             received_at=0, anchor_by=0)).header


def anchor_deadline(received_at: int, *, batch_age: float, margin: float) -> int:
    """The latest anchoring time promised: a pending record is batched within ``batch_age``, and
    ``margin`` covers the anchoring transaction and its confirmations (whole seconds, rounded up)."""
    return received_at + math.ceil(batch_age + margin)


@dataclass(frozen=True)
class IssuedReceipt:
    """What a submission's answer carries: the typed data, its signature and signer, and the
    content hashes (in submission order) whose StandardMerkleTree root the receipt names."""

    typed_data: dict
    signature: str
    signer: str
    content_hashes: list[str]


def sign_receipt(chain: Chain, *, party: str, content_hashes: Sequence[str], received_at: int, anchor_by: int,
                 capture_id: str | None = None) -> Receipt:
    """A receipt for records (``content_hashes`` 0x-hex, in submission order) signed by the chain's
    account, not kept yet: it is signed before the records are stored, so that it is kept in the
    transaction that stores them, which gives their ids (``record_ids``)."""
    root = submission_root([bytes.fromhex(value.removeprefix("0x")) for value in content_hashes])
    full = receipt_typed_data(domain(chain.chain_id, chain.address), party=party, root=root, count=len(content_hashes),
                              received_at=received_at, anchor_by=anchor_by)
    signature = "0x" + chain.sign_typed_data(full, digest=receipt_digest(full)).hex()
    return Receipt(party=party, root=full["message"]["root"], count=len(content_hashes), received_at=received_at,
                   anchor_by=anchor_by, chain_id=chain.chain_id, contract=chain.address, signer=chain.sender,
                   signature=signature, record_ids=[], content_hashes=list(content_hashes), capture_id=capture_id)


def issued(receipt: Receipt) -> IssuedReceipt:
    """A receipt as it is handed out (its typed data rebuilt from the row)."""
    full = receipt_typed_data(domain(receipt.chain_id, receipt.contract), party=receipt.party, root=bytes.fromhex(receipt.root[2:]),
                              count=receipt.count, received_at=receipt.received_at, anchor_by=receipt.anchor_by)
    return IssuedReceipt(typed_data=full, signature=receipt.signature, signer=receipt.signer, content_hashes=list(receipt.content_hashes))
