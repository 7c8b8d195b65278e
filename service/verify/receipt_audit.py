"""Receipts the operator did not honour: records it signed for and had not anchored by ``anchorBy``.

The batch audit finds a deleted record through the leaf it left in an anchored tree; a record
deleted before it was ever batched leaves no leaf, only the receipt its supplier holds. So every
issued receipt is kept, and once its ``anchorBy`` has passed each of its records must be there,
unchanged in content hash and party, in a batch anchored no later than ``anchorBy``.
"""

from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from enum import StrEnum

from sqlmodel import Session, select

from service.models import Batch, BatchStatus, Receipt, Record, RecordLeaf

PAGE = 500  # receipts read at a time


class ReceiptAuditStatus(StrEnum):
    """A receipt's finding, the worst first."""

    MISSING = "missing"  # a record it names is gone or no longer what was received
    UNANCHORED = "unanchored"  # every record there, some not anchored although anchorBy has passed
    LATE = "late"  # every record anchored, some after anchorBy


@dataclass(frozen=True)
class ReceiptAudit:
    """An overdue receipt with its evidence, by record id."""

    receipt_id: int
    party: str
    root: str
    anchor_by: int
    status: ReceiptAuditStatus
    missing: list[int] = field(default_factory=list)
    unanchored: list[int] = field(default_factory=list)
    late: list[int] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def audit_receipts(session: Session, *, now: int) -> Iterator[ReceiptAudit]:
    """Every receipt whose ``anchorBy`` is before ``now`` (unix seconds) and whose records were not
    all anchored by then, oldest first."""
    after = 0
    while True:
        receipts = session.exec(select(Receipt).where(Receipt.anchor_by < now, Receipt.id > after).order_by(Receipt.id).limit(PAGE)).all()
        if not receipts:
            return
        for receipt in receipts:
            found = _audit(session, receipt)
            if found is not None:
                yield found
        after = receipts[-1].id
        session.expunge_all()


def _audit(session: Session, receipt: Receipt) -> ReceiptAudit | None:
    rows = session.exec(
        select(Record.id, Record.content_hash, Record.party, Batch.status, Batch.anchored_at)
        .outerjoin(RecordLeaf, RecordLeaf.record_id == Record.id).outerjoin(Batch, Batch.id == RecordLeaf.batch_id)
        .where(Record.id.in_(receipt.record_ids))
    ).all()
    stored = {row[0]: row[1:] for row in rows}
    missing, unanchored, late = [], [], []
    for record_id, content_hash in zip(receipt.record_ids, receipt.content_hashes, strict=True):
        found = stored.get(record_id)
        if found is None or found[0] != content_hash or found[1] != receipt.party:
            missing.append(record_id)
        elif found[2] != BatchStatus.ANCHORED or found[3] is None:
            unanchored.append(record_id)
        elif found[3] > receipt.anchor_by:
            late.append(record_id)
    status = (ReceiptAuditStatus.MISSING if missing else ReceiptAuditStatus.UNANCHORED if unanchored
              else ReceiptAuditStatus.LATE if late else None)
    if status is None:
        return None
    return ReceiptAudit(receipt_id=receipt.id, party=receipt.party, root=receipt.root, anchor_by=receipt.anchor_by,
                        status=status, missing=missing, unanchored=unanchored, late=late)
