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
"""

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from service.access import Viewer, viewer_of
from service.chain import Chain
from service.capture import parse_json
from service.errors import InvalidRecord
from service.ledger import Ledger
from service.models import ApiKey, Role


async def get_ledger(request: Request) -> Ledger:
    """The process's ledger, opened by the app's lifespan (async: no threadpool hop for a lookup)."""
    return request.app.state.ledger


LedgerDep = Annotated[Ledger, Depends(get_ledger)]


def get_session(ledger: LedgerDep) -> Iterator[Session]:
    """One database session per request (writers commit explicitly before answering)."""
    with ledger.session() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def get_chain(ledger: LedgerDep) -> Chain:
    """The chain connection; ChainUnavailable (503) if it cannot be reached."""
    return ledger.chain


ChainDep = Annotated[Chain, Depends(get_chain)]

_bearer = HTTPBearer(auto_error=False, description="An API key from `traceanchor keys create`.")


async def get_caller(
    ledger: LedgerDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> ApiKey:
    """The API key presenting itself; 401 if absent, unknown or revoked.

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
Operator = Annotated[ApiKey, Depends(_Allow(Role.AUDITOR, Role.ADMIN))]
Admin = Annotated[ApiKey, Depends(_Allow(Role.ADMIN))]
RetailAnalyst = Annotated[ApiKey, Depends(_Allow(Role.RETAILER, Role.AUDITOR, Role.ADMIN))]
CreditAnalyst = Annotated[ApiKey, Depends(_Allow(Role.LENDER, Role.AUDITOR, Role.ADMIN))]
ModelTrainer = Annotated[ApiKey, Depends(_Allow(Role.LENDER, Role.ADMIN))]
Lender = Annotated[ApiKey, Depends(_Allow(Role.LENDER))]


def get_viewer(caller: Annotated[ApiKey, Depends(get_caller)], session: SessionDep) -> Viewer:
    """Whose records the caller may see (``service.access``): its party's and its grantors', or all."""
    return viewer_of(session, caller)


ViewerDep = Annotated[Viewer, Depends(get_viewer)]


async def read_body(request: Request) -> bytes:
    """The raw request body (for endpoints that parse it themselves, possibly elsewhere)."""
    return await request.body()


RawBody = Annotated[bytes, Depends(read_body)]


async def read_json_body(body: RawBody) -> object:
    """The request body parsed as JSON (JSON-LD included); 422 naming `body` when it is not JSON."""
    return parse_json(body)


JsonBody = Annotated[object, Depends(read_json_body)]


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
            raise InvalidRecord(f"unknown query parameter {name!r}", field=name)


def _declared_query_parameters(dependant: Dependant) -> set[str]:
    """The query parameters of a route's dependency tree (a few nodes deep)."""
    names = {param.alias for param in dependant.query_params}
    for dependency in dependant.dependencies:
        names |= _declared_query_parameters(dependency)
    return names
