"""Verification of stored records against the chain, and the proof bundles auditors take away.

A record verifies when (1) its stored body still hashes to the content hash it was anchored
with, and every column and search term stored beside it still derives from that body
(``service.verify.integrity``), (2) the Merkle proof leads from its leaf to its batch root and (3) the
contract that anchored the batch (``batch.contract`` on ``batch.chain_id``, whichever contract the
service uses now) says the root is anchored. Each failing step has its own status, so an auditor learns
*what* is wrong.
"""

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from sqlmodel import Session

from service.anchor.chain import Chain
from service.errors import Conflict
from service.access.signing_keys import key_at
from service.hashing import event_hash_id
from service.hashing.typed_data import submission_tree
from service.ingest.signatures import signature_of, signed_hashes
from service.verify.bundle_format import ProofBundle
from service.verify.integrity import Derivations, RowMismatch, Terms, record_leaf, stored_terms
from service.hashing.merkle import UNSALTED, proof_from_nodes, verify_proof
from service.models import Batch, BatchStatus, BatchTree, Record, RecordKind
from service.timeutil import UtcDateTime, from_unix
from service.ingest.validation.json_limits import stored_object

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
    anchored_at: UtcDateTime | None = None  # the anchoring block's time, as the contract recorded it


@dataclass
class VerificationCache:
    """What verifying many records shares: each root's anchoredAt and each batch's stored tree, and
    the process's memo of what bodies derive to (``derivations``; pass the process container's).

    So a selection, trail or analytics input costs one chain call per root and one tree read per
    batch. (SQLAlchemy's identity map holds rows weakly: without this, every record of a batch
    re-read its batch's whole tree; the README's verification benchmark has the cost.)
    """

    anchored_at: dict[str, tuple[int, str]] = field(default_factory=dict)  # by root: anchored_by_its_contract
    trees: dict[int, bytes | None] = field(default_factory=dict)
    max_tree_bytes: int = 256 << 20  # a run over many selections keeps at most this much, then starts afresh
    tree_bytes: int = 0
    terms: dict[int, Terms] = field(default_factory=dict)  # by record id, read ahead for the records about to be verified
    derivations: Derivations = field(default_factory=Derivations)

    def read_terms(self, session: Session, record_ids: list[int]) -> None:
        """Read the stored terms of many records at once (replacing those read before)."""
        self.terms = stored_terms(session, record_ids)

    def terms_of(self, session: Session, record_id: int) -> Terms:
        """The stored terms of one record: read ahead, or read now."""
        if record_id not in self.terms:
            self.terms.update(stored_terms(session, [record_id]))
        return self.terms[record_id]

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
    """Check one stored record: its row against its body, its proof, its root on chain."""
    cache = VerificationCache() if cache is None else cache
    batch = session.get(Batch, record.batch_id) if record.batch_id is not None else None
    evidence = {"root": batch.root, "tx_hash": batch.tx_hash, "block_number": batch.block_number} if batch else {}
    try:
        digest = cache.derivations.checked_content_hash(record, cache.terms_of(session, record.id))
    except RowMismatch as error:
        return Verification(record.id, VerificationStatus.TAMPERED, str(error), **evidence)
    evidence["content_hash"] = "0x" + digest.hex()
    if batch is None:
        return Verification(record.id, VerificationStatus.PENDING, "waiting to be batched", **evidence)
    try:
        leaf = record_leaf(record, digest, encoding=batch.leaf_encoding)
    except ValueError as error:
        return Verification(record.id, VerificationStatus.TAMPERED, f"no leaf for this record: {error}", **evidence)
    if not _proof_holds(root=batch.root, leaf=leaf, proof=_stored_proof(session, record, cache=cache)):
        return Verification(record.id, VerificationStatus.TAMPERED, "Merkle proof does not lead to the batch root", **evidence)
    if batch.status != BatchStatus.ANCHORED:
        return Verification(record.id, VerificationStatus.PENDING, f"batch {batch.id} is {batch.status}", **evidence)
    if batch.root not in cache.anchored_at:
        cache.anchored_at[batch.root] = anchored_by_its_contract(chain, batch)
    timestamp, absent = cache.anchored_at[batch.root]
    if timestamp == 0:
        return Verification(record.id, VerificationStatus.NOT_ON_CHAIN, absent, **evidence)
    return Verification(
        record.id,
        VerificationStatus.VERIFIED,
        f"anchored in block {batch.block_number}",
        anchored_at=from_unix(timestamp),
        **evidence,
    )


def anchored_by_its_contract(chain: Chain, batch: Batch) -> tuple[int, str]:
    """(anchoredAt, why it is 0) of the batch's root, asked of the contract that anchored the batch:
    the service may use another deployment now, and the old one still holds the batch's root."""
    if batch.chain_id not in (None, chain.chain_id):
        return 0, f"batch {batch.id} was anchored on chain {batch.chain_id}, the service is connected to chain {chain.chain_id}"
    timestamp = chain.anchored_at(bytes.fromhex(batch.root[2:]), contract=batch.contract)
    return timestamp, f"root {batch.root} is not anchored by {batch.contract or chain.address} on chain {chain.chain_id}"


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


def proof_bundle(session: Session, chain: Chain, record: Record, *, derivations: Derivations | None = None) -> ProofBundle:
    """Everything a third party needs to check the record with only an Ethereum node (docs/proof-bundle.md).

    ``record`` is the stored JSON text instead of the object when the object could not be returned
    (stored before depth was bounded: it nests too deep to serialise); checkers parse it.
    """
    cache = VerificationCache(derivations=derivations or Derivations())
    verification = verify_record(session, chain, record, cache=cache)
    if verification.status != VerificationStatus.VERIFIED:
        raise Conflict(f"record {record.id} has no valid proof: {verification.status}: {verification.reason}")
    batch = session.get(Batch, record.batch_id)
    content = bytes.fromhex(record.content_hash[2:])
    return ProofBundle(
        record_kind=record.kind,
        record=stored_object(record.body) or record.body,
        event_hash_id=event_hash_id(json.loads(record.body)) if record.kind == RecordKind.EPCIS_EVENT else None,
        content_hash=record.content_hash,
        leaf_encoding=batch.leaf_encoding.split(","),
        salt=record.salt if batch.leaf_encoding != UNSALTED else None,
        leaf="0x" + record_leaf(record, content, encoding=batch.leaf_encoding).hex(),
        proof=["0x" + node.hex() for node in _stored_proof(session, record, cache=cache)],
        root=batch.root,
        chain_id=batch.chain_id,
        contract=batch.contract,
        tx_hash=batch.tx_hash,
        block_number=batch.block_number,
        submission=_submission(session, chain, record, derivations=derivations),
    )


def _submission(session: Session, chain: Chain, record: Record, *, derivations: Derivations | None) -> dict | None:
    """The ``submission`` part of a signed record's bundle (None: the record was never signed); the
    signing key's registration and revocation travel as proof bundles of their own, so an offline
    checker learns the key history from the chain, not from the service."""
    found = signature_of(session, record.id)
    if found is None:
        return None
    signed, position = found
    tree = submission_tree(signed_hashes(signed))
    registration = key_at(session, party=signed.party, address=signed.signer, moment=_utc(signed.received_at))
    if registration is None:
        raise Conflict(f"record {record.id} was signed by {signed.signer}, whose registration for {signed.party} is gone")
    part = {
        "typed_data": json.loads(signed.typed_data), "signature": signed.signature, "signer": signed.signer,
        "proof": ["0x" + node.hex() for node in tree.proof(position)], "received_at": _utc(signed.received_at).isoformat(),
        "key_registration": proof_bundle(session, chain, registration.record, derivations=derivations).as_json(),
    }
    if registration.revocation is not None:
        try:
            part["key_revocation"] = proof_bundle(session, chain, registration.revocation, derivations=derivations).as_json()
        except Conflict:  # not anchored yet: the bundle tells what the chain can prove
            pass
    return part


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
