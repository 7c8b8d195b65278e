"""The EIP-712 typed data of non-repudiation (issue 16), built in one place for signers and checkers.

Suppliers sign with any wallet, HSM or KMS that signs Ethereum typed data, and an auditor checks
with ``eth_account`` or ``ethers`` alone, so every structure here is the standard full EIP-712
message (``types``, ``primaryType``, ``domain``, ``message``) that
``eth_account.messages.encode_typed_data(full_message=...)`` takes, with JSON-ready values (hex
strings for bytes and addresses) so the same dict is what a proof bundle carries.

The domain names the TraceAnchor contract and its chain, so a signature given to one deployment
cannot be replayed on another. A submission is signed once, over the OpenZeppelin
``StandardMerkleTree`` root (leaf encoding ``["bytes32"]``, ``{sortLeaves: false}``) of its records'
content hashes in submission order, and their count: one record's inclusion is then provable with a Merkle proof,
without revealing the others.
"""

from collections.abc import Sequence

from eth_abi.exceptions import EncodingError
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_keys.exceptions import BadSignature
from eth_utils.exceptions import ValidationError

from service.hashing.merkle import UNSALTED, MerkleTree

NAME = "traceanchor"
VERSION = "1"
#: ``uint32 count``: the largest submission a signature can cover.
MAX_COUNT = 2**32 - 1

DOMAIN_TYPE = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]
SIGNING_KEY_TYPE = [{"name": "party", "type": "string"}, {"name": "key", "type": "address"}]
SUBMISSION_TYPE = [
    {"name": "party", "type": "string"},
    {"name": "root", "type": "bytes32"},
    {"name": "count", "type": "uint32"},
]


def domain(chain_id: int, contract: str) -> dict:
    """The EIP-712 domain of a TraceAnchor deployment: ``contract`` is its address on ``chain_id``."""
    return {"name": NAME, "version": VERSION, "chainId": int(chain_id), "verifyingContract": contract}


def typed_data(primary_type: str, fields: list[dict], domain_: dict, message: dict) -> dict:
    """A full EIP-712 message of one primary type (no nested structs) in ``domain_``."""
    return {
        "types": {"EIP712Domain": DOMAIN_TYPE, primary_type: fields},
        "primaryType": primary_type,
        "domain": domain_,
        "message": message,
    }


def signing_key(domain_: dict, *, party: str, key: str) -> dict:
    """``SigningKey(string party,address key)``: what a key signs to prove it is held for ``party``."""
    return typed_data("SigningKey", SIGNING_KEY_TYPE, domain_, {"party": party, "key": key})


def submission(domain_: dict, *, party: str, root: bytes, count: int) -> dict:
    """``Submission(string party,bytes32 root,uint32 count)``: what a supplier signs for one submission."""
    if not 0 < count <= MAX_COUNT:
        raise ValueError(f"a signed submission holds 1 to {MAX_COUNT} records, not {count}")
    return typed_data("Submission", SUBMISSION_TYPE, domain_, {"party": party, "root": "0x" + bytes(root).hex(), "count": count})


def submission_tree(content_hashes: Sequence[bytes]) -> MerkleTree:
    """The StandardMerkleTree ``["bytes32"]`` of a submission's content hashes in submission order, with
    ``{sortLeaves: false}``: the library's default sorting would give a reordered document the same root."""
    return MerkleTree.build(content_hashes, encoding=UNSALTED, sort_leaves=False)


def submission_root(content_hashes: Sequence[bytes]) -> bytes:
    """The ``root`` a submission's signature covers (ValueError for no records or a hash not 32 bytes)."""
    return submission_tree(content_hashes).root


def signer_of(message: dict, signature: str) -> str:
    """The checksummed address whose key made ``signature`` (0x-hex, 65 bytes) over the full EIP-712
    ``message``; ValueError when the signature is malformed or the message is not typed data (a doctored
    bundle's may be anything)."""
    try:
        raw = bytes.fromhex(signature.removeprefix("0x")) if isinstance(signature, str) else b""
        if len(raw) != 65:
            raise ValueError(f"a signature is 65 bytes (r, s, v) in 0x-hex, not {signature!r:.80}")
        return Account.recover_message(encode_typed_data(full_message=message), signature=raw)
    except (ValueError, TypeError, KeyError, AttributeError, BadSignature, EncodingError, ValidationError) as error:
        raise ValueError(f"no signer can be recovered: {error}") from None
