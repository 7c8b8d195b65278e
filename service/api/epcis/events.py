"""``GET /epcis/events`` and ``GET /epcis/events/{eventID}``: the EPCIS query over the one query
language of ``service.read.queries`` (``/v1/events`` parses and runs the same), answered as an
``EPCISQueryDocument``, paged with ``Link: <...>; rel="next"``."""

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Header, Path, Request, Response
from fastapi.responses import JSONResponse

from service.api.deps import Reader, RuntimeDep, SessionDep, ViewerDep
from service.api.epcis.documents import epc_format, query_document
from service.api.negotiation import XML_ANSWER, wants_xml, xml_response
from service.api.paging import PageTokensDep
from service.api.routers.events import EVENT_QUERY
from service.api.epcis.problems import problem_responses
from service.errors import NotFound, NotServed
from service.hashing.company_prefixes import CompanyPrefixLengths
from service.ingest.validation.json_limits import MAX_IDENTIFIER_CHARS
from service.read.pagination import MAX_PER_PAGE, TOKEN_FIELD, PageTokens
from service.read.parameters import parse_event_query
from service.read.queries import EventQuery, query_events

MEDIA_TYPE = "application/json"  # what GS1's OpenAPI documents for query documents (JSON-LD, with its @context)
JSON_TYPES = (MEDIA_TYPE, "application/ld+json")


class QueryDocumentResponse(JSONResponse):
    """JSON (the document is JSON-LD), the media type GS1's OpenAPI gives query answers."""

    media_type = MEDIA_TYPE


QUERY_DOCUMENT = {200: {"description": "An EPCISQueryDocument: JSON-LD, or EPCIS 2.0 XML with `Accept: application/xml` "
                                       "(or `text/xml`).", "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/QueryDocument"}},
                                                                    **XML_ANSWER["content"]}}}
router = APIRouter(tags=["epcis"], default_response_class=QueryDocumentResponse, responses=QUERY_DOCUMENT)
EpcFormat = Annotated[str | None, Header(alias="GS1-EPC-Format", description="How EPCs are returned (default Always_GS1_Digital_Link).")]


@router.get("/events", openapi_extra=EVENT_QUERY)
def events(request: Request, caller: Reader, viewer: ViewerDep, session: SessionDep, tokens: PageTokensDep,
           form: EpcFormat = None) -> Response:
    """Every event the key may read that matches the query (the parameters of `GET /v1/events`)."""
    return query_response(request, dict(request.query_params), viewer=viewer, session=session, tokens=tokens, form=form)


@router.get("/events/{eventID:path}")
def event(eventID: Annotated[str, Path(min_length=1, max_length=MAX_IDENTIFIER_CHARS, description="The event's ID (URL-encoded).")],
          request: Request, caller: Reader, viewer: ViewerDep, session: SessionDep, tokens: PageTokensDep, ledger: RuntimeDep,
          form: EpcFormat = None) -> Response:
    """The event with this ``eventID`` (as captured, or its CBV event hash ID), as an EPCISQueryDocument;
    every party's the key may read, where several captured one ID."""
    chosen = epc_format(form)
    xml = wants_xml(request, json_types=JSON_TYPES)
    query = EventQuery(event_ids=(eventID,), per_page=MAX_PER_PAGE)
    page = query_events(session, query=query, viewer=viewer, tokens=tokens)
    if not page.items:
        raise NotFound(f"no event {eventID!r}", field="eventID")
    return _document(page.items, chosen, xml=xml, lengths=ledger.company_prefixes)


@router.delete("/nextPageToken/{token}", status_code=204, responses=problem_responses(501))
def release_page_token(token: Annotated[str, Path(max_length=4096, description="A nextPageToken.")], caller: Reader) -> None:
    """The standard's optional release of what a page token holds on the server. A token here holds
    nothing there (it is signed and carries its own expiry), so there is nothing to release: 501, as the
    standard answers for an optional endpoint a server does not serve."""
    raise NotServed("page tokens hold no server resources: they are signed and expire on their own "
                    "(TRACEANCHOR_PAGE_TOKEN_SECONDS); there is nothing to release", field="token")


def query_response(request: Request, params: dict[str, str], *, viewer, session, tokens, form: str | None,
                   fixed: str | tuple[str, ...] | None = None, query_name: str = "SimpleEventQuery") -> Response:
    """The page of events ``params`` asks for, in the representation ``Accept`` asks for, with the
    ``Link`` to the next page if there is one (without ``fixed``, the parameters the path gives)."""
    chosen = epc_format(form)
    xml = wants_xml(request, json_types=JSON_TYPES)
    page = query_events(session, query=parse_event_query(params), viewer=viewer, tokens=tokens)
    response = _document(page.items, chosen, query_name=query_name, xml=xml, lengths=request.app.state.runtime.company_prefixes)
    if page.next_page_token is not None:
        given = (TOKEN_FIELD, *((fixed,) if isinstance(fixed, str) else fixed or ()))
        following = urlencode({**{k: v for k, v in params.items() if k not in given}, TOKEN_FIELD: page.next_page_token})
        response.headers["Link"] = f'<{request.url.path}?{following}>; rel="next"'
        response.headers["GS1-Next-Page-Token-Expires"] = PageTokens.expiry(page.next_page_token).isoformat().replace("+00:00", "Z")
    return response


def _document(records, form: str, *, lengths: CompanyPrefixLengths, xml: bool, query_name: str = "SimpleEventQuery") -> Response:
    document = query_document(records, form=form, query_name=query_name, lengths=lengths)
    headers = {"GS1-EPC-Format": form}
    return xml_response(document, headers=headers) if xml else QueryDocumentResponse(document, headers=headers)
