"""Provenance trails of items, for auditors."""

from typing import Annotated

from fastapi import APIRouter, Path, Query

from service.api.deps import Auditor, ChainDep, RuntimeDep, SessionDep, ViewerDep
from service.api.errors import error_responses
from service.api.schemas.provenance import TrailPublic
from service.read.provenance import trail

router = APIRouter(prefix="/provenance", tags=["provenance"], responses=error_responses(401, 403, 404, 422, 502, 503))


@router.get("/{epc:path}", response_model=TrailPublic)
def provenance(
    epc: Annotated[str, Path(min_length=1, max_length=512, description="EPC URN or GS1 Digital Link URI.")],
    caller: Auditor,
    viewer: ViewerDep,
    session: SessionDep,
    chain: ChainDep,
    ledger: RuntimeDep,
    depth: Annotated[int, Query(ge=0, le=100, description="Hops through aggregations and transformations.")] = 10,
) -> TrailPublic:
    """Every event naming the item and, upstream, its containers and inputs, in time order, each verified."""
    return TrailPublic.of(trail(session, chain, epc=epc, depth=depth, viewer=viewer, derivations=ledger.derivations))
