"""EPCIS 2.0 capture and query, verification and proof bundles of events."""

import asyncio
from typing import Annotated

from fastapi import APIRouter, Request, Response, status

from service.api.deps import (
    EPCIS_MEDIA_TYPES,
    ChainDep,
    LedgerDep,
    Reader,
    RecordId,
    SessionDep,
    Supplier,
    Verifier,
    raw_body,
    visible_party,
)
from service.api.errors import error_responses
from service.api.schemas import (
    CapturedEvent,
    CaptureResult,
    EventPage,
    ProofBundle,
    StoredEvent,
)
from service.capture import prepare
from service.models import RecordKind
from service.queries import parse_event_query, query_events
from service.records import Submission, find_record
from service.verification import Verification, proof_bundle, verify_record

router = APIRouter(prefix="/events", tags=["events"], responses=error_responses(401, 403, 422))

EPCIS_BODY = {
    "required": True,
    "content": {
        media: {"schema": {"type": "object", "description": "An EPCISDocument, EPCISQueryDocument or a single event."}}
        for media in EPCIS_MEDIA_TYPES
    },
}
EventBody = Annotated[bytes, raw_body(Supplier, media_types=EPCIS_MEDIA_TYPES)]


@router.post(
    "",
    response_model=CaptureResult,
    status_code=status.HTTP_201_CREATED,
    openapi_extra={"requestBody": EPCIS_BODY},
    responses={200: {"model": CaptureResult, "description": "Every event already existed."}, **error_responses(413, 415)},
)
async def capture(caller: Supplier, body: EventBody, ledger: LedgerDep, response: Response) -> CaptureResult:
    """Validate a whole document against the EPCIS 2.0 schema, then store every event or none.

    Large documents are parsed, validated and hashed in worker processes (see service.capture).
    Storing goes through the group-commit writer: concurrent submissions share one transaction,
    and each still gets its own all-or-nothing outcome.
    """
    settings = ledger.settings
    candidates = await prepare(body, max_events=settings.max_events, processes=settings.capture_processes)
    stored = await asyncio.wrap_future(ledger.writer.submit(Submission(candidates=candidates, party=caller.party)))
    if not any(item.created for item in stored):
        response.status_code = status.HTTP_200_OK
    return CaptureResult(
        events=[
            CapturedEvent(id=s.record.id, event_hash_id=s.record.business_id, status=s.record.status, created=s.created)
            for s in stored
        ]
    )


@router.get("", response_model=EventPage)
def list_events(request: Request, caller: Reader, session: SessionDep) -> EventPage:
    """EPCIS query subset: EQ_bizStep, EQ_disposition, GE_eventTime, LT_eventTime, MATCH_epc,
    MATCH_anyEPC, EQ_bizLocation, EQ_readPoint, EQ_bizTransaction_<type>, eventType, status,
    orderBy=eventTime, orderDirection, perPage, nextPageToken."""
    page = query_events(session, query=parse_event_query(request.query_params), party=visible_party(caller))
    return EventPage(events=[StoredEvent.of(record) for record in page.items], nextPageToken=page.next_page_token)


@router.get("/{id}", response_model=StoredEvent, responses=error_responses(404))
def get_event(id: RecordId, caller: Reader, session: SessionDep) -> StoredEvent:
    """One stored event."""
    return StoredEvent.of(find_record(session, kind=RecordKind.EPCIS_EVENT, record_id=id, party=visible_party(caller)))


@router.get("/{id}/verification", response_model=Verification, responses=error_responses(404, 502, 503))
def verify_event(id: RecordId, caller: Verifier, session: SessionDep, chain: ChainDep) -> Verification:
    """Recompute the event's hash, check its proof and its root on chain."""
    record = find_record(session, kind=RecordKind.EPCIS_EVENT, record_id=id, party=visible_party(caller))
    return verify_record(session, chain, record)


@router.get("/{id}/proof", response_model=ProofBundle, responses=error_responses(404, 409, 502, 503))
def event_proof(id: RecordId, caller: Reader, session: SessionDep, chain: ChainDep) -> dict:
    """The proof bundle that `traceanchor verify` checks with only an Ethereum node (409 until anchored)."""
    record = find_record(session, kind=RecordKind.EPCIS_EVENT, record_id=id, party=visible_party(caller))
    return proof_bundle(session, chain, record)
