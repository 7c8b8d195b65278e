"""Provenance trails of items, for auditors."""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from service.api.deps import Auditor, ChainDep, RuntimeDep, SessionDep, ViewerDep
from service.api.errors import error_responses
from service.read.provenance import trail
from service.timeutil import UtcDateTime
from service.verify.verification import Verification

router = APIRouter(prefix="/provenance", tags=["provenance"], responses=error_responses(401, 403, 404, 422, 502, 503))


class TrailEventOut(BaseModel):
    """One event of the trail, how it was reached, and whether it verifies."""

    id: int = Field(description="The stored record's id.")
    event_hash_id: str
    type: str
    event_time: UtcDateTime | None
    party: str | None = Field(description="The supplier that recorded it.")
    via: str = Field(description="The link that led here, e.g. the item itself, a container, a transformation input.")
    hops: int = Field(description="Links away from the item asked about.")
    verification: Verification
    event: dict[str, Any] | str = Field(description="The stored event; its raw text if the row no longer parses (tampered).")


class TrailOut(BaseModel):
    """An item's provenance, in time order, with a verdict over the whole trail."""

    epc: str = Field(description="The item, canonicalised.")
    verdict: Literal["tampered", "not_on_chain", "incomplete", "pending", "verified"] = Field(
        description="The worst finding: tampered, not_on_chain, incomplete (missing origin, cycle, walk cut short), "
        "pending, or verified."
    )
    problems: list[str] = Field(description="What is wrong, one sentence each.")
    truncated: bool = Field(description="The walk stopped at `depth` or at the size limits with links left.")
    events: list[TrailEventOut]


@router.get("/{epc:path}", response_model=TrailOut)
def provenance(
    epc: Annotated[str, Path(min_length=1, max_length=512, description="EPC URN or GS1 Digital Link URI.")],
    caller: Auditor,
    viewer: ViewerDep,
    session: SessionDep,
    chain: ChainDep,
    ledger: RuntimeDep,
    depth: Annotated[int, Query(ge=0, le=100, description="Hops through aggregations and transformations.")] = 10,
) -> TrailOut:
    """Every event naming the item and, upstream, its containers and inputs, in time order, each verified."""
    return TrailOut.model_validate(trail(session, chain, epc=epc, depth=depth, viewer=viewer, derivations=ledger.derivations).as_dict())
