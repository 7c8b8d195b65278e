"""The browse resources of the binding: ``/epcis/eventTypes``, ``bizSteps``, ``bizLocations``,
``readPoints``, ``dispositions`` and ``epcs`` (each a collection of the values found in the events the
key may read; ``/{x}`` names its one sub-resource, ``/{x}/events`` its events).

``/epcis/epcs`` lists EPCs in their canonical form (``service.read.epcs``): a GS1 key as its Digital
Link; with ``GS1-EPC-Format: Always_EPC_URN`` as its URN where GS1's GCP length table (configured by
the operator) gives its company prefix, since no captured URN is at hand there to give it. It answers
GS1's ``UriCollection`` (with ``@context``).

``/{x}/events`` is ``GET /epcis/events`` with the path's value as one more filter (``EQ_bizStep``,
``MATCH_anyEPC``, ...), so it takes the same query parameters, except that filter's own.
"""

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import JSONResponse
from pydantic import Field
from sqlmodel import select

from service.api.deps import Reader, RuntimeDep, SessionDep, ViewerDep
from service.api.epcis.documents import CONTEXT, DEFAULT_EPC_FORMAT, URN_FORMAT, Collection, epc_format, epc_urn
from service.api.epcis.events import QUERY_DOCUMENT, EpcFormat, QueryDocumentResponse, query_response
from service.api.paging import PageDep, PageTokensDep
from service.api.routers.events import EVENT_QUERY
from service.errors import InvalidParameter, NotFound
from service.ingest.validation.json_limits import MAX_IDENTIFIER_CHARS
from service.models import Record, RecordKind
from service.read.epcs import is_known_epc, known_epcs
from service.read.pagination import fingerprint
from service.read.queries import EVENT_TYPES

router = APIRouter(tags=["epcis"])
Value = Annotated[str, Path(min_length=1, max_length=MAX_IDENTIFIER_CHARS, description="The value (URL-encoded).")]

#: resource: (the stored column its values come from, the event-query parameter that filters by one)
RESOURCES = {
    "eventTypes": (Record.record_type, "eventType"),
    "bizSteps": (Record.biz_step, "EQ_bizStep"),
    "bizLocations": (Record.biz_location, "EQ_bizLocation"),
    "readPoints": (Record.read_point, "EQ_readPoint"),
    "dispositions": (Record.disposition, "EQ_disposition"),
}


def _collection(resource: str) -> Callable:
    column, _ = RESOURCES[resource]

    def values(caller: Reader, viewer: ViewerDep, session: SessionDep, page: PageDep) -> Collection:
        """The values found in the events the key may read, in order; `perPage` and `nextPageToken` page them."""
        statement = select(column).distinct().where(Record.kind == RecordKind.EPCIS_EVENT, column.is_not(None),
                                                    viewer.records(RecordKind.EPCIS_EVENT))
        scope = fingerprint("epcis", resource, [viewer.party, viewer.everything])
        if page.token is not None:
            statement = statement.where(column > page.tokens.open(page.token, scope=scope)[0])
        found = list(session.exec(statement.order_by(column).limit(page.per_page + 1)))
        more = len(found) > page.per_page
        found = found[: page.per_page]
        return Collection(member=found, nextPageToken=page.tokens.issue([found[-1]], scope=scope) if more else None)

    return values


def _member(resource: str) -> Callable:
    def member(value: Value, caller: Reader) -> Collection:
        """The sub-resources of one value: its events."""
        if resource == "eventTypes" and value not in EVENT_TYPES:
            raise NotFound(f"no event type {value!r}", field="eventType")
        return Collection(member=["events"])

    return member


def _events(parameter: str) -> Callable:
    def events(value: Value, request: Request, caller: Reader, viewer: ViewerDep, session: SessionDep,
               tokens: PageTokensDep, form: EpcFormat = None) -> JSONResponse:
        """The events with this value, as `GET /epcis/events` answers them (same query parameters)."""
        if parameter in request.query_params:
            raise InvalidParameter(f"{parameter} is given by the path here", field=parameter)
        return query_response(request, {**request.query_params, parameter: value}, viewer=viewer, session=session,
                              tokens=tokens, form=form, fixed=parameter)

    return events


for _name, (_, _parameter) in RESOURCES.items():
    router.add_api_route(f"/{_name}", _collection(_name), methods=["GET"], response_model=Collection, response_model_exclude_none=True,
                         name=f"epcis_{_name}")
    router.add_api_route(f"/{_name}/{{value:path}}/events", _events(_parameter), methods=["GET"], openapi_extra=EVENT_QUERY,
                         response_class=QueryDocumentResponse, responses=QUERY_DOCUMENT, name=f"epcis_{_name}_events")
    router.add_api_route(f"/{_name}/{{value:path}}", _member(_name), methods=["GET"], response_model=Collection, response_model_exclude_none=True,
                         name=f"epcis_{_name}_member")


class UriCollection(Collection):
    """GS1's ``UriCollection``: a collection of URIs, with the JSON-LD context."""

    context: list[str] = Field(default=[CONTEXT], alias="@context", description="The JSON-LD context.")


@router.get("/epcs", response_model=UriCollection, response_model_exclude_none=True, name="epcis_epcs")
def epcs(caller: Reader, viewer: ViewerDep, session: SessionDep, page: PageDep, ledger: RuntimeDep, response: Response,
         form: EpcFormat = None) -> UriCollection:
    """The EPCs named in the events the key may read (`epcList`, `childEPCs`, `parentID`, inputs and
    outputs), in order of their Digital Links, each once, GS1 keys as canonical Digital Links; with
    `GS1-EPC-Format: Always_EPC_URN`, as URNs where the server's GCP length table knows the company
    prefix. `perPage` and `nextPageToken` page them."""
    chosen = epc_format(form)
    found = known_epcs(session, viewer=viewer, page=page)
    members = found.items
    if chosen == URN_FORMAT:
        members = [epc_urn(epc, ledger.company_prefixes) for epc in members]
    response.headers["GS1-EPC-Format"] = chosen if chosen == URN_FORMAT else DEFAULT_EPC_FORMAT
    return UriCollection(member=members, nextPageToken=found.next_page_token)


router.add_api_route("/epcs/{value:path}/events", _events("MATCH_anyEPC"), methods=["GET"], openapi_extra=EVENT_QUERY,
                     response_class=QueryDocumentResponse, responses=QUERY_DOCUMENT, name="epcis_epc_events")


@router.get("/epcs/{value:path}", response_model=Collection, response_model_exclude_none=True, name="epcis_epc")
def epc(value: Value, caller: Reader, viewer: ViewerDep, session: SessionDep) -> Collection:
    """The sub-resources of an EPC (URN or Digital Link, URL-encoded) named in an event the key may read: its events."""
    if not is_known_epc(session, value, viewer=viewer):
        raise NotFound(f"no EPC {value!r} in the events you may read", field="epc")
    return Collection(member=["events"])
