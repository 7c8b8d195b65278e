"""Anchored batches, their audits, and anchoring now on an admin's request."""

from typing import Annotated

from fastapi import APIRouter, Query
from sqlmodel import select

from service.api.deps import MAX_ROW_ID, Admin, Auditor, BatchId, ChainDep, LedgerDep, Operator, SessionDep
from service.api.errors import error_responses
from service.api.schemas import AnchorOut, AnchorPage, AnchorPassOut
from service.audit import BatchAudit, audit_batch
from service.models import Batch

router = APIRouter(prefix="/anchors", tags=["anchors"], responses=error_responses(401, 403, 422))


@router.get("", response_model=AnchorPage)
def list_anchors(
    caller: Operator,
    session: SessionDep,
    perPage: Annotated[int, Query(ge=1, le=1000)] = 100,
    before: Annotated[int | None, Query(ge=1, le=MAX_ROW_ID, description="Only batches with a smaller id (the next page).")] = None,
) -> AnchorPage:
    """Batches, newest first, with root, size, transaction, block and status."""
    statement = select(Batch).order_by(Batch.id.desc()).limit(perPage + 1)
    if before is not None:
        statement = statement.where(Batch.id < before)
    batches = list(session.exec(statement))
    more = len(batches) > perPage
    batches = batches[:perPage]
    return AnchorPage(anchors=[AnchorOut.of(b) for b in batches], nextPageToken=str(batches[-1].id) if more else None)


@router.get("/{batch_id}/verification", response_model=BatchAudit, responses=error_responses(404, 502, 503))
def audit(batch_id: BatchId, caller: Auditor, session: SessionDep, chain: ChainDep) -> BatchAudit:
    """Audit one batch: every anchored record still there and unchanged, the root on chain.
    Finds deleted records, which verifying the records that remain cannot."""
    return audit_batch(session, chain, batch_id=batch_id)


@router.post("", response_model=AnchorPassOut, responses=error_responses(502, 503))
def anchor_now(caller: Admin, ledger: LedgerDep) -> AnchorPassOut:
    """Close every pending record into batches now and push each batch one step along."""
    report = ledger.anchor_once(force=True)
    return AnchorPassOut(**vars(report))
