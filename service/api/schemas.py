"""Response models: what the API promises, and what OpenAPI (and schemathesis) checks."""

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, Strict

from service.models import ApiKey, Batch, Record, RecordStatus, Role
from service.validation.json_limits import stored_object


class ErrorOut(BaseModel):
    """The body of every error response, whichever layer (auth, parameters, domain, body limit) refused."""

    error: str = Field(description="The kind of error, e.g. SchemaViolation, NotFound, Unauthorized.")
    detail: str
    field: str | None = Field(description="The parameter or record field at fault, when there is one.")
    errors: list[dict[str, Any]] | None = Field(None, description="Every problem found, when there are several.")


class CapturedEvent(BaseModel):
    """One event of a submitted document, in document order."""

    id: int = Field(description="The stored record's id.")
    event_hash_id: str
    status: RecordStatus
    created: bool = Field(description="False when the same event (same hash ID) was already stored.")


class CaptureResult(BaseModel):
    events: list[CapturedEvent]


class StoredEvent(BaseModel):
    """An EPCIS event as stored, with its place on the way to the chain."""

    id: int
    event_hash_id: str
    type: str
    party: str | None
    status: RecordStatus
    batch_id: int | None
    event_time: datetime | None
    recorded_at: datetime
    event: dict[str, Any] | str = Field(description="The stored event; its raw text if the row no longer parses (tampered).")

    @classmethod
    def of(cls, record: Record) -> "StoredEvent":
        return cls(
            id=record.id, event_hash_id=record.business_id, type=record.record_type, party=record.party,
            status=record.status, batch_id=record.batch_id, event_time=record.occurred_at,
            recorded_at=record.created_at, event=_stored(record),
        )


def _stored(record: Record) -> dict[str, Any] | str:
    """A record's body for display: parsed, or as stored when it does not parse as JSON the API can
    return (an edit broke it, or it nests too deep): reading must not fail."""
    body = stored_object(record.body)
    return record.body if body is None else body


class EventPage(BaseModel):
    events: list[StoredEvent]
    nextPageToken: str | None = None


class CapturedTransaction(BaseModel):
    id: str = Field(description="The business identifier.")
    record_id: int
    kind: str
    status: RecordStatus
    created: bool


class TransactionSubmitResult(BaseModel):
    transactions: list[CapturedTransaction]


class StoredTransaction(BaseModel):
    id: str
    record_id: int
    kind: str
    party: str | None
    status: RecordStatus
    batch_id: int | None
    timestamp: datetime | None
    recorded_at: datetime
    transaction: dict[str, Any] | str = Field(description="The stored transaction; its raw text if the row no longer parses.")

    @classmethod
    def of(cls, record: Record) -> "StoredTransaction":
        return cls(
            id=record.business_id, record_id=record.id, kind=record.record_type, party=record.party,
            status=record.status, batch_id=record.batch_id, timestamp=record.occurred_at,
            recorded_at=record.created_at, transaction=_stored(record),
        )


class TransactionPage(BaseModel):
    transactions: list[StoredTransaction]
    nextPageToken: str | None = None


class ProofBundle(BaseModel):
    """See docs/proof-bundle.md."""

    model_config = {"extra": "allow"}
    format: str
    kind: str
    record: dict[str, Any] | str = Field(description="The record; its JSON text if it nests too deep for the API to return.")
    content_hash: str
    leaf: str
    proof: list[str]
    root: str
    chain_id: int
    contract: str
    tx_hash: str
    block_number: int


class AnchorOut(BaseModel):
    id: int
    root: str
    leaf_count: int
    status: str
    chain_id: int | None
    contract: str | None
    tx_hash: str | None
    block_number: int | None
    gas_used: int | None
    anchored_at: int | None
    attempts: int
    last_error: str | None
    created_at: datetime

    @classmethod
    def of(cls, batch: Batch) -> "AnchorOut":
        return cls.model_validate(batch, from_attributes=True)


class AnchorPage(BaseModel):
    anchors: list[AnchorOut]
    nextPageToken: str | None = None


class AnchorPassOut(BaseModel):
    closed: list[int]
    submitted: list[int]
    anchored: list[int]
    reorged: list[int]
    errors: list[str]
    chain_down: bool


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    role: Annotated[Role, Strict(False)]  # JSON has no enums: the role's name is its value
    party: str = Field(min_length=1, max_length=200, pattern=r"^\S(.*\S)?$")


class KeyOut(BaseModel):
    id: int
    role: Role
    party: str
    created_at: datetime
    revoked_at: datetime | None

    @classmethod
    def of(cls, key: ApiKey) -> "KeyOut":
        return cls.model_validate(key, from_attributes=True)


class KeyCreated(KeyOut):
    key: str = Field(description="The bearer token; shown once, stored only as a hash.")


class ComponentHealth(BaseModel):
    ok: bool
    detail: str


class ChainHealth(ComponentHealth):
    chain_id: int | None = None
    block_number: int | None = None
    contract: str | None = None


class Health(BaseModel):
    status: str = Field(description="ok or degraded")
    database: ComponentHealth
    chain: ChainHealth
    pending_records: int | None = None
