"""Commercial transactions: orders, sales, invoices and payments."""

import asyncio
from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from fastapi.concurrency import run_in_threadpool

from service.api.deps import (
    ChainDep,
    RuntimeDep,
    Reader,
    SessionDep,
    SignatureHeader,
    Supplier,
    TransactionId,
    UtcTime,
    Verifier,
    Submitter,
    ViewerDep,
    json_body,
    signing_domain,
)
from service.api.errors import error_responses
from service.api.paging import PageDep
from service.api.results import answer
from service.api.schemas.transactions import (
    CapturedTransactionPublic,
    CapturedTransactionsPublic,
    TransactionPage,
    TransactionPublic,
)
from service.api.schemas.receipts import ReceiptPublic
from service.api.schemas.verification import ProofBundlePublic, VerificationPublic
from service.ingest.candidates import TransactionKind
from service.ingest.capture import transaction_submission
from service.ingest.validation.signatures import check_signature
from service.models import RecordKind, RecordStatus
from service.read.queries import query_transactions
from service.ingest.records import confirmations, find_record
from service.ingest.validation.transactions import INVOICE_EXAMPLE, ORDER_EXAMPLE, PAYMENT_EXAMPLE, Transaction
from service.verify.verification import VerificationCache, proof_bundle, verify_record

router = APIRouter(prefix="/transactions", tags=["transactions"], responses=error_responses(401, 403, 422))

BODY_MODELS = (Transaction,)
"""Parsed by the endpoint itself (every error of every item at once), so published in OpenAPI by the app."""
_TRANSACTION = {"$ref": "#/components/schemas/Transaction"}
TRANSACTIONS_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {"oneOf": [_TRANSACTION, {"type": "array", "items": _TRANSACTION, "minItems": 1}]},
            "examples": {
                "order": {"summary": "One order", "value": ORDER_EXAMPLE},
                "list": {
                    "summary": "An order, the invoice referencing it, the payment of the invoice (all or nothing)",
                    "value": [ORDER_EXAMPLE, INVOICE_EXAMPLE, PAYMENT_EXAMPLE],
                },
            },
        }
    },
}
_TIME = "ISO 8601; without an offset the time is taken as UTC."
TransactionsBody = Annotated[object, json_body(Supplier)]


@router.post(
    "",
    response_model=CapturedTransactionsPublic,
    status_code=status.HTTP_201_CREATED,
    openapi_extra={"requestBody": TRANSACTIONS_BODY},
    responses={200: {"model": CapturedTransactionsPublic, "description": "Every transaction already existed."}, **error_responses(409, 413, 415)},
)
async def submit(caller: Supplier, payload: TransactionsBody, ledger: RuntimeDep, response: Response,
                 signature: SignatureHeader = None) -> CapturedTransactionsPublic | Response:
    """One transaction, or a list stored all or nothing (the `Transaction` schema below).

    Besides each field's format, meaning is checked: `total` equals the lines' quantity x unit_price
    rounded once to the currency's minor unit, seller and buyer differ, references name records you
    may see (`"id"` for yours, `{"id", "party"}` for another party's) and agree with the citing
    transaction in currency, seller and buyer; a supplier submits only transactions it is seller or
    buyer of. A 422 lists every problem of every item, each naming its field
    (`[2].lines[0].quantity`). Ids are the supplier's own: another party may use the same.
    Resubmitting the same content is harmless (200, `created: false`); the same id with other
    content is a 409. Submitting a transaction that the counterparty recorded, with the same
    content, confirms it (`confirmation` when read). `TraceAnchor-Signature` signs the list in its
    order (one transaction: a list of one); a wrong signature is refused (422) and nothing is stored.
    """
    submission = await run_in_threadpool(
        transaction_submission, payload, party=caller.party, max_items=ledger.settings.max_transactions
    )
    if signature is not None:
        signed = await run_in_threadpool(check_signature, signature, submission.candidates, party=caller.party,
                                         domain=signing_domain(ledger))
        submission = replace(submission, signature=signed)
    submission = await asyncio.to_thread(ledger.with_receipt, submission)
    stored = await asyncio.wrap_future(ledger.writer.submit(submission))
    receipt = ReceiptPublic.of(submission.receipt)
    response.status_code = status.HTTP_201_CREATED if any(item.created for item in stored) else status.HTTP_200_OK
    return await answer(lambda: CapturedTransactionsPublic(transactions=[CapturedTransactionPublic.of(item) for item in stored],
                                                           receipt=receipt),
                        items=len(stored), status_code=response.status_code)


@router.get("", response_model=TransactionPage)
def list_transactions(
    caller: Reader,
    viewer: ViewerDep,
    session: SessionDep,
    *,
    kind: Annotated[TransactionKind | None, Query(description="Only this kind.")] = None,
    sku: Annotated[str | None, Query(max_length=512, description="Only transactions with a line of this SKU.")] = None,
    party: Annotated[str | None, Query(max_length=200, description="Seller or buyer.")] = None,
    since: Annotated[UtcTime | None, Query(description=f"At or after this time. {_TIME}", examples=["2026-09-01T00:00:00Z"])] = None,
    until: Annotated[UtcTime | None, Query(description=f"Before this time. {_TIME}", examples=["2026-10-01T00:00:00+02:00"])] = None,
    status: Annotated[RecordStatus | None, Query(description="`anchored` or `pending`.")] = None,
    page: PageDep,
) -> TransactionPage:
    """Transactions you recorded or that name you, filtered by kind, SKU, party, time range
    [since, until) and status, oldest first."""
    result = query_transactions(
        session, kind=kind, sku=sku, party_filter=party, since=since, until=until, status=status,
        page=page, viewer=viewer,
    )
    confirmed = confirmations(session, result.items)
    return TransactionPage(transactions=[TransactionPublic.of(r, confirmation=confirmed[r.id]) for r in result.items],
                           nextPageToken=result.next_page_token)


@router.get("/{id}", response_model=TransactionPublic, responses=error_responses(404))
def get_transaction(id: TransactionId, caller: Reader, viewer: ViewerDep, session: SessionDep,
                    submitter: Submitter = None) -> TransactionPublic:
    """One stored transaction by its business id, with whether its counterparty confirmed it."""
    record = find_record(session, kind=RecordKind.TRANSACTION, business_id=id, submitter=submitter, viewer=viewer)
    return TransactionPublic.of(record, confirmation=confirmations(session, [record])[record.id])


@router.get("/{id}/verification", response_model=VerificationPublic, responses=error_responses(404, 502, 503))
def verify_transaction(id: TransactionId, caller: Verifier, viewer: ViewerDep, session: SessionDep, chain: ChainDep,
                       ledger: RuntimeDep, submitter: Submitter = None) -> VerificationPublic:
    """Recompute the transaction's JCS hash, check its proof and its root on chain."""
    record = find_record(session, kind=RecordKind.TRANSACTION, business_id=id, submitter=submitter, viewer=viewer)
    return VerificationPublic.of(verify_record(session, chain, record, cache=VerificationCache(derivations=ledger.derivations)))


@router.get("/{id}/proof", response_model=ProofBundlePublic, response_model_exclude_none=True,
            responses=error_responses(404, 409, 502, 503))
def transaction_proof(id: TransactionId, caller: Reader, viewer: ViewerDep, session: SessionDep, chain: ChainDep,
                      ledger: RuntimeDep, submitter: Submitter = None) -> ProofBundlePublic:
    """The proof bundle of a transaction (409 until anchored)."""
    record = find_record(session, kind=RecordKind.TRANSACTION, business_id=id, submitter=submitter, viewer=viewer)
    return ProofBundlePublic.of(proof_bundle(session, chain, record, derivations=ledger.derivations))
