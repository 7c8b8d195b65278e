"""Commercial transactions: orders, sales, invoices and payments."""

import asyncio
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response, status
from fastapi.concurrency import run_in_threadpool

from service.api.deps import (
    ChainDep,
    LedgerDep,
    Reader,
    SessionDep,
    Supplier,
    TransactionId,
    UtcTime,
    Verifier,
    json_body,
    visible_party,
)
from service.api.errors import error_responses
from service.api.schemas import (
    CapturedTransaction,
    ProofBundle,
    StoredTransaction,
    TransactionPage,
    TransactionSubmitResult,
)
from service.capture import transaction_submission
from service.models import RecordKind, RecordStatus
from service.queries import query_transactions
from service.records import find_record
from service.verification import Verification, proof_bundle, verify_record

router = APIRouter(prefix="/transactions", tags=["transactions"], responses=error_responses(401, 403, 422))

TRANSACTIONS_BODY = {
    "required": True,
    "content": {"application/json": {"schema": {"oneOf": [{"type": "object"}, {"type": "array", "items": {"type": "object"}}]}}},
}
TransactionsBody = Annotated[object, json_body(Supplier)]


@router.post(
    "",
    response_model=TransactionSubmitResult,
    status_code=status.HTTP_201_CREATED,
    openapi_extra={"requestBody": TRANSACTIONS_BODY},
    responses={200: {"model": TransactionSubmitResult, "description": "Every transaction already existed."}, **error_responses(409, 413, 415)},
)
async def submit(caller: Supplier, payload: TransactionsBody, ledger: LedgerDep, response: Response) -> TransactionSubmitResult:
    """Validate meaning (totals, quantities, currency, references), then store all or nothing.

    A supplier submits only transactions it is the seller or the buyer of. Storing goes through
    the group-commit writer, like events.
    """
    submission = await run_in_threadpool(
        transaction_submission, payload, party=caller.party, max_items=ledger.settings.max_transactions
    )
    stored = await asyncio.wrap_future(ledger.writer.submit(submission))
    if not any(item.created for item in stored):
        response.status_code = status.HTTP_200_OK
    return TransactionSubmitResult(
        transactions=[
            CapturedTransaction(id=s.record.business_id, record_id=s.record.id, kind=s.record.record_type, status=s.record.status, created=s.created)
            for s in stored
        ]
    )


@router.get("", response_model=TransactionPage)
def list_transactions(
    caller: Reader,
    session: SessionDep,
    kind: Literal["order", "sale", "invoice", "payment"] | None = None,
    sku: Annotated[str | None, Query(max_length=512)] = None,
    party: Annotated[str | None, Query(max_length=200, description="Seller or buyer.")] = None,
    since: UtcTime | None = None,
    until: UtcTime | None = None,
    status: RecordStatus | None = None,
    perPage: Annotated[int, Query(ge=1, le=1000)] = 100,
    nextPageToken: Annotated[str | None, Query(max_length=2048)] = None,
) -> TransactionPage:
    """Transactions filtered by kind, SKU, party, time range [since, until) and status, oldest first."""
    page = query_transactions(
        session, kind=kind, sku=sku, party_filter=party, since=since, until=until, status=status,
        per_page=perPage, page_token=nextPageToken, party=visible_party(caller),
    )
    return TransactionPage(transactions=[StoredTransaction.of(r) for r in page.items], nextPageToken=page.next_page_token)


@router.get("/{id}", response_model=StoredTransaction, responses=error_responses(404))
def get_transaction(id: TransactionId, caller: Reader, session: SessionDep) -> StoredTransaction:
    """One stored transaction by its business id."""
    return StoredTransaction.of(find_record(session, kind=RecordKind.TRANSACTION, business_id=id, party=visible_party(caller)))


@router.get("/{id}/verification", response_model=Verification, responses=error_responses(404, 502, 503))
def verify_transaction(id: TransactionId, caller: Verifier, session: SessionDep, chain: ChainDep) -> Verification:
    """Recompute the transaction's JCS hash, check its proof and its root on chain."""
    record = find_record(session, kind=RecordKind.TRANSACTION, business_id=id, party=visible_party(caller))
    return verify_record(session, chain, record)


@router.get("/{id}/proof", response_model=ProofBundle, responses=error_responses(404, 409, 502, 503))
def transaction_proof(id: TransactionId, caller: Reader, session: SessionDep, chain: ChainDep) -> dict:
    """The proof bundle of a transaction (409 until anchored)."""
    record = find_record(session, kind=RecordKind.TRANSACTION, business_id=id, party=visible_party(caller))
    return proof_bundle(session, chain, record)
