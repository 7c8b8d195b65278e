"""Anchored batches, their audits, and anchoring now on an admin's request."""

from fastapi import APIRouter
from sqlmodel import select

from service.api.deps import Admin, Auditor, BatchId, ChainDep, RuntimeDep, Operator, SessionDep
from service.api.errors import error_responses
from service.api.paging import PageDep, caller_scope
from service.api.schemas import AnchorOut, AnchorPage, AnchorPassOut, ErrorOut
from service.verify.audit import BatchAudit, audit_batch
from service.models import Batch
from service.read.pagination import paginate

router = APIRouter(prefix="/anchors", tags=["anchors"], responses=error_responses(401, 403, 422))


@router.get("", response_model=AnchorPage)
def list_anchors(caller: Operator, session: SessionDep, page: PageDep) -> AnchorPage:
    """Batches, newest first, with root, size, transaction, block and status."""
    result = paginate(session, select(Batch), order=(Batch.id,), descending=True, page=page, scope=caller_scope("anchors", caller))
    return AnchorPage(anchors=[AnchorOut.of(batch) for batch in result.items], nextPageToken=result.next_page_token)


@router.get("/{batch_id}/verification", response_model=BatchAudit, responses=error_responses(404, 502, 503))
def audit(batch_id: BatchId, caller: Auditor, session: SessionDep, chain: ChainDep, ledger: RuntimeDep) -> BatchAudit:
    """Audit one batch: every anchored record still there and unchanged, the root on chain.
    Finds deleted records, which verifying the records that remain cannot."""
    return audit_batch(session, chain, batch_id=batch_id, derivations=ledger.derivations)


_BUSY = {409: {"model": ErrorOut, "description": "Another anchoring pass (the background loop, another request or process) "
                                                 "held the anchoring lock for longer than TRACEANCHOR_ANCHOR_LOCK_TIMEOUT; retry."}}


@router.post("", response_model=AnchorPassOut, responses={**error_responses(502, 503), **_BUSY})
def anchor_now(caller: Admin, ledger: RuntimeDep) -> AnchorPassOut:
    """Close every pending record into batches now and push each batch one step along, as the one
    anchoring pass of the database at that moment (409 `AnchoringBusy` if another one kept the lock)."""
    report = ledger.anchoring.anchor_once(force=True)
    return AnchorPassOut(**vars(report))
