"""Dependencies of the routers, as ``Annotated`` aliases: the ledger, a session, the chain, the caller.

The role matrix lives here, next to the aliases that enforce it:

| alias          | roles                                 | used for                                   |
|----------------|---------------------------------------|--------------------------------------------|
| ``Supplier``   | supplier                              | submitting events and transactions         |
| ``Reader``     | supplier (own records), auditor       | reading records, proof bundles             |
| ``Verifier``   | supplier (own), auditor, retailer, lender | verification results                   |
| ``Auditor``    | auditor                               | provenance trails                          |
| ``Operator``   | auditor, admin                        | listing anchors                            |
| ``Admin``      | admin                                 | anchoring now, managing keys               |
| ``RetailAnalyst`` | retailer, auditor, admin           | demand forecasts, basket rules             |
| ``CreditAnalyst`` | lender, auditor, admin             | fraud scores and models                    |
| ``ModelTrainer`` | lender, admin                       | training fraud models                      |
| ``Lender``     | lender                                | labelling transactions as fraud or not     |

Request bodies are read through dependencies built on a role (:func:`raw_body`, :func:`json_body`,
:func:`model_body`), never as FastAPI body parameters: FastAPI reads and parses those before any
dependency runs, so an anonymous caller could make the server parse anything. Here the key and its
role are checked first, then the media type (415), and only then is the body read and parsed,
by ``service.ingest.validation.json_limits``.

Path and query parameters share the rules of this module too: ids within the 32-bit id columns,
identifiers within the length of the indexed columns, times that exist in UTC, and (for every
route, through :func:`plain_parameters`) no NUL character.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, Header, HTTPException, Path, Query, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.exceptions import RequestValidationError
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import AfterValidator, BaseModel, ValidationError
from sqlmodel import Session

from service.access.viewer import Viewer, viewer_of
from service.api.schemas.common import MAX_PARTY_CHARS
from service.anchor.chain import Chain
from service.errors import InvalidParameter, TraceAnchorError
from service.runtime import Runtime
from service.models import ApiKey, Role
from service.hashing.typed_data import domain
from service.ingest.candidates import Source
from service.ingest.validation.signatures import HEADER as SIGNATURE_HEADER
from service.ingest.validation.json_limits import MAX_IDENTIFIER_CHARS, parse_json


async def get_runtime(request: Request) -> Runtime:
    """The process's runtime, opened by the app's lifespan (async: no threadpool hop for a lookup)."""
    return request.app.state.runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
SignatureHeader = Annotated[str | None, Header(
    alias=SIGNATURE_HEADER, max_length=200,
    description="The supplier's EIP-712 signature (0x-hex) of `Submission(party, root, count)` over this submission's "
    "records (README, Signed submissions); refused with the reason when it is not one by a key of the party.")]


def signing_domain(ledger: Runtime) -> dict:
    """The EIP-712 domain signatures are made in: this service's TraceAnchor deployment and chain."""
    return domain(ledger.chain.chain_id, ledger.chain.address)


def get_session(ledger: RuntimeDep) -> Iterator[Session]:
    """One database session per request (writers commit explicitly before answering)."""
    with ledger.session() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def get_chain(ledger: RuntimeDep) -> Chain:
    """The chain connection; ChainUnavailable (503) if it cannot be reached."""
    return ledger.chain


ChainDep = Annotated[Chain, Depends(get_chain)]

_bearer = HTTPBearer(auto_error=False, description="An API key from `traceanchor keys create`.")


async def get_caller(
    ledger: RuntimeDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> ApiKey:
    """The API key presenting itself; 401 if absent, unknown or revoked; 429 if over its rate
    (``service.access.rate_limit``), checked once the key is known so that unknown tokens cannot
    spend a real key's requests.

    Async, and usually answered from the ledger's key cache: no thread hop and no query.
    """
    key = None
    if credentials:
        token = credentials.credentials
        key = ledger.keys.get(token) or await run_in_threadpool(ledger.authenticate, token)
    if key is None:
        raise HTTPException(
            status_code=status.HTTP_401_UNAUTHORIZED,
            detail="a valid API key is required (Authorization: Bearer <key>)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    ledger.rate_limits.admit(key.id)
    return key


class _Allow:
    """Dependency admitting only the given roles (403 otherwise)."""

    def __init__(self, *roles: Role) -> None:
        self.roles = frozenset(roles)

    async def __call__(self, caller: Annotated[ApiKey, Depends(get_caller)]) -> ApiKey:
        if caller.role not in self.roles:
            allowed = ", ".join(sorted(self.roles))
            raise HTTPException(status_code=status.HTTP_403_FORBIDDEN, detail=f"role {caller.role} may not do this (needs: {allowed})")
        return caller


Supplier = Annotated[ApiKey, Depends(_Allow(Role.SUPPLIER))]
Reader = Annotated[ApiKey, Depends(_Allow(Role.SUPPLIER, Role.AUDITOR))]
Verifier = Annotated[ApiKey, Depends(_Allow(Role.SUPPLIER, Role.AUDITOR, Role.RETAILER, Role.LENDER))]
Auditor = Annotated[ApiKey, Depends(_Allow(Role.AUDITOR))]
JobReader = Annotated[ApiKey, Depends(_Allow(Role.SUPPLIER, Role.AUDITOR, Role.ADMIN))]
Operator = Annotated[ApiKey, Depends(_Allow(Role.AUDITOR, Role.ADMIN))]
Admin = Annotated[ApiKey, Depends(_Allow(Role.ADMIN))]
KeyHolder = Annotated[ApiKey, Depends(_Allow(Role.SUPPLIER, Role.ADMIN))]
RetailAnalyst = Annotated[ApiKey, Depends(_Allow(Role.RETAILER, Role.AUDITOR, Role.ADMIN))]
CreditAnalyst = Annotated[ApiKey, Depends(_Allow(Role.LENDER, Role.AUDITOR, Role.ADMIN))]
ModelTrainer = Annotated[ApiKey, Depends(_Allow(Role.LENDER, Role.ADMIN))]
Lender = Annotated[ApiKey, Depends(_Allow(Role.LENDER))]


def get_viewer(caller: Annotated[ApiKey, Depends(get_caller)], session: SessionDep) -> Viewer:
    """Whose records the caller may see (``service.access.viewer``): its party's and its grantors', or all."""
    return viewer_of(session, caller)


ViewerDep = Annotated[Viewer, Depends(get_viewer)]


class UnsupportedMediaType(TraceAnchorError):
    """The body's Content-Type is not one the endpoint reads."""

    status_code = 415


JSON_MEDIA_TYPES = ("application/json",)
EPCIS_MEDIA_TYPES = ("application/json", "application/ld+json")
#: EPCIS XML (2.0 and 1.x documents), accepted where events are captured.
XML_MEDIA_TYPES = ("application/xml", "text/xml")
CAPTURE_MEDIA_TYPES = (*EPCIS_MEDIA_TYPES, *XML_MEDIA_TYPES)


@dataclass(frozen=True)
class CapturedBody:
    """A capture request's body, unparsed, and the media type it was sent as."""

    raw: bytes
    media_type: str

    @property
    def xml(self) -> bool:
        return self.media_type in XML_MEDIA_TYPES

    def source(self) -> Source | None:
        """What to keep of the submission byte for byte beside its records: an XML document."""
        return Source(content=self.raw, media_type=self.media_type) if self.xml else None


def raw_body(role: Any, *, media_types: tuple[str, ...] = JSON_MEDIA_TYPES) -> Any:
    """A dependency giving the request body unparsed (for parsing elsewhere, e.g. in a worker),
    read only once the caller holds ``role`` (an alias above) and the media type is accepted."""

    async def read(request: Request, caller: role) -> bytes:
        _check_media_type(request, media_types)
        return await request.body()

    return Depends(read)


def capture_body(role: Any) -> Any:
    """A dependency giving an EPCIS capture body (JSON, JSON-LD or XML) unparsed with its media type,
    read only once the caller holds ``role``."""

    async def read(request: Request, caller: role) -> CapturedBody:
        _check_media_type(request, CAPTURE_MEDIA_TYPES)
        return CapturedBody(raw=await request.body(), media_type=_media_type(request))

    return Depends(read)


def json_body(role: Any) -> Any:
    """A dependency giving the body parsed as JSON under ``json_limits``' rules, for ``role`` only."""

    async def read(body: Annotated[bytes, raw_body(role)]) -> object:
        return parse_json(body)

    return Depends(read)


def model_body(model: type[BaseModel], role: Any) -> Any:
    """A dependency giving the body validated as ``model``, for ``role`` only; 422 naming the field."""

    async def read(value: Annotated[object, json_body(role)]) -> BaseModel:
        try:
            return model.model_validate(value)
        except ValidationError as error:
            raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in error.errors(include_url=False)]) from None

    return Depends(read)


def request_body(model: type[BaseModel]) -> dict:
    """The OpenAPI ``requestBody`` of a :func:`model_body` endpoint: a reference to the model's schema
    (FastAPI documents only the bodies it parses itself; the router lists ``model`` in its
    ``BODY_MODELS`` for the app to publish)."""
    return {"required": True, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}}}


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").partition(";")[0].strip().lower()


def _check_media_type(request: Request, accepted: tuple[str, ...]) -> None:
    media_type = _media_type(request)
    if media_type not in accepted:
        raise UnsupportedMediaType(
            f"Content-Type {media_type or '(none)'} is not accepted here; send {' or '.join(accepted)}", field="Content-Type"
        )


async def plain_parameters(request: Request) -> None:
    """422 for a NUL character in any path or query parameter (name or value): PostgreSQL text
    cannot hold one, so a lookup would fail instead of finding nothing."""
    parameters = [("path", name, value) for name, value in request.path_params.items()]
    parameters += [("query", name, value) for name, value in request.query_params.multi_items()]
    for place, name, value in parameters:
        if "\0" in name or "\0" in str(value):
            raise RequestValidationError([{"loc": (place, name), "msg": "must not contain the NUL character", "type": "nul"}])


def _in_utc(moment: datetime) -> datetime:
    """The moment in UTC (naive: taken as UTC), which must exist there."""
    try:
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except OverflowError:
        raise ValueError("is outside years 1 to 9999 once converted to UTC") from None


#: Id columns are 32-bit integers on PostgreSQL: a larger id names no row, and could not be bound.
MAX_ROW_ID = 2**31 - 1
RecordId = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="The stored record's id.")]
BatchId = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="The batch's id.")]
KeyId = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="The key's id.")]
TransactionId = Annotated[str, Path(min_length=1, max_length=MAX_IDENTIFIER_CHARS, description="The business identifier.")]
UtcTime = Annotated[datetime, AfterValidator(_in_utc)]
Submitter = Annotated[
    str | None,
    Query(min_length=1, max_length=MAX_PARTY_CHARS,
          description="Whose record of this id, where several parties recorded it (default: yours, else the only one you may read)."),
]


QUERY_PARAMETER_PREFIXES = "x-query-parameter-prefixes"
"""OpenAPI extension of an operation that also accepts a family of query parameters by prefix."""


async def reject_unknown_query_parameters(request: Request) -> None:
    """Refuse (422, naming it) a query parameter the route does not document, on every route alike.

    A route documents a parameter by declaring it (FastAPI) or in its ``openapi_extra`` (routes
    that parse their query themselves, such as the EPCIS query), and a family of parameters with
    the ``x-query-parameter-prefixes`` extension. A typo then fails loudly instead of silently
    widening a listing or an analysis.
    """
    if not request.query_params:
        return
    route: APIRoute = request.scope["route"]
    extra = route.openapi_extra or {}
    names = _declared_query_parameters(route.dependant)
    names |= {param["name"] for param in extra.get("parameters", ()) if param.get("in") == "query"}
    prefixes = tuple(extra.get(QUERY_PARAMETER_PREFIXES, ()))
    for name in request.query_params:
        if name not in names and not name.startswith(prefixes):
            raise InvalidParameter(f"unknown query parameter {name!r}", field=name)


def _declared_query_parameters(dependant: Dependant) -> set[str]:
    """The query parameters of a route's dependency tree (a few nodes deep)."""
    names = {param.alias for param in dependant.query_params}
    for dependency in dependant.dependencies:
        names |= _declared_query_parameters(dependency)
    return names
