"""Response models: what the API promises, and what OpenAPI (and schemathesis) checks.

Every moment in an answer is a :data:`~service.timeutil.UtcDateTime` (ISO 8601, UTC, ``Z``), and
every listing is a :class:`PageOut` (``nextPageToken``; see service.read.pagination).
"""

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, Strict

from service.models import ApiKey, Batch, Record, RecordStatus, Role
from service.timeutil import UtcDateTime, from_unix
from service.ingest.validation.json_limits import stored_object


class ErrorOut(BaseModel):
    """The body of every error response, whichever layer (auth, parameters, domain, body limit) refused."""

    error: str = Field(description="The kind of error, e.g. SchemaViolation, NotFound, Unauthorized.")
    detail: str
    field: str | None = Field(description="The parameter or record field at fault, when there is one.")
    errors: list[dict[str, Any]] | None = Field(None, description="Every problem found, when there are several.")


class DataScope(BaseModel):
    """Whose records an analytics answer covers."""

    all_parties: bool = Field(description="True for auditors and admins: every party's records.")
    parties: list[str] | None = Field(description="Otherwise: the asking party and the parties that shared their records with it.")


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
    event_time: UtcDateTime | None = Field(description="The event's eventTime, in UTC.")
    recorded_at: UtcDateTime = Field(description="When traceanchor stored it.")
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


class PageOut(BaseModel):
    """What every listing answers besides its items."""

    nextPageToken: str | None = Field(
        None, description="Send it back (as the `nextPageToken` parameter, other parameters unchanged) for the next "
        "page; null on the last page. Opaque and signed: only this server's tokens are accepted."
    )


class EventPage(PageOut):
    events: list[StoredEvent]


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
    party: str = Field(description="Who recorded it (the seller or the buyer).")
    confirmation: Literal["confirmed", "disputed", "unconfirmed"] = Field(
        description="Whether the counterparty recorded the same transaction: the same content (confirmed), other content "
                    "under the same id (disputed), or nothing yet.")
    status: RecordStatus
    batch_id: int | None
    timestamp: UtcDateTime | None = Field(description="The transaction's timestamp, in UTC.")
    recorded_at: UtcDateTime = Field(description="When traceanchor stored it.")
    transaction: dict[str, Any] | str = Field(description="The stored transaction; its raw text if the row no longer parses.")

    @classmethod
    def of(cls, record: Record, *, confirmation: str) -> "StoredTransaction":
        return cls(
            id=record.business_id, record_id=record.id, kind=record.record_type, party=record.party,
            confirmation=confirmation,
            status=record.status, batch_id=record.batch_id, timestamp=record.occurred_at,
            recorded_at=record.created_at, transaction=_stored(record),
        )


class TransactionPage(PageOut):
    transactions: list[StoredTransaction]


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
    anchored_at: UtcDateTime | None = Field(description="The anchoring block's time, as the contract recorded it.")
    attempts: int
    last_error: str | None
    created_at: UtcDateTime = Field(description="When the batch was closed.")

    @classmethod
    def of(cls, batch: Batch) -> "AnchorOut":
        fields = {name: getattr(batch, name) for name in cls.model_fields}
        return cls(**fields | {"anchored_at": from_unix(batch.anchored_at) if batch.anchored_at else None})


class AnchorPage(PageOut):
    anchors: list[AnchorOut] = Field(description="Newest first.")


class AnchorPassOut(BaseModel):
    closed: list[int]
    submitted: list[int]
    anchored: list[int]
    reorged: list[int]
    errors: list[str]
    chain_down: bool


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra={"examples": [
        {"role": "supplier", "party": "processor"}, {"role": "auditor", "party": "audit-co"}]})

    role: Annotated[Role, Strict(False)] = Field(  # JSON has no enums: the role's name is its value
        description="What the key may do (see the role matrix in the README).")
    party: str = Field(
        min_length=1, max_length=200, pattern=r"^\S(.*\S)?$",
        description="The company the key acts for: a supplier's records carry it, and it must be seller or buyer of "
        "the transactions it submits.",
    )


class KeyOut(BaseModel):
    id: int
    role: Role
    party: str
    created_at: UtcDateTime
    revoked_at: UtcDateTime | None

    @classmethod
    def of(cls, key: ApiKey) -> "KeyOut":
        return cls.model_validate(key, from_attributes=True)


class KeyPage(PageOut):
    keys: list[KeyOut] = Field(description="Newest first; never the tokens.")


class KeyCreated(KeyOut):
    key: str = Field(description="The bearer token; shown once, stored only as a hash.")


class ComponentHealth(BaseModel):
    ok: bool
    detail: str


class ChainHealth(ComponentHealth):
    chain_id: int | None = None
    block_number: int | None = None
    contract: str | None = None
    contract_present: bool | None = Field(None, description="The contract's code is still at its address (false: the node lost its state).")
    checked_at: UtcDateTime | None = Field(None, description="When the chain was last looked at (health caches it for a few seconds).")


class AnchoringHealth(ComponentHealth):
    loop: str = Field(description="This process's anchoring loop: running, standby (another process runs it), stopped, not_started, or disabled.")
    loop_alive: bool | None = Field(description="Whether its thread is alive (null when disabled).")
    last_pass_at: UtcDateTime | None = Field(description="When the loop last finished a pass.")
    last_error: str | None
    last_error_at: UtcDateTime | None
    oldest_pending_since: UtcDateTime | None = Field(
        description="Since when the longest-waiting pending record waits: its creation, or for records in a batch awaiting the chain, the batch's closing."
    )
    oldest_pending_seconds: float | None
    batch_age_seconds: float
    stall_margin_seconds: float = Field(description="Waiting longer than the batch age plus this makes anchoring `degraded`.")


class Health(BaseModel):
    status: str = Field(description="ok, or degraded with `reasons`")
    reasons: list[str] = Field(default_factory=list, description="One line per failed check.")
    checked_at: UtcDateTime
    database: ComponentHealth
    chain: ChainHealth
    anchoring: AnchoringHealth
    pending_records: int | None = None


def component_schemas(*models: type[BaseModel]) -> dict[str, dict[str, Any]]:
    """OpenAPI ``components.schemas`` entries for ``models`` and the models they use, as they
    validate requests (for bodies that routes parse themselves, which FastAPI cannot see)."""
    schemas: dict[str, dict[str, Any]] = {}
    for model in models:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}", mode="validation")
        schemas |= schema.pop("$defs", {}) | {model.__name__: schema}
    return schemas
