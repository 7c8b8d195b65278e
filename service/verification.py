"""Verification of stored records against the chain, and the proof bundles auditors take away.

A record verifies when (1) its stored body still hashes to the content hash it was anchored
with, (2) the Merkle proof leads from that leaf to its batch root and (3) the contract says the
root is anchored. Each failing step has its own status, so an auditor learns *what* is wrong.
"""

import hashlib
import json
from dataclasses import asdict, dataclass, field
from enum import StrEnum

from sqlmodel import Session

from service.chain import Chain
from service.errors import Conflict
from service.hashing import HashingError, content_hash, event_hash_id
from service.merkle import leaf_hash, proof_from_nodes, verify_proof
from service.models import Batch, BatchStatus, BatchTree, Record, RecordKind
from service.validation.json_limits import stored_object

BUNDLE_FORMAT = "traceanchor-proof/1"


class VerificationStatus(StrEnum):
    """The outcome of verifying one record."""

    VERIFIED = "verified"
    PENDING = "pending"
    TAMPERED = "tampered"
    NOT_ON_CHAIN = "not_on_chain"


@dataclass(frozen=True)
class Verification:
    """A verification result with the evidence it rests on (hex strings, None where unknown)."""

    record_id: int
    status: VerificationStatus
    reason: str
    content_hash: str | None = None
    root: str | None = None
    tx_hash: str | None = None
    block_number: int | None = None
    anchored_at: int | None = None

    def as_dict(self) -> dict:
        """JSON-ready form."""
        return asdict(self)


@dataclass
class VerificationCache:
    """What verifying many records shares: each root's anchoredAt and each batch's stored tree.

    So a selection, trail or analytics input costs one chain call per root and one tree read per
    batch. (SQLAlchemy's identity map holds rows weakly: without this, every record of a batch
    re-read its batch's tree, 64 KiB at 1024 leaves: 4 ms per record on PostgreSQL, 60x today.)
    """

    anchored_at: dict[str, int] = field(default_factory=dict)
    trees: dict[int, bytes | None] = field(default_factory=dict)
    max_tree_bytes: int = 256 << 20  # a run over many selections keeps at most this much, then starts afresh
    tree_bytes: int = 0

    def tree(self, session: Session, batch_id: int) -> bytes | None:
        """The stored tree nodes of ``batch_id`` (None if the tree is gone), read once."""
        if batch_id not in self.trees:
            stored = session.get(BatchTree, batch_id)
            nodes = stored.nodes if stored is not None else None
            size = len(nodes) if nodes is not None else 0
            if self.tree_bytes + size > self.max_tree_bytes:
                self.trees.clear()
                self.tree_bytes = 0
            self.trees[batch_id] = nodes
            self.tree_bytes += size
        return self.trees[batch_id]


def verify_record(session: Session, chain: Chain, record: Record, *, cache: VerificationCache | None = None) -> Verification:
    """Recompute, prove and check on chain one stored record."""
    cache = VerificationCache() if cache is None else cache
    try:
        recomputed = "0x" + recompute_content_hash(record).hex()
    except HashingError as error:
        return Verification(record.id, VerificationStatus.TAMPERED, f"stored record no longer parses: {error}")
    batch = session.get(Batch, record.batch_id) if record.batch_id is not None else None
    if batch is None:
        return Verification(record.id, VerificationStatus.PENDING, "waiting to be batched", content_hash=recomputed)
    evidence = {"content_hash": recomputed, "root": batch.root, "tx_hash": batch.tx_hash, "block_number": batch.block_number}
    if recomputed != record.content_hash:
        reason = "stored record no longer matches the hash it was anchored with"
        return Verification(record.id, VerificationStatus.TAMPERED, reason, **evidence)
    leaf = leaf_hash(bytes.fromhex(recomputed[2:]))
    if not _proof_holds(root=batch.root, leaf=leaf, proof=_stored_proof(session, record, cache=cache)):
        return Verification(record.id, VerificationStatus.TAMPERED, "Merkle proof does not lead to the batch root", **evidence)
    if batch.status != BatchStatus.ANCHORED:
        return Verification(record.id, VerificationStatus.PENDING, f"batch {batch.id} is {batch.status}", **evidence)
    if batch.root not in cache.anchored_at:
        cache.anchored_at[batch.root] = chain.anchored_at(bytes.fromhex(batch.root[2:]))
    if cache.anchored_at[batch.root] == 0:
        reason = f"root {batch.root} is not anchored on chain {chain.chain_id}"
        return Verification(record.id, VerificationStatus.NOT_ON_CHAIN, reason, **evidence)
    return Verification(
        record.id,
        VerificationStatus.VERIFIED,
        f"anchored in block {batch.block_number}",
        anchored_at=cache.anchored_at[batch.root],
        **evidence,
    )


def _stored_proof(session: Session, record: Record, *, cache: VerificationCache) -> list[bytes] | None:
    """The record's proof, read from its batch's stored tree; None if the tree (or the record's
    position in it) no longer makes sense, e.g. after an edit by hand."""
    nodes = cache.tree(session, record.batch_id)
    try:
        return proof_from_nodes(nodes, record.tree_index) if nodes is not None else None
    except (ValueError, TypeError):
        return None


def _proof_holds(*, root: str, leaf: bytes, proof: list[bytes] | None) -> bool:
    """Whether ``proof`` leads from ``leaf`` to ``root`` (a root edited by hand may not even be hex)."""
    try:
        return proof is not None and verify_proof(root=bytes.fromhex(root.removeprefix("0x")), leaf=leaf, proof=proof)
    except (ValueError, TypeError, AttributeError):
        return False


_RECOMPUTED: dict[bytes, bytes] = {}
_RECOMPUTED_LIMIT = 500_000


def recompute_content_hash(record: Record) -> bytes:
    """The content hash of the record's body as stored now; ``HashingError`` if it no longer parses.

    Canonical hashing costs tens of microseconds per record; analytics verify every input record
    on every request. So results are remembered in this process, keyed by the SHA-256 of the exact
    stored text: any edit of the row changes the key, and the memo is not in the database, so
    whoever edits rows cannot forge it.
    """
    key = hashlib.sha256(f"{record.kind}\n{record.body}".encode()).digest()
    digest = _RECOMPUTED.get(key)
    if digest is None:
        try:
            digest = content_hash(kind=record.kind, body=json.loads(record.body))
        except HashingError:
            raise
        except (ValueError, KeyError, TypeError) as error:  # a body edited by hand can be anything
            raise HashingError(f"stored body: {error}") from error
        if len(_RECOMPUTED) >= _RECOMPUTED_LIMIT:
            _RECOMPUTED.clear()
        _RECOMPUTED[key] = digest
    return digest


def proof_bundle(session: Session, chain: Chain, record: Record) -> dict:
    """Everything a third party needs to check the record with only an Ethereum node.

    ``record`` is the stored JSON text instead of the object when the object could not be returned
    (stored before depth was bounded: it nests too deep to serialise); checkers parse it.
    """
    cache = VerificationCache()
    verification = verify_record(session, chain, record, cache=cache)
    if verification.status != VerificationStatus.VERIFIED:
        raise Conflict(f"record {record.id} has no valid proof: {verification.status}: {verification.reason}")
    batch = session.get(Batch, record.batch_id)
    body = json.loads(record.body)
    bundle = {
        "format": BUNDLE_FORMAT,
        "kind": record.kind,
        "record": stored_object(record.body) or record.body,
        "content_hash": record.content_hash,
        "leaf": "0x" + leaf_hash(bytes.fromhex(record.content_hash[2:])).hex(),
        "proof": ["0x" + node.hex() for node in _stored_proof(session, record, cache=cache)],
        "root": batch.root,
        "chain_id": batch.chain_id,
        "contract": batch.contract,
        "tx_hash": batch.tx_hash,
        "block_number": batch.block_number,
    }
    if record.kind == RecordKind.EPCIS_EVENT:
        bundle["event_hash_id"] = event_hash_id(body)
    return bundle
