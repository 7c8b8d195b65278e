"""Anchored batches, their audits, and the outcome of an anchoring pass."""

from pydantic import BaseModel, ConfigDict, Field

from service.anchor.anchoring import PassReport
from service.api.schemas.common import PageBase
from service.models import Batch
from service.timeutil import UtcDateTime, from_unix
from service.verify.audit import BatchAudit, BatchAuditStatus


class AnchorPublic(BaseModel):
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
    def of(cls, batch: Batch) -> "AnchorPublic":
        fields = {name: getattr(batch, name) for name in cls.model_fields}
        return cls(**fields | {"anchored_at": from_unix(batch.anchored_at) if batch.anchored_at else None})


class AnchorPage(PageBase):
    anchors: list[AnchorPublic] = Field(description="Newest first.")


class AnchorPassPublic(BaseModel):
    """What one anchoring pass did: batches closed, submitted, anchored, reorged away."""

    model_config = ConfigDict(from_attributes=True)

    closed: list[int]
    submitted: list[int]
    anchored: list[int]
    reorged: list[int]
    errors: list[str]
    chain_down: bool

    @classmethod
    def of(cls, report: PassReport) -> "AnchorPassPublic":
        return cls.model_validate(report)


class MissingLeafPublic(BaseModel):
    """A leaf of the batch's tree that no stored record matches: the record behind it is gone."""

    model_config = ConfigDict(from_attributes=True)

    tree_index: int
    leaf: str


class AuditPublic(BaseModel):
    """A batch audit with its evidence: the records found, and the leaves no record matches."""

    model_config = ConfigDict(from_attributes=True)

    batch_id: int
    status: BatchAuditStatus
    reason: str
    root: str
    leaf_count: int
    records: int = 0
    tampered_records: list[int] = Field(default_factory=list)
    missing_leaves: list[MissingLeafPublic] = Field(default_factory=list)
    anchored_at: UtcDateTime | None = Field(None, description="The anchoring block's time, as the contract recorded it.")

    @classmethod
    def of(cls, audit: BatchAudit) -> "AuditPublic":
        return cls.model_validate(audit)
