"""EPCIS events: as captured, as stored, a page of them."""

from typing import Any

from pydantic import BaseModel, Field

from service.api.schemas.common import PageBase, stored_body
from service.api.schemas.receipts import RECEIPT, ReceiptPublic
from service.api.schemas.verification import DECLARED_ERRONEOUS, DeclarationPublic
from service.ingest.candidates import event_hash_id_of
from service.ingest.records import Stored
from service.models import Record, RecordStatus
from service.timeutil import UtcDateTime
from service.verify.declarations import Declaration


class CapturedEventPublic(BaseModel):
    """One event of a submitted document, in document order."""

    id: int = Field(description="The stored record's id.")
    event_hash_id: str
    status: RecordStatus
    created: bool = Field(description="False when the same event (same hash ID; for an error declaration: same hash ID and "
                          "declarationTime) was already stored.")

    @classmethod
    def of(cls, stored: Stored) -> "CapturedEventPublic":
        return cls(id=stored.record.id, event_hash_id=event_hash_id_of(stored.record.business_id), status=stored.record.status,
                   created=stored.created)


class CapturedEventsPublic(BaseModel):
    events: list[CapturedEventPublic]
    receipt: ReceiptPublic | None = Field(None, description=RECEIPT)


class EventPublic(BaseModel):
    """An EPCIS event as stored, with its place on the way to the chain."""

    id: int
    event_hash_id: str
    type: str = Field(description="The EPCIS event type, e.g. ObjectEvent.")
    party: str | None
    status: RecordStatus
    batch_id: int | None
    event_time: UtcDateTime | None = Field(description="The event's eventTime, in UTC.")
    recorded_at: UtcDateTime = Field(description="When traceanchor stored it.")
    event: dict[str, Any] | str = Field(description="The stored event; its raw text if the row no longer parses (tampered).")
    declared_erroneous: DeclarationPublic | None = Field(None, description=DECLARED_ERRONEOUS)

    @classmethod
    def of(cls, record: Record, *, declaration: Declaration | None = None) -> "EventPublic":
        return cls(
            id=record.id, event_hash_id=event_hash_id_of(record.business_id), type=record.record_type, party=record.party,
            status=record.status, batch_id=record.batch_id, event_time=record.occurred_at,
            recorded_at=record.created_at, event=stored_body(record), declared_erroneous=DeclarationPublic.of(declaration),
        )


class EventPage(PageBase):
    events: list[EventPublic]
