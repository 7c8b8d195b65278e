"""Capture in the binding: ``POST /epcis/events`` stores one event at once (201 with its
``Location``; 409 if the party already captured it, the standard's rule, where ``/v1`` answers
idempotently); ``POST /epcis/capture`` accepts a document as a durable capture job
(``service.ingest.capture_jobs``, 202 with the job's ``Location``), ``GET /epcis/capture`` and
``/epcis/capture/{captureID}`` show the jobs (a supplier its party's, auditors and admins every one)."""

import asyncio
import base64
import json
from datetime import datetime
from http import HTTPStatus
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Header, Path, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, RootModel
from sqlalchemy import ColumnElement, true
from sqlmodel import select

from service.api.deps import (
    EPCIS_MEDIA_TYPES,
    CapturedBody,
    JobReader,
    RuntimeDep,
    SessionDep,
    SignatureHeader,
    Supplier,
    capture_body,
    signing_domain,
)
from service.api.epcis.problems import problem_responses
from service.api.paging import PageDep, next_page_link
from service.api.routers.events import EPCIS_EXAMPLE, XML_BODY
from service.api.schemas.receipts import RECEIPT, RECEIPT_HEADER, ReceiptPublic
from service.errors import Conflict, NotFound
from service.ingest.candidates import Submission
from service.ingest.validation.signatures import check_signature
from service.ingest.capture import prepare_event
from service.ingest.capture_jobs import ERROR_BEHAVIOURS, ROLLBACK, accept_job
from service.models import ApiKey, CaptureJob, Receipt, Role, TermName
from service.read.pagination import fingerprint, paginate
from service.settings import Settings

router = APIRouter(tags=["epcis"])
EventBody = Annotated[CapturedBody, capture_body(Supplier)]
EVENT_EXAMPLE = {"@context": EPCIS_EXAMPLE["@context"], **EPCIS_EXAMPLE["epcisBody"]["eventList"][0]}
EVENT_BODY = {"required": True, "content": {media: {
    "schema": {"type": "object", "description": "One EPCIS event, as the official EPCIS 2.0 JSON Schema defines it."},
    "examples": {"event": {"summary": "An ObjectEvent", "value": EVENT_EXAMPLE}}} for media in EPCIS_MEDIA_TYPES} | XML_BODY}
CAPTURE_BODY = {"required": True, "content": {media: {
    "schema": {"type": "object", "description": "An EPCISDocument or EPCISQueryDocument, as the official EPCIS 2.0 JSON Schema defines them."},
    "examples": {"document": {"summary": "An EPCISDocument with one ObjectEvent", "value": EPCIS_EXAMPLE}}} for media in EPCIS_MEDIA_TYPES} | XML_BODY}
ErrorBehaviour = Annotated[str, Header(alias="GS1-Capture-Error-Behaviour",
                                       description="rollback (default: every event or none) or proceed (every valid event).")]
CaptureId = Annotated[str, Path(min_length=1, max_length=64, description="The job's captureID.")]


class JobProblem(BaseModel):
    """An RFC 7807 problem of a capture job: one event (``index``) or the document, and the field at fault."""

    type: str = Field(description="`epcisException:<name>`.")
    title: str
    status: int
    detail: str
    field: str | None = Field(default=None, description="The field at fault, as a JSON path in the document.")
    index: int | None = Field(default=None, description="The event's position in the document's event list.")


class CaptureJobPublic(BaseModel):
    """The standard's CaptureJob."""

    captureID: str
    createdAt: datetime
    finishedAt: datetime | None = Field(default=None, description="Absent while the job runs.")
    running: bool
    success: bool = Field(description="False once an error was found (with rollback: nothing was stored).")
    captureErrorBehaviour: Literal["rollback", "proceed"]
    errors: list[JobProblem]
    receipt: ReceiptPublic | None = Field(default=None, description="Once the job has stored events: " + RECEIPT)

    @classmethod
    def of(cls, job: CaptureJob, *, receipt: Receipt | None = None) -> "CaptureJobPublic":
        return cls(captureID=job.capture_id, createdAt=job.created_at, finishedAt=job.finished_at, running=job.finished_at is None,
                   success=job.success, captureErrorBehaviour=job.error_behaviour, errors=[_problem(item) for item in job.errors],
                   receipt=ReceiptPublic.of(receipt))


class CaptureJobs(RootModel[list[CaptureJobPublic]]):
    """A page of capture jobs, oldest first (`Link` to the next)."""


def _problem(item: dict) -> JobProblem:
    status_code = 500 if item.get("exception") == "ImplementationException" else 400
    return JobProblem(type=f"epcisException:{item.get('exception', 'ValidationException')}", title=HTTPStatus(status_code).phrase,
                      status=status_code, detail=item.get("message", ""), field=item.get("field"), index=item.get("index"))


def capture_headers(settings: Settings) -> dict[str, str]:
    """What ``OPTIONS /epcis/capture`` adds to the GS1 headers: the capture limits and the default error behaviour."""
    return {"GS1-EPCIS-Capture-Limit": str(settings.max_events), "GS1-EPCIS-Capture-File-Size-Limit": str(settings.max_body_bytes),
            "GS1-Capture-Error-Behaviour": ", ".join(ERROR_BEHAVIOURS)}


@router.post("/events", status_code=status.HTTP_201_CREATED, response_class=JSONResponse, openapi_extra={"requestBody": EVENT_BODY},
             responses={201: {"description": "Captured: the event as stored (with its `eventID`); `Location` is its URL; "
                                             "`TraceAnchor-Receipt` the operator's signed receipt (base64url JSON).",
                              "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CapturedEvent"}}}},
                        **problem_responses(409, 415, 422)})
async def capture_event(caller: Supplier, body: EventBody, ledger: RuntimeDep, signature: SignatureHeader = None) -> Response:
    """Validate and store one event, answered as stored; its URL is `/epcis/events/{eventID}`, the
    eventID it carries or else its CBV 2.0 event hash ID. In XML, which has no bare event, a document
    of exactly one event. `TraceAnchor-Signature` signs it as a submission of one event."""
    candidate = await asyncio.to_thread(prepare_event, body.raw, xml=body.xml)
    signed = None if signature is None else check_signature(signature, [candidate], party=caller.party, domain=signing_domain(ledger))
    submission = Submission(candidates=[candidate], party=caller.party, source=body.source(), signature=signed)
    submission = await asyncio.to_thread(ledger.with_receipt, submission)
    [stored] = await asyncio.wrap_future(ledger.writer.submit(submission))
    event_id = next((value for name, value in candidate.derived.terms if name == TermName.EVENT_ID), stored.record.business_id)
    if not stored.created:
        raise Conflict(f"event {event_id!r} was already captured", field="eventID")
    headers = {"Location": f"/epcis/events/{quote(event_id, safe='')}"}
    receipt = ReceiptPublic.of(submission.receipt)
    if receipt is not None:  # the body is the event as the standard answers it: the receipt travels beside it
        headers[RECEIPT_HEADER] = base64.urlsafe_b64encode(receipt.model_dump_json().encode()).decode()
    return JSONResponse({**json.loads(candidate.body), "eventID": event_id}, status_code=status.HTTP_201_CREATED, headers=headers)


@router.post("/capture", status_code=status.HTTP_202_ACCEPTED, response_class=Response, openapi_extra={"requestBody": CAPTURE_BODY},
             responses={202: {"description": "Accepted; `Location` is the capture job's URL."}, **problem_responses(413, 415, 422)})
async def capture_document(caller: Supplier, body: EventBody, ledger: RuntimeDep, behaviour: ErrorBehaviour = ROLLBACK,
                           signature: SignatureHeader = None) -> Response:
    """Accept an EPCISDocument or EPCISQueryDocument of at most `GS1-EPCIS-Capture-Limit` events as a
    capture job, run in the background; its schema and events are checked by the job (see its `errors`).
    An XML document is checked against the XSDs first: one that is not well-formed or not valid is
    refused at once (422, naming the event's `index` and the element at fault) and no job is made.
    A signed document (`TraceAnchor-Signature`) is checked whole at acceptance, signature included, and
    captured all or nothing: a bad document or signature is refused at once."""
    signed = None
    if signature is not None:
        prepared = await ledger.capture.prepare(body.raw, max_events=ledger.settings.max_events, submitter=caller.party, xml=body.xml)
        signed = await asyncio.to_thread(check_signature, signature, prepared.candidates, party=caller.party,
                                         domain=signing_domain(ledger))

    def accept() -> CaptureJob:
        with ledger.session() as session:
            return accept_job(session, body.raw, party=caller.party, behaviour=behaviour.strip(),
                              max_events=ledger.settings.max_events, media_type=body.media_type if body.xml else None,
                              signature=signed)

    job = await asyncio.to_thread(accept)
    ledger.capture_jobs.wake()
    return Response(status_code=status.HTTP_202_ACCEPTED, headers={"Location": f"/epcis/capture/{job.capture_id}"})


@router.get("/capture", response_model=CaptureJobs)
def capture_jobs(request: Request, caller: JobReader, session: SessionDep, page: PageDep) -> JSONResponse:
    """The capture jobs the key may see, oldest first; `perPage`, and `Link: <...nextPageToken=...>; rel="next"` while more remain."""
    scope = fingerprint("epcis", "capture", [None if _sees_all(caller) else caller.party])
    found = paginate(session, select(CaptureJob).where(_visible(caller)), order=(CaptureJob.id,), descending=False, page=page, scope=scope)
    return JSONResponse(CaptureJobs([CaptureJobPublic.of(job) for job in found.items]).model_dump(mode="json", exclude_none=True),
                        headers=next_page_link(request, page, found.next_page_token))


@router.get("/capture/{captureID}", response_model=CaptureJobPublic, response_model_exclude_none=True)
def capture_job(captureID: CaptureId, caller: JobReader, session: SessionDep) -> CaptureJobPublic:
    """One capture job: running, or finished with `success` and its `errors`."""
    job = session.exec(select(CaptureJob).where(CaptureJob.capture_id == captureID, _visible(caller))).first()
    if job is None:
        raise NotFound(f"no capture job {captureID!r}", field="captureID")
    return CaptureJobPublic.of(job, receipt=session.exec(select(Receipt).where(Receipt.capture_id == captureID)).first())


def _sees_all(caller: ApiKey) -> bool:
    return caller.role in (Role.AUDITOR, Role.ADMIN)


def _visible(caller: ApiKey) -> ColumnElement[bool]:
    return true() if _sees_all(caller) else CaptureJob.party == caller.party
