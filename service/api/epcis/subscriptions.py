"""Webhook subscriptions to a named query: ``/epcis/queries/{queryName}/subscriptions`` (create, list)
and ``/{subscriptionID}`` (read, delete). Delivery is ``service.notify``'s; the signing token is never
returned."""

import json
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, RootModel

from service.api.deps import Reader, RuntimeDep, SessionDep, UtcTime, model_body, request_body
from service.api.epcis.queries import QueryName
from service.api.paging import PageDep, next_page_link
from service.models import Subscription
from service.notify import subscriptions

router = APIRouter(tags=["epcis"])
SubscriptionId = Annotated[str, Path(min_length=1, max_length=64, description="The subscription's ID.")]


class SubscriptionCreate(BaseModel):
    """A webhook: where to send the query's events, how to sign them, and when (``stream`` or ``schedule``)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"dest": "https://client.example.com/queryCallback", "signatureToken": "13df38d8275b13f05704629e5f1cf3d45d6132d5",
         "stream": True},
        {"dest": "https://client.example.com/queryCallback", "signatureToken": "13df38d8275b13f05704629e5f1cf3d45d6132d5",
         "reportIfEmpty": True, "schedule": {"hour": "1", "minute": "5", "second": "0"}}]})
    dest: str = Field(min_length=1, max_length=2048, description="An http(s) URL the server POSTs EPCISQueryDocuments to.")
    signatureToken: str = Field(min_length=1, max_length=1024,
                                description="The key of the `GS1-Signature` header: HMAC-SHA256 of the body, lowercase hex.")
    stream: bool | None = Field(default=None, description="`true`: send every new matching event (excludes `schedule`).")
    schedule: dict[str, Any] | None = Field(default=None, description="Cron-like times (rest/query-schedule.json) to send what is new.")
    initialRecordTime: UtcTime | None = Field(default=None, description="Include events stored from this time (default: from now).")
    reportIfEmpty: bool = Field(default=False, description="On a schedule, send an empty document when nothing is new.")


class SubscriptionPublic(BaseModel):
    """A subscription as its creator sees it (without the signing token)."""

    subscriptionID: str
    createdAt: datetime
    dest: str
    stream: bool | None = None
    schedule: dict[str, Any] | None = None
    initialRecordTime: datetime | None = None
    reportIfEmpty: bool
    lastError: str | None = Field(default=None, description="Why the last delivery failed, until one succeeds.")


class SubscriptionsPublic(RootModel[list[SubscriptionPublic]]):
    """The subscriptions to one query (an array, as the standard answers)."""


BODY_MODELS = (SubscriptionCreate,)
_PATH = "/queries/{queryName}/subscriptions"


def _public(found: Subscription) -> SubscriptionPublic:
    return SubscriptionPublic(subscriptionID=found.public_id, createdAt=found.created_at, dest=found.dest,
                              stream=True if found.stream else None,
                              schedule=json.loads(found.schedule) if found.schedule else None,
                              initialRecordTime=found.initial_record_time, reportIfEmpty=found.report_if_empty,
                              lastError=found.last_error)


@router.post(_PATH, status_code=201, response_model=SubscriptionPublic, response_model_exclude_none=True,
             openapi_extra={"requestBody": request_body(SubscriptionCreate)})
def create(queryName: QueryName, caller: Reader, session: SessionDep, runtime: RuntimeDep, response: Response,
           body: Annotated[SubscriptionCreate, model_body(SubscriptionCreate, Reader)]) -> SubscriptionPublic:
    """Subscribe to one of the caller's queries; it receives what the caller's key may read."""
    made = subscriptions.create(session, key=caller, query_name=queryName, dest=body.dest, signature_token=body.signatureToken,
                                stream=body.stream, schedule=body.schedule, initial_record_time=body.initialRecordTime,
                                report_if_empty=body.reportIfEmpty, settings=runtime.settings)
    response.headers["Location"] = f"/epcis/queries/{quote(queryName, safe='')}/subscriptions/{made.public_id}"
    return _public(made)


@router.get(_PATH, response_model=SubscriptionsPublic, response_model_exclude_none=True)
def listing(request: Request, queryName: QueryName, caller: Reader, session: SessionDep, page: PageDep) -> JSONResponse:
    """The subscriptions to one of the caller's queries, oldest first; `perPage`, and
    `Link: <...nextPageToken=...>; rel="next"` while more remain."""
    found = subscriptions.listed(session, party=caller.party, query_name=queryName, page=page)
    return JSONResponse(SubscriptionsPublic([_public(one) for one in found.items]).model_dump(mode="json", exclude_none=True),
                        headers=next_page_link(request, page, found.next_page_token))


@router.get(_PATH + "/{subscriptionID}", response_model=SubscriptionPublic, response_model_exclude_none=True)
def read(queryName: QueryName, subscriptionID: SubscriptionId, caller: Reader, session: SessionDep) -> SubscriptionPublic:
    """One subscription."""
    return _public(subscriptions.get(session, party=caller.party, query_name=queryName, public_id=subscriptionID))


@router.delete(_PATH + "/{subscriptionID}", status_code=204)
def delete(queryName: QueryName, subscriptionID: SubscriptionId, caller: Reader, session: SessionDep) -> Response:
    """End the subscription: nothing more is sent."""
    subscriptions.delete(session, party=caller.party, query_name=queryName, public_id=subscriptionID)
    return Response(status_code=204)
