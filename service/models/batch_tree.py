"""The Merkle tree of a batch: every node, from which each record's proof is read."""

from sqlalchemy import Column, ForeignKey, Integer, LargeBinary
from sqlmodel import Field, SQLModel


class BatchTree(SQLModel, table=True):
    """All ``2n - 1`` nodes of a batch's tree, 32 bytes each, in OpenZeppelin's array order.

    Stored once per batch rather than as a proof per record: 64 bytes per record instead of
    32 per tree level, and closing a batch no longer rewrites every record with its proof. A row
    kept apart from ``batch`` so that listing batches does not read trees.
    """

    __tablename__ = "batch_tree"

    batch_id: int = Field(sa_column=Column(Integer, ForeignKey("batch.id", ondelete="CASCADE"), primary_key=True))
    nodes: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
