"""A stored record: an EPCIS event or a commercial transaction, kept byte for byte."""

import json
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Optional

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field, Relationship, SQLModel

from service.models.batch import BatchStatus
from service.timeutil import utcnow

if TYPE_CHECKING:
    from service.models.record_leaf import RecordLeaf


class RecordKind(StrEnum):
    """What a record is; decides how its content hash is computed and its columns derived."""

    EPCIS_EVENT = "epcis_event"
    TRANSACTION = "transaction"
    LABEL = "label"  # a lender's fraud label of a transaction (JCS-hashed like a transaction)
    GRANT = "grant"  # a party sharing its records with another, or withdrawing that (JCS-hashed)
    SIGNING_KEY = "signing_key"  # a party registering or revoking a key it signs submissions with (JCS-hashed)


class RecordStatus(StrEnum):
    """Where a record is on its way to the chain: pending until its batch is anchored (the batch
    itself also knows when its transaction was submitted). Derived, never stored."""

    PENDING = "pending"
    ANCHORED = "anchored"


class Record(SQLModel, table=True):
    """One submitted record, kept byte-for-byte as needed to recompute its hash.

    ``body`` is the JSON text as stored (for EPCIS events: the event with its document's
    ``@context``), ``content_hash`` the 32-byte hash computed at submission and ``salt`` what makes
    its leaf unique (see ``service.hashing.merkle``). Every other column, and the record's terms, is derived
    from ``body`` (``service.ingest.candidates``): verification recomputes the hash from ``body`` and the
    columns too, so editing any of them is detected.
    """

    __table_args__ = (
        # Business ids belong to their party: two suppliers recording the same event, or using the
        # same invoice number, each get their own record. business_id first: lookups by business id
        # (idempotent submission, references, GET by id) use this index even before the planner has
        # statistics for a fast-growing table.
        UniqueConstraint("business_id", "kind", "party", name="uq_record_business_id_kind_party"),
        Index("ix_record_kind_time", "kind", "occurred_at", "id"),
        # a supplier's own records in time order: every supplier-scoped query walks this (bench/query.py)
        Index("ix_record_party_time", "party", "occurred_at", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: RecordKind
    record_type: str = Field(index=True, description="EPCIS eventType or transaction kind.")
    business_id: str = Field(description="Event hash ID for events, the business identifier for transactions.")
    party: str = Field(description="The submitting party.")
    body: str = Field(sa_column=Column(Text, nullable=False))
    content_hash: str = Field(description="0x-prefixed hex of the 32-byte content hash.")
    salt: str | None = Field(
        default=None,
        description="0x-prefixed hex of 32 random bytes hashed into the record's leaf (None: a record anchored before salts).",
    )
    occurred_at: datetime | None = Field(default=None, description="eventTime or transaction timestamp.")
    biz_step: str | None = Field(default=None, index=True, description="CBV 2.0 URI of the event's bizStep.")
    disposition: str | None = Field(default=None, index=True, description="CBV 2.0 URI of the disposition.")
    biz_location: str | None = Field(default=None, index=True, description="Canonical id of the bizLocation.")
    read_point: str | None = Field(default=None, index=True, description="Canonical id of the readPoint.")
    created_at: datetime = Field(default_factory=utcnow)
    leaf: Optional["RecordLeaf"] = Relationship(sa_relationship_kwargs={"lazy": "joined", "viewonly": True, "uselist": False})

    @property
    def batch_id(self) -> int | None:
        """The batch that holds the record's leaf; None while the record waits for one."""
        return self.leaf.batch_id if self.leaf is not None else None

    @property
    def tree_index(self) -> int | None:
        """The record's leaf position in its batch's tree."""
        return self.leaf.tree_index if self.leaf is not None else None

    @property
    def status(self) -> "RecordStatus":
        """Anchored once the batch holding the record is anchored; pending before (and after a reorg)."""
        batch = self.leaf.batch if self.leaf is not None else None
        return RecordStatus.ANCHORED if batch is not None and batch.status == BatchStatus.ANCHORED else RecordStatus.PENDING


def parsed_body(record: Record) -> dict | None:
    """The stored body, or None when an edited row no longer parses as a JSON object (nor at all:
    nested deeper than the interpreter recurses)."""
    try:
        body = json.loads(record.body)
    except (ValueError, RecursionError):
        return None
    return body if isinstance(body, dict) else None
