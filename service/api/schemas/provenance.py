"""Provenance trails of items."""

from typing import Any, Literal

from pydantic import BaseModel, Field

from service.api.schemas.common import stored_body
from service.api.schemas.verification import DECLARED_ERRONEOUS, DeclarationPublic, VerificationPublic
from service.ingest.candidates import event_hash_id_of
from service.read.provenance import Trail, TrailEvent
from service.timeutil import UtcDateTime


class TrailEventPublic(BaseModel):
    """One event of the trail, how it was reached, and whether it verifies."""

    id: int = Field(description="The stored record's id.")
    event_hash_id: str
    type: str = Field(description="The EPCIS event type, e.g. ObjectEvent.")
    event_time: UtcDateTime | None
    party: str | None = Field(description="The supplier that recorded it.")
    via: str = Field(description="The link that led here, e.g. the item itself, a container, a transformation input.")
    hops: int = Field(description="Links away from the item asked about.")
    verification: VerificationPublic
    event: dict[str, Any] | str = Field(description="The stored event; its raw text if the row no longer parses (tampered).")
    declared_erroneous: DeclarationPublic | None = Field(None, description=DECLARED_ERRONEOUS)

    @classmethod
    def of(cls, event: TrailEvent) -> "TrailEventPublic":
        record = event.record
        return cls(id=record.id, event_hash_id=event_hash_id_of(record.business_id), type=record.record_type,
                   event_time=record.occurred_at, party=record.party, via=event.via, hops=event.hops,
                   verification=VerificationPublic.of(event.verification, declaration=event.declaration),
                   event=stored_body(record), declared_erroneous=DeclarationPublic.of(event.declaration))


class TrailPublic(BaseModel):
    """An item's provenance, in time order, with a verdict over the whole trail."""

    epc: str = Field(description="The item, canonicalised.")
    verdict: Literal["tampered", "not_on_chain", "incomplete", "pending", "verified"] = Field(
        description="The worst finding: tampered, not_on_chain, incomplete (missing origin, cycle, walk cut short), "
        "pending, or verified."
    )
    problems: list[str] = Field(description="What is wrong, one sentence each.")
    truncated: bool = Field(description="The walk stopped at `depth` or at the size limits with links left.")
    events: list[TrailEventPublic]

    @classmethod
    def of(cls, trail: Trail) -> "TrailPublic":
        return cls(epc=trail.epc, verdict=trail.verdict, problems=trail.problems, truncated=trail.truncated,
                   events=[TrailEventPublic.of(event) for event in trail.events])
