"""EPCIS 2.0 capture and query, verification and proof bundles of events."""

import asyncio
import base64
from dataclasses import replace
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response, status

from service.api.deps import (
    EPCIS_MEDIA_TYPES,
    XML_MEDIA_TYPES,
    CapturedBody,
    QUERY_PARAMETER_PREFIXES,
    ChainDep,
    RuntimeDep,
    Reader,
    RecordId,
    SignatureHeader,
    SessionDep,
    Supplier,
    Verifier,
    ViewerDep,
    capture_body,
    signing_domain,
)
from service.api.errors import error_responses
from service.api.negotiation import XML_ANSWER, wants_xml, xml_response
from service.api.paging import PageTokensDep
from service.api.results import answer
from service.api.schemas.receipts import ReceiptPublic
from service.api.schemas.events import CapturedEventPublic, CapturedEventsPublic, EventPage, EventPublic
from service.api.schemas.verification import ProofBundlePublic, VerificationPublic
from service.ingest.candidates import Submission
from service.ingest.validation.signatures import check_signature
from service.models import RecordKind
from service.errors import NotFound
from service.read.documents import epcis_document
from service.read.pagination import TOKEN_FIELD
from service.read.parameters import EVENT_PARAMETERS, PARAMETER_PREFIXES, parse_event_query
from service.read.queries import query_events
from service.ingest.records import find_record
from service.ingest.sources import source_of
from service.verify.declarations import declarations_of
from service.verify.verification import VerificationCache, proof_bundle, verify_record

router = APIRouter(prefix="/events", tags=["events"], responses=error_responses(401, 403, 422))

EPCIS_EXAMPLE = {
    "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
    "type": "EPCISDocument",
    "schemaVersion": "2.0",
    "creationDate": "2026-09-01T08:00:00Z",
    "epcisBody": {"eventList": [
        {"type": "ObjectEvent", "eventTime": "2026-09-01T07:55:00Z", "eventTimeZoneOffset": "+00:00",
         "epcList": ["urn:epc:id:sgtin:0614141.107346.2017"], "action": "OBSERVE", "bizStep": "shipping",
         "disposition": "in_transit", "readPoint": {"id": "urn:epc:id:sgln:0614141.00777.0"},
         "bizTransactionList": [{"type": "po", "bizTransaction": "urn:epcglobal:cbv:bt:0614141000041:PO-1001"}]},
    ]},
}
#: EPCIS_EXAMPLE in XML (the same event, so the same Event Hash ID).
XML_EXAMPLE = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2" schemaVersion="2.0" creationDate="2026-09-01T08:00:00Z">\n'
    '  <EPCISBody><EventList><ObjectEvent>\n'
    '    <eventTime>2026-09-01T07:55:00Z</eventTime><eventTimeZoneOffset>+00:00</eventTimeZoneOffset>\n'
    '    <epcList><epc>urn:epc:id:sgtin:0614141.107346.2017</epc></epcList><action>OBSERVE</action>\n'
    '    <bizStep>shipping</bizStep><disposition>in_transit</disposition>\n'
    '    <readPoint><id>urn:epc:id:sgln:0614141.00777.0</id></readPoint>\n'
    '    <bizTransactionList><bizTransaction type="po">urn:epcglobal:cbv:bt:0614141000041:PO-1001</bizTransaction></bizTransactionList>\n'
    '  </ObjectEvent></EventList></EPCISBody>\n'
    '</epcis:EPCISDocument>\n'
)
XML_BODY = {
    media: {"schema": {"type": "string", "description": "An EPCIS 2.0 EPCISDocument or EPCISQueryDocument in XML, valid "
                       "against the official XSDs, or an EPCIS 1.2 one (upgraded to 2.0); kept byte for byte "
                       "(`GET /v1/events/{id}/source`)."},
            "examples": {"document": {"summary": "An EPCISDocument with one ObjectEvent, in XML", "value": XML_EXAMPLE}}}
    for media in XML_MEDIA_TYPES
}
EPCIS_BODY = {
    "required": True,
    "content": {
        media: {
            "schema": {
                "type": "object",
                "description": "An EPCISDocument, EPCISQueryDocument or a single event, as the official EPCIS 2.0 "
                "JSON Schema defines them.",
            },
            "examples": {"document": {"summary": "An EPCISDocument with one ObjectEvent", "value": EPCIS_EXAMPLE}},
        }
        for media in EPCIS_MEDIA_TYPES
    } | XML_BODY,
}
EVENT_QUERY = {
    "parameters": [
        {"name": name, "in": "query", "required": False, "description": parameter.description,
         "schema": {**parameter.schema, **({"examples": list(parameter.examples)} if parameter.examples else {})}}
        for name, parameter in EVENT_PARAMETERS.items()
    ],
    QUERY_PARAMETER_PREFIXES: list(PARAMETER_PREFIXES),
}
EventBody = Annotated[CapturedBody, capture_body(Supplier)]


@router.post(
    "",
    response_model=CapturedEventsPublic,
    status_code=status.HTTP_201_CREATED,
    openapi_extra={"requestBody": EPCIS_BODY},
    responses={200: {"model": CapturedEventsPublic, "description": "Every event already existed."}, **error_responses(413, 415)},
)
async def capture(caller: Supplier, body: EventBody, ledger: RuntimeDep, response: Response,
                  signature: SignatureHeader = None) -> CapturedEventsPublic | Response:
    """Validate a whole document against the EPCIS 2.0 schema, then store every event or none.

    XML documents (`application/xml`, `text/xml`) are validated against the EPCIS XSDs and stored in
    their EPCIS 2.0 JSON-LD form, the submitted XML kept beside them byte for byte. Large documents
    are parsed, validated and hashed in worker processes (see service.ingest.capture).
    Storing goes through the group-commit writer: concurrent submissions share one transaction,
    and each still gets its own all-or-nothing outcome. Suppliers take turns at both stages, so one
    supplier's large documents do not hold up another supplier's writes.

    `TraceAnchor-Signature` signs the whole document (its events in document order); a signature
    that is not one of these events by a key of your party is refused (422) and nothing is stored.
    """
    settings = ledger.settings
    prepared = await ledger.capture.prepare(body.raw, max_events=settings.max_events, submitter=caller.party, xml=body.xml)
    submission = Submission(candidates=prepared.candidates, party=caller.party, hierarchy=prepared.hierarchy, source=body.source())
    if signature is not None:
        signed = await asyncio.to_thread(check_signature, signature, prepared.candidates, party=caller.party,
                                         domain=signing_domain(ledger))
        submission = replace(submission, signature=signed)
    submission = await asyncio.to_thread(ledger.with_receipt, submission)
    stored = await asyncio.wrap_future(ledger.writer.submit(submission))
    receipt = ReceiptPublic.of(submission.receipt)
    response.status_code = status.HTTP_201_CREATED if any(item.created for item in stored) else status.HTTP_200_OK
    return await answer(lambda: CapturedEventsPublic(events=[CapturedEventPublic.of(item) for item in stored], receipt=receipt),
                        items=len(stored), status_code=response.status_code)


JSON_TYPES = ("application/json", "application/ld+json")
XML_PAGE = {200: {**XML_ANSWER, "description": XML_ANSWER["description"] + " The next page is then in the "
                  "`Link: <...&nextPageToken=...>; rel=\"next\"` header (none on the last page)."}}


@router.get("", response_model=EventPage, openapi_extra=EVENT_QUERY, responses={**XML_PAGE, **error_responses(406, 413)})
def list_events(request: Request, caller: Reader, viewer: ViewerDep, session: SessionDep,
                tokens: PageTokensDep) -> EventPage | Response:
    """The EPCIS 2.0 query interface, for the parameters below: one parameter's values, separated by `|`
    (or by commas, where its description says so), are alternatives (OR), different parameters must all
    hold (AND). Vocabulary and identifiers match however they are spelt (short name, URN, CBV URI, GS1 Digital Link).

    Besides the parameters listed, the family **`EQ_bizTransaction_<type>`** filters by business
    transaction of a CBV type (`po`, `inv`, `desadv`, `bol`, ...; short name or CBV URI), e.g.
    `EQ_bizTransaction_po=urn:epcglobal:cbv:bt:0614141000041:PO-1001`; **`EQ_source_<type>`** and
    **`EQ_destination_<type>`** by source or destination of a CBV type (`owning_party`,
    `possessing_party`, `location`), e.g. `EQ_destination_location=urn:epc:id:sgln:0614141.00777.0`.
    The family **`<EQ|GT|GE|LT|LE>_<field>_<uom>`** compares sensorReport numbers (`value`, `minValue`,
    `maxValue`, `meanValue`, `sDev`, `percValue`) reported in the UN/ECE Rec 20 unit `<uom>` (no unit is
    converted), e.g. `GT_value_CEL=8`; **`<EQ|GT|GE|LT|LE>_quantity_<uom>`** compares the quantities
    given in that unit, e.g. `GE_quantity_KGM=100`; `EQ_` takes several numbers separated by `|`.

    Suppliers see their own events and those shared with them (grants), auditors everyone's. Any
    other parameter is refused (422). `Accept: application/xml` answers an EPCIS 2.0 XML EPCISDocument.
    """
    xml = wants_xml(request, json_types=JSON_TYPES)
    query = parse_event_query(request.query_params)
    page = query_events(session, query=query, viewer=viewer, tokens=tokens)
    if xml:
        return xml_response(epcis_document(page.items), headers=_next_link(request, page.next_page_token))
    declared = declarations_of(session, page.items)
    return EventPage(events=[EventPublic.of(record, declaration=declared.get(record.id)) for record in page.items],
                     nextPageToken=page.next_page_token)


@router.get("/{id}", response_model=EventPublic, responses={200: XML_ANSWER, **error_responses(404, 406)})
def get_event(id: RecordId, request: Request, caller: Reader, viewer: ViewerDep, session: SessionDep) -> EventPublic | Response:
    """One stored event (`Accept: application/xml`: as an EPCIS 2.0 XML EPCISDocument)."""
    xml = wants_xml(request, json_types=JSON_TYPES)
    record = find_record(session, kind=RecordKind.EPCIS_EVENT, record_id=id, viewer=viewer)
    if xml:
        return xml_response(epcis_document([record]))
    return EventPublic.of(record, declaration=declarations_of(session, [record]).get(record.id))


@router.get("/{id}/source", response_class=Response, responses={
    200: {"content": {media: {"schema": {"type": "string"}} for media in XML_MEDIA_TYPES},
          "description": "The submitted document, byte for byte, with the media type it was sent as."},
    **error_responses(404)})
def event_source(id: RecordId, caller: Reader, viewer: ViewerDep, session: SessionDep) -> Response:
    """The document the event was captured from, exactly as the supplier sent it (XML submissions;
    an event captured as JSON is stored as sent, and has none: 404). `X-EPCIS-Event-Position` is the
    event's position in the document's event list, `Digest` the document's SHA-256."""
    record = find_record(session, kind=RecordKind.EPCIS_EVENT, record_id=id, viewer=viewer)
    found = source_of(session, record.id)
    if found is None:
        raise NotFound(f"event {id} was captured as JSON: its stored body is what was sent", field="id")
    document, position = found
    return Response(content=document.content, media_type=document.media_type,
                    headers={"X-EPCIS-Event-Position": str(position), "Digest": f"sha-256={base64.b64encode(bytes.fromhex(document.sha256)).decode()}"})


@router.get("/{id}/verification", response_model=VerificationPublic, responses=error_responses(404, 502, 503))
def verify_event(id: RecordId, caller: Verifier, viewer: ViewerDep, session: SessionDep, chain: ChainDep,
                 ledger: RuntimeDep) -> VerificationPublic:
    """Recompute the event's hash, check its proof and its root on chain."""
    record = find_record(session, kind=RecordKind.EPCIS_EVENT, record_id=id, viewer=viewer)
    return VerificationPublic.of(verify_record(session, chain, record, cache=VerificationCache(derivations=ledger.derivations)),
                                 declaration=declarations_of(session, [record]).get(record.id))


@router.get("/{id}/proof", response_model=ProofBundlePublic, response_model_exclude_none=True,
            responses=error_responses(404, 409, 502, 503))
def event_proof(id: RecordId, caller: Reader, viewer: ViewerDep, session: SessionDep, chain: ChainDep,
                ledger: RuntimeDep) -> ProofBundlePublic:
    """The proof bundle that `traceanchor verify` checks with only an Ethereum node (409 until anchored)."""
    record = find_record(session, kind=RecordKind.EPCIS_EVENT, record_id=id, viewer=viewer)
    return ProofBundlePublic.of(proof_bundle(session, chain, record, derivations=ledger.derivations))


def _next_link(request: Request, token: str | None) -> dict[str, str]:
    """The ``Link`` header of the next page (XML has no place for ``nextPageToken``)."""
    if token is None:
        return {}
    following = urlencode({**{k: v for k, v in request.query_params.items() if k != TOKEN_FIELD}, TOKEN_FIELD: token})
    return {"Link": f'<{request.url.path}?{following}>; rel="next"'}
