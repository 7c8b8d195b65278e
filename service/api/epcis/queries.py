"""Named queries of the binding: ``/epcis/queries`` (create, list), ``/epcis/queries/{queryName}``
(read, delete: its subscriptions end with it) and ``/epcis/queries/{queryName}/events`` (run it, paged
like ``GET /epcis/events``). Names are per party (``service.read.named_queries``)."""

import json
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, RootModel

from service.api.deps import Reader, SessionDep, ViewerDep, model_body, request_body
from service.api.epcis.problems import problem_responses
from service.api.epcis.events import QUERY_DOCUMENT, EpcFormat, QueryDocumentResponse, query_response
from service.api.paging import PageDep, PageTokensDep, next_page_link
from service.read import named_queries
from service.read.pagination import PER_PAGE_FIELD, TOKEN_FIELD

router = APIRouter(tags=["epcis"])
QueryName = Annotated[str, Path(min_length=1, max_length=250, description="The query's name (the caller's own).")]


class NamedQueryCreate(BaseModel):
    """A query to save under a name."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"name": "shipped", "query": {"eventType": ["ObjectEvent"], "EQ_bizStep": ["shipping"]}}]})
    name: str = Field(min_length=1, max_length=250, pattern=r"^[^/\s]+$", description="Unique among the caller's queries.")
    query: dict[str, Any] = Field(description="An EPCIS query in the REST binding's JSON form (rest/query-schema.json).")


class NamedQueryPublic(BaseModel):
    """A saved query."""

    name: str
    query: dict[str, Any]
    createdAt: datetime


class NamedQueriesPublic(RootModel[list[NamedQueryPublic]]):
    """The caller's named queries, by name (an array, as the standard answers)."""


BODY_MODELS = (NamedQueryCreate,)


def _public(named) -> NamedQueryPublic:
    return NamedQueryPublic(name=named.name, query=json.loads(named.query), createdAt=named.created_at)


@router.post("/queries", status_code=201, response_model=NamedQueryPublic, responses=problem_responses(409), openapi_extra={"requestBody": request_body(NamedQueryCreate)})
def create(caller: Reader, session: SessionDep, response: Response,
           body: Annotated[NamedQueryCreate, model_body(NamedQueryCreate, Reader)]) -> NamedQueryPublic:
    """Save ``query`` as ``name`` (409 if the caller has a query of that name)."""
    named = named_queries.create(session, party=caller.party, name=body.name, query=body.query)
    response.headers["Location"] = f"/epcis/queries/{quote(named.name, safe='')}"
    return _public(named)


@router.get("/queries", response_model=NamedQueriesPublic)
def listing(request: Request, caller: Reader, session: SessionDep, page: PageDep) -> JSONResponse:
    """The caller's named queries, by name; `perPage`, and `Link: <...nextPageToken=...>; rel="next"` while more remain."""
    found = named_queries.listed(session, party=caller.party, page=page)
    return JSONResponse(NamedQueriesPublic([_public(named) for named in found.items]).model_dump(mode="json"),
                        headers=next_page_link(request, page, found.next_page_token))


@router.get("/queries/{queryName}", response_model=NamedQueryPublic)
def read(queryName: QueryName, caller: Reader, session: SessionDep) -> NamedQueryPublic:
    """One of the caller's named queries."""
    return _public(named_queries.get(session, party=caller.party, name=queryName))


@router.delete("/queries/{queryName}", status_code=204)
def delete(queryName: QueryName, caller: Reader, session: SessionDep) -> Response:
    """Forget the query and end its subscriptions."""
    named_queries.delete(session, party=caller.party, name=queryName)
    return Response(status_code=204)


@router.get("/queries/{queryName}/events", response_class=QueryDocumentResponse, responses=QUERY_DOCUMENT)
def events(queryName: QueryName, request: Request, caller: Reader, viewer: ViewerDep, session: SessionDep,
           tokens: PageTokensDep, form: EpcFormat = None,
           perPage: Annotated[str | None, Query(description="Events per page (as for `GET /epcis/events`).")] = None,
           nextPageToken: Annotated[str | None, Query(description="The token of the next page, from `Link`.")] = None) -> JSONResponse:
    """The events the caller may read that the named query matches, paged (``perPage``, ``nextPageToken``)."""
    named = named_queries.get(session, party=caller.party, name=queryName)
    stored = named_queries.parameters(json.loads(named.query))
    paging = {name: value for name, value in ((PER_PAGE_FIELD, perPage), (TOKEN_FIELD, nextPageToken)) if value is not None}
    return query_response(request, {**stored, **paging}, viewer=viewer, session=session, tokens=tokens, form=form,
                          fixed=tuple(stored), query_name=queryName)
