"""A Merkle batch of records and the state of its anchoring transaction."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Column
from sqlmodel import Field, SQLModel

from service.timeutil import utcnow


class BatchStatus(StrEnum):
    """pending (root known, nothing sent) -> submitted (tx sent) -> anchored (confirmed)."""

    PENDING = "pending"
    SUBMITTED = "submitted"
    ANCHORED = "anchored"


class Batch(SQLModel, table=True):
    """One Merkle tree over the content hashes of its records; its root goes on chain once."""

    id: int | None = Field(default=None, primary_key=True)
    root: str = Field(unique=True, description="0x-prefixed hex of the Merkle root.")
    leaf_count: int
    leaf_encoding: str = Field(
        default="bytes32,bytes32",
        description="The StandardMerkleTree leaf encoding: bytes32,bytes32 = [content hash, salt]; bytes32 before salts.",
    )
    status: BatchStatus = Field(default=BatchStatus.PENDING, index=True)
    chain_id: int | None = Field(default=None, sa_column=Column(BigInteger))
    contract: str | None = None
    tx_hash: str | None = None
    block_number: int | None = Field(default=None, sa_column=Column(BigInteger))
    gas_used: int | None = None
    anchored_at: int | None = Field(
        default=None, sa_column=Column(BigInteger), description="Block timestamp of the anchor, from the contract."
    )
    attempts: int = 0
    last_error: str | None = None
    retry_after: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
