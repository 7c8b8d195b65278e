"""Capture in the binding: ``POST /epcis/events`` stores one event at once (201 with its
``Location``; 409 if the party already captured it, the standard's rule, where ``/v1`` answers
idempotently)."""

import asyncio
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Response, status

from service.api.deps import EPCIS_MEDIA_TYPES, RuntimeDep, Supplier, raw_body
from service.api.epcis.problems import problem_responses
from service.api.routers.events import EPCIS_EXAMPLE
from service.errors import Conflict
from service.ingest.candidates import Submission
from service.ingest.capture import prepare_event
from service.models import TermName

router = APIRouter(tags=["epcis"])
EventBody = Annotated[bytes, raw_body(Supplier, media_types=EPCIS_MEDIA_TYPES)]
EVENT_EXAMPLE = {"@context": EPCIS_EXAMPLE["@context"], **EPCIS_EXAMPLE["epcisBody"]["eventList"][0]}
EVENT_BODY = {"required": True, "content": {media: {
    "schema": {"type": "object", "description": "One EPCIS event, as the official EPCIS 2.0 JSON Schema defines it."},
    "examples": {"event": {"summary": "An ObjectEvent", "value": EVENT_EXAMPLE}}} for media in EPCIS_MEDIA_TYPES}}


@router.post("/events", status_code=status.HTTP_201_CREATED, response_class=Response, openapi_extra={"requestBody": EVENT_BODY},
             responses={201: {"description": "Captured; `Location` is the event's URL."}, **problem_responses(409, 415)})
async def capture_event(caller: Supplier, body: EventBody, ledger: RuntimeDep) -> Response:
    """Validate and store one event; its URL is `/epcis/events/{eventID}`, the eventID it carries or
    else its CBV 2.0 event hash ID."""
    candidate = await asyncio.to_thread(prepare_event, body)
    [stored] = await asyncio.wrap_future(ledger.writer.submit(Submission(candidates=[candidate], party=caller.party)))
    event_id = next((value for name, value in candidate.derived.terms if name == TermName.EVENT_ID), stored.record.business_id)
    if not stored.created:
        raise Conflict(f"event {event_id!r} was already captured", field="eventID")
    return Response(status_code=status.HTTP_201_CREATED, headers={"Location": f"/epcis/events/{quote(event_id, safe='')}"})

