"""Anchored batches, their audits, and anchoring now on an admin's request."""

from fastapi import APIRouter
from sqlmodel import select

from service.api.deps import Admin, Auditor, BatchId, ChainDep, RuntimeDep, Operator, SessionDep
from service.api.errors import error_responses
from service.api.paging import PageDep, caller_scope
from service.api.schemas.anchors import AnchorPage, AnchorPassPublic, AnchorPublic, AuditPublic
from service.api.schemas.errors import ErrorPublic
from service.verify.audit import audit_batch
from service.models import Batch
from service.read.pagination import paginate

router = APIRouter(prefix="/anchors", tags=["anchors"], responses=error_responses(401, 403, 422))


@router.get("", response_model=AnchorPage)
def list_anchors(caller: Operator, session: SessionDep, page: PageDep) -> AnchorPage:
    """Batches, newest first, with root, size, transaction, block and status."""
    result = paginate(session, select(Batch), order=(Batch.id,), descending=True, page=page, scope=caller_scope("anchors", caller))
    return AnchorPage(anchors=[AnchorPublic.of(batch) for batch in result.items], nextPageToken=result.next_page_token)


@router.get("/{batch_id}/verification", response_model=AuditPublic, responses=error_responses(404, 502, 503))
def audit(batch_id: BatchId, caller: Auditor, session: SessionDep, chain: ChainDep, ledger: RuntimeDep) -> AuditPublic:
    """Audit one batch: every anchored record still there and unchanged, the root on chain.
    Finds deleted records, which verifying the records that remain cannot."""
    return AuditPublic.of(audit_batch(session, chain, batch_id=batch_id, derivations=ledger.derivations))


_BUSY = {409: {"model": ErrorPublic, "description": "Another anchoring pass (the background loop, another request or process) "
                                                 "held the anchoring lock for longer than TRACEANCHOR_ANCHOR_LOCK_TIMEOUT; retry."}}


@router.post("", response_model=AnchorPassPublic, responses={**error_responses(502, 503), **_BUSY})
def anchor_now(caller: Admin, ledger: RuntimeDep) -> AnchorPassPublic:
    """Close every pending record into batches now and push each batch one step along, as the one
    anchoring pass of the database at that moment (409 `AnchoringBusy` if another one kept the lock)."""
    report = ledger.anchoring.anchor_once(force=True)
    return AnchorPassPublic.of(report)
