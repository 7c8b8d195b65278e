"""Batch audits: is every record a batch anchored still there, and unchanged?

Verifying a record proves that record, but cannot notice one that was deleted. A batch can: its
stored tree holds every leaf it anchored, and the tree's root is on chain. The audit recomputes
the root from the stored leaves (so an edited tree no longer gives the anchored root), then
matches each leaf with the record whose leaf position names it, whose body still hashes to it and
whose columns and search terms still derive from that body (``service.verify.integrity``).
A leaf that no record claims is a record that is gone; its leaf hash is reported so the auditor
can ask the supplier for the original and check it.
"""

from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from enum import StrEnum

from sqlmodel import Session, select

from service.anchor.chain import Chain
from service.errors import NotFound
from service.verify.verification import anchored_by_its_contract
from service.verify.integrity import Derivations, RowMismatch, Terms, record_leaf, stored_terms
from service.hashing.merkle import leaves_of_nodes, root_of_leaves
from service.models import Batch, BatchStatus, BatchTree, Record, RecordLeaf
from service.timeutil import UtcDateTime, from_unix, iso_utc


class BatchAuditStatus(StrEnum):
    """The outcome of a batch audit, the worst finding first."""

    TAMPERED = "tampered"  # the stored tree, or a record, no longer matches what was anchored
    INCOMPLETE = "incomplete"  # leaves whose record is gone
    NOT_ON_CHAIN = "not_on_chain"  # the database says anchored, the contract does not know the root
    PENDING = "pending"  # intact, but not anchored yet
    COMPLETE = "complete"  # every leaf has its unchanged record, and the root is on chain


@dataclass(frozen=True)
class MissingLeaf:
    """A leaf of the batch's tree that no stored record matches: the record behind it is gone."""

    tree_index: int
    leaf: str


@dataclass(frozen=True)
class BatchAudit:
    """A batch audit with its evidence: the records found, and the leaves no record matches."""

    batch_id: int
    status: BatchAuditStatus
    reason: str
    root: str
    leaf_count: int
    records: int = 0
    tampered_records: list[int] = field(default_factory=list)
    missing_leaves: list[MissingLeaf] = field(default_factory=list)
    anchored_at: UtcDateTime | None = None  # the anchoring block's time, as the contract recorded it

    def as_dict(self) -> dict:
        """JSON-ready form."""
        return asdict(self) | {"anchored_at": iso_utc(self.anchored_at) if self.anchored_at else None}


def audit_batch(session: Session, chain: Chain, *, batch_id: int, derivations: Derivations | None = None) -> BatchAudit:
    """Check one batch for changed, deleted or unanchored content (see the module docstring);
    ``derivations``: the process's memo of what bodies derive to (none: derive afresh)."""
    derivations = derivations or Derivations()
    batch = session.get(Batch, batch_id)
    if batch is None:
        raise NotFound(f"no batch {batch_id}", field="batch_id")
    base = {"batch_id": batch.id, "root": batch.root, "leaf_count": batch.leaf_count}
    tree = session.get(BatchTree, batch.id)
    try:
        leaves = leaves_of_nodes(tree.nodes)
        intact = len(leaves) == batch.leaf_count and "0x" + root_of_leaves(leaves).hex() == batch.root
    except (AttributeError, ValueError):  # no tree, or not a whole one
        intact = False
    if not intact:
        return BatchAudit(status=BatchAuditStatus.TAMPERED, reason="the stored tree does not hash to the batch root", **base)

    first = len(leaves) - 1  # tree index of leaves[0]
    claimed: set[int] = set()
    tampered = []
    rows = session.exec(select(Record, RecordLeaf.tree_index).join(RecordLeaf).where(RecordLeaf.batch_id == batch.id)).all()
    terms = stored_terms(session, [record.id for record, _ in rows])
    for record, tree_index in rows:
        position = tree_index - first if isinstance(tree_index, int) else -1
        leaf = _leaf_of(record, terms[record.id], encoding=batch.leaf_encoding, derivations=derivations)
        if not 0 <= position < len(leaves) or position in claimed or leaves[position] != leaf:
            tampered.append(record.id)
        claimed.add(position)
    records = len(rows)
    missing = [MissingLeaf(first + i, "0x" + leaf.hex()) for i, leaf in enumerate(leaves) if i not in claimed]
    found = {**base, "records": records, "tampered_records": sorted(tampered), "missing_leaves": missing}
    findings = []
    if tampered:
        findings.append("1 record no longer matches its leaf" if len(tampered) == 1 else f"{len(tampered)} records no longer match their leaves")
    if missing:
        findings.append("1 anchored record is gone" if len(missing) == 1 else f"{len(missing)} anchored records are gone")
    if findings:
        status = BatchAuditStatus.TAMPERED if tampered else BatchAuditStatus.INCOMPLETE
        return BatchAudit(status=status, reason="; ".join(findings), **found)
    if batch.status != BatchStatus.ANCHORED:
        return BatchAudit(status=BatchAuditStatus.PENDING, reason=f"batch {batch.id} is {batch.status}", **found)
    anchored_at, absent = anchored_by_its_contract(chain, batch)
    if anchored_at == 0:
        return BatchAudit(status=BatchAuditStatus.NOT_ON_CHAIN, reason=absent, **found)
    reason = f"{'its record' if records == 1 else f'all {records} records'} present and unchanged, anchored in block {batch.block_number}"
    return BatchAudit(status=BatchAuditStatus.COMPLETE, reason=reason, anchored_at=from_unix(anchored_at), **found)


def audit_batches(session: Session, chain: Chain, *, batch_ids: list[int] | None = None,
                  derivations: Derivations | None = None) -> Iterator[BatchAudit]:
    """Audit each of ``batch_ids`` (default: every batch, oldest first), one at a time."""
    ids = batch_ids if batch_ids is not None else session.exec(select(Batch.id).order_by(Batch.id)).all()
    for batch_id in ids:
        yield audit_batch(session, chain, batch_id=batch_id, derivations=derivations)
        session.expunge_all()  # a whole database's records must not pile up in the identity map


def _leaf_of(record: Record, terms: Terms, *, encoding: str, derivations: Derivations) -> bytes | None:
    """The record's leaf hash as its stored row gives it now; None if the row disagrees with its body."""
    try:
        return record_leaf(record, derivations.checked_content_hash(record, terms), encoding=encoding)
    except (RowMismatch, ValueError):
        return None
