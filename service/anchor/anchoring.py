"""Anchoring: pending records are closed into Merkle batches and each root goes on chain once.

Every step is a small state transition committed on its own, and every transition first asks
the chain what it already knows, so a process killed at any point resumes without losing a
record or anchoring a root twice:

* closing a batch stores its tree and gives each record's leaf its batch and position, in one
  database transaction;
* before broadcasting, the signed transaction's hash is committed (``submitted``), and a
  batch whose root is already on chain adopts the anchoring transaction from the event log;
* a submitted transaction the node no longer knows is sent again (the contract rejects a
  duplicate root, so a race cannot anchor twice);
* an anchored root that disappears from the chain (a reorg) sends its batch back to pending.

A batch remembers the chain and contract its transaction went to (set on submitting), and every
later question about it goes to that contract: attaching the service to a new deployment neither
strands the batches of the old one nor sends them to be anchored again.
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import BigInteger, bindparam, func, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Session, select

from service.anchor.chain import Chain, ContractReverted, NonceConflict
from service.errors import ChainError, ChainUnavailable
from service.hashing.merkle import SALTED, MerkleTree
from service.models import Batch, BatchStatus, BatchTree, Record, RecordLeaf
from service.timeutil import as_utc, utcnow

log = logging.getLogger(__name__)

REORG_WINDOW_BLOCKS = 128
"""Anchored batches this close to the chain head are re-checked for reorgs on every pass."""

MAX_BACKOFF = timedelta(minutes=5)


@dataclass
class PassReport:
    """What one anchoring pass did, for logs, the CLI and the API."""

    closed: list[int] = field(default_factory=list)
    submitted: list[int] = field(default_factory=list)
    anchored: list[int] = field(default_factory=list)
    reorged: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    chain_down: bool = False

    @property
    def idle(self) -> bool:
        """True when the pass found nothing to do."""
        return not (self.closed or self.submitted or self.anchored or self.reorged)


def close_batches(
    session: Session, *, batch_size: int, batch_age: float, max_batch_size: int | None = None, force: bool = False
) -> list[Batch]:
    """Close a batch once ``batch_size`` records are pending, or once the oldest pending record is
    ``batch_age`` seconds old, or when ``force`` is set (an explicit "anchor now").

    A batch takes every pending record up to ``max_batch_size`` (default: ``batch_size``). Under a
    backlog this anchors what arrived since the last pass with one transaction instead of one per
    ``batch_size`` records: less gas per record, and less anchoring work competing with ingest.
    """
    cap = max(batch_size, max_batch_size or batch_size)
    batches = []
    while True:
        rows = session.exec(_unbatched(session).limit(cap)).all()
        if not rows:
            break
        oldest = as_utc(rows[0].created_at)
        if len(rows) < batch_size and not force and utcnow() - oldest < timedelta(seconds=batch_age):
            break
        batches.append(_close_batch(session, rows))
        if len(rows) < cap:
            break  # that was every pending record
    return batches


def pending_record_count(session: Session) -> int:
    """Records not anchored yet: those no batch holds, and those of batches not anchored."""
    unbatched = session.exec(select(func.count()).select_from(RecordLeaf).where(RecordLeaf.batch_id.is_(None))).one()
    in_open_batches = session.exec(select(func.sum(Batch.leaf_count)).where(Batch.status != BatchStatus.ANCHORED)).one()
    return unbatched + (in_open_batches or 0)


def oldest_pending_since(session: Session) -> datetime | None:
    """When the longest-waiting pending record began to wait: the creation time of the oldest record
    no batch holds, or the closing time of the oldest batch not anchored yet, whichever is earlier
    (its records are older still; reading them would scan every leaf, and health asks often)."""
    unbatched = session.exec(
        select(Record.created_at)
        .join(RecordLeaf, RecordLeaf.record_id == Record.id)
        .where(RecordLeaf.batch_id.is_(None))
        .order_by(RecordLeaf.record_id)
        .limit(1)
    ).first()
    in_batch = session.exec(select(func.min(Batch.created_at)).where(Batch.status != BatchStatus.ANCHORED)).one()
    moments = [as_utc(moment) for moment in (unbatched, in_batch) if moment is not None]
    return min(moments, default=None)


def _unbatched(session: Session):
    """Ids and hashes of the records no batch holds yet, oldest first (locked, and skipped by other
    workers, on PostgreSQL)."""
    statement = (
        select(RecordLeaf.record_id.label("id"), Record.content_hash, Record.salt, Record.created_at)
        .join(Record, Record.id == RecordLeaf.record_id)
        .where(RecordLeaf.batch_id.is_(None))
        .order_by(RecordLeaf.record_id)
    )
    if session.get_bind().dialect.name == "postgresql":
        statement = statement.with_for_update(skip_locked=True, of=RecordLeaf)
    return statement


def _close_batch(session: Session, rows: list) -> Batch:
    """One tree over the rows' hashes, stored with the batch; each record's leaf row gets the batch
    and the leaf's position in the tree, in one statement."""
    tree = MerkleTree.build([bytes.fromhex(row.content_hash[2:] + row.salt[2:]) for row in rows], encoding=SALTED)
    batch = Batch(root=_hex(tree.root), leaf_count=tree.leaf_count, leaf_encoding=SALTED)
    session.add(batch)
    session.flush()
    session.add(BatchTree(batch_id=batch.id, nodes=tree.nodes))
    _assign(session, batch_id=batch.id, record_ids=[row.id for row in rows], positions=tree.tree_indexes)
    session.commit()
    log.info("closed batch %s with %s records, root %s", batch.id, batch.leaf_count, batch.root)
    return batch


def _assign(session: Session, *, batch_id: int, record_ids: list[int], positions: list[int]) -> None:
    """Give each record's leaf its batch and tree position: on PostgreSQL one statement joining two
    arrays (a statement per record cost half of closing a batch there), elsewhere an executemany."""
    table = RecordLeaf.__table__
    if session.get_bind().dialect.name == "postgresql":
        pairs = select(
            func.unnest(bindparam("ids", type_=ARRAY(BigInteger))).label("id"),
            func.unnest(bindparam("positions", type_=ARRAY(BigInteger))).label("position"),
        ).subquery()
        statement = (
            update(table).where(table.c.record_id == pairs.c.id).values(batch_id=batch_id, tree_index=pairs.c.position)
        )
        session.execute(statement, {"ids": record_ids, "positions": positions})
        return
    statement = (
        update(table)
        .where(table.c.record_id == bindparam("record"))
        .values(batch_id=batch_id, tree_index=bindparam("position"))
    )
    session.execute(
        statement,
        [{"record": record_id, "position": position} for record_id, position in zip(record_ids, positions, strict=True)],
        execution_options={"synchronize_session": False},
    )


def advance(session: Session, chain: Chain, batch: Batch, *, confirmations: int, report: PassReport) -> None:
    """Move one batch one or more steps along pending -> submitted -> anchored."""
    root = bytes.fromhex(batch.root[2:])
    if batch.status == BatchStatus.PENDING:
        _submit(session, chain, batch, root=root, report=report)
    if batch.status == BatchStatus.SUBMITTED:
        _confirm(session, chain, batch, root=root, confirmations=confirmations, report=report)
    elif batch.status == BatchStatus.ANCHORED and chain.anchored_at(root, contract=batch.contract) == 0:
        log.warning("root %s of batch %s vanished from the chain (reorg); re-anchoring", batch.root, batch.id)
        chain.resync_nonce()  # our transaction went with its block
        _set_status(session, batch, BatchStatus.PENDING, tx_hash=None, block_number=None, anchored_at=None)
        report.reorged.append(batch.id)


def _submit(session: Session, chain: Chain, batch: Batch, *, root: bytes, report: PassReport) -> None:
    with chain.sending():  # no other transaction takes this one's nonce between prepare and send
        try:  # the simulation inside prepare_anchor also tells whether the root is already on chain
            prepared = chain.prepare_anchor(root=root, leaf_count=batch.leaf_count)
        except ContractReverted as error:
            if error.error_name == "RootAlreadyAnchored" and _adopt_existing_anchor(session, chain, batch, root=root):
                return
            raise
        if prepared.tx_hash is not None:
            # Record the hash before broadcasting: after a crash we look for exactly this transaction.
            _set_status(session, batch, BatchStatus.SUBMITTED, tx_hash=_hex(prepared.tx_hash), **_sent_to(chain))
            try:
                chain.send(prepared)
            except NonceConflict:
                _set_status(session, batch, BatchStatus.PENDING, tx_hash=None)  # refused: nothing went out
                raise
        else:
            tx_hash = chain.send(prepared)
            _set_status(session, batch, BatchStatus.SUBMITTED, tx_hash=_hex(tx_hash), **_sent_to(chain))
    report.submitted.append(batch.id)


def _confirm(session: Session, chain: Chain, batch: Batch, *, root: bytes, confirmations: int, report: PassReport) -> None:
    receipt = chain.receipt(bytes.fromhex(batch.tx_hash[2:]))
    if receipt is None or receipt["status"] != 1:
        if _adopt_existing_anchor(session, chain, batch, root=root):
            receipt = chain.receipt(bytes.fromhex(batch.tx_hash[2:]))
        elif receipt is None and chain.transaction_known(bytes.fromhex(batch.tx_hash[2:])):
            return  # still in the mempool
        else:
            reason = "transaction reverted" if receipt is not None else "transaction dropped by the node"
            if receipt is None:
                chain.resync_nonce()  # the nonce it held is free again
            _set_status(session, batch, BatchStatus.PENDING, tx_hash=None, last_error=reason)
            return
    depth = chain.block_number() - receipt["blockNumber"] + 1
    batch.block_number = receipt["blockNumber"]
    batch.gas_used = receipt["gasUsed"]
    if depth < confirmations:
        session.add(batch)
        session.commit()
        return
    anchored_at = chain.anchored_at(root, contract=batch.contract)
    if anchored_at == 0:
        return  # mined in a block that was since reorganised away: the next pass sees it dropped
    _set_status(session, batch, BatchStatus.ANCHORED, anchored_at=anchored_at, last_error=None)
    report.anchored.append(batch.id)


def _adopt_existing_anchor(session: Session, chain: Chain, batch: Batch, *, root: bytes) -> bool:
    """If the root is already on chain (we crashed after sending), take over that transaction."""
    if chain.anchored_at(root) == 0:
        return False
    found = chain.find_anchor(root)
    if found is None:
        raise ChainError(f"root {batch.root} is anchored but no Anchored event was found")
    tx_hash, block_number = found
    _set_status(session, batch, BatchStatus.SUBMITTED, tx_hash=_hex(tx_hash), block_number=block_number, **_sent_to(chain))
    return True


def _sent_to(chain: Chain) -> dict:
    """The chain and contract a batch's transaction goes to, kept with the batch from then on."""
    return {"chain_id": chain.chain_id, "contract": chain.address}


def _set_status(session: Session, batch: Batch, status: BatchStatus, **changes) -> None:
    """Change a batch's status in one committed transaction. Its records' status is the batch's
    (see :attr:`Record.status`), so anchoring a batch, or a reorg undoing that, writes this one row."""
    for name, value in changes.items():
        setattr(batch, name, value)
    batch.status = status
    batch.updated_at = utcnow()
    session.add(batch)
    session.commit()


def anchor_pass(
    session: Session,
    chain: Chain,
    *,
    batch_size: int,
    batch_age: float,
    confirmations: int,
    max_batch_size: int | None = None,
    force: bool = False,
    check_reorgs: bool = True,
) -> PassReport:
    """One pass of the anchoring state machine over every unfinished batch, and over the recently
    anchored ones too when ``check_reorgs`` (one contract call each, so loops do it less often).

    Errors are reported, not raised: a batch whose transaction fails is retried later with
    exponential backoff, and a chain that cannot be reached ends the pass with
    ``report.chain_down`` set, leaving every record pending for the next pass.
    """
    closed = close_batches(session, batch_size=batch_size, batch_age=batch_age, max_batch_size=max_batch_size, force=force)
    report = PassReport(closed=[batch.id for batch in closed])
    now = utcnow()
    try:
        for batch in _batches_to_advance(session, chain, include_recent=check_reorgs):
            if batch.retry_after is not None and as_utc(batch.retry_after) > now and not force:
                continue
            try:
                advance(session, chain, batch, confirmations=confirmations, report=report)
            except ChainUnavailable:
                raise
            except ChainError as error:
                session.rollback()
                _schedule_retry(session, batch, error=error, now=now)
                report.errors.append(f"batch {batch.id}: {error}")
    except ChainUnavailable as error:
        session.rollback()
        report.chain_down = True
        report.errors.append(f"chain unavailable: {error}")
    return report


def _batches_to_advance(session: Session, chain: Chain, *, include_recent: bool) -> list[Batch]:
    """Unfinished batches, then (if asked) anchored ones of this chain still young enough to be
    reorganised away (another chain's block numbers say nothing about this one's head)."""
    unfinished = select(Batch).where(Batch.status != BatchStatus.ANCHORED).order_by(Batch.id)
    if not include_recent:
        return list(session.exec(unfinished))
    horizon = chain.block_number() - REORG_WINDOW_BLOCKS
    recent = (
        select(Batch)
        .where(Batch.status == BatchStatus.ANCHORED, Batch.chain_id == chain.chain_id, Batch.block_number > horizon)
        .order_by(Batch.id)
    )
    return [*session.exec(unfinished), *session.exec(recent)]


def _schedule_retry(session: Session, batch: Batch, *, error: Exception, now: datetime) -> None:
    batch = session.get(Batch, batch.id)
    batch.attempts += 1
    batch.last_error = str(error)
    batch.retry_after = now + min(MAX_BACKOFF, timedelta(seconds=2 ** min(batch.attempts, 16)))
    session.add(batch)
    session.commit()


def _hex(value: bytes) -> str:
    return "0x" + bytes(value).hex()
