"""Where a record is on its way to the chain: its batch and its leaf's position in the batch's tree."""

from sqlalchemy import Column, ForeignKey, Index, Integer, text
from sqlmodel import Field, Relationship, SQLModel

from service.models.batch import Batch


class RecordLeaf(SQLModel, table=True):
    """One narrow row per record, written with the record; ``batch_id`` is None until a batch takes it.

    Kept apart from ``record`` because anchoring changes it: closing a batch updates these rows,
    which carry two indexes, instead of the wide record rows with their body and nine indexes
    (on PostgreSQL that took longer than inserting the records). A record's status is not stored at
    all: it is its batch's (see :attr:`Record.status`), so anchoring a batch writes one row.
    """

    __tablename__ = "record_leaf"
    __table_args__ = (
        # the anchoring loop's queue: records not yet in a batch, oldest first
        Index("ix_record_leaf_unbatched", "record_id", postgresql_where=text("batch_id IS NULL"), sqlite_where=text("batch_id IS NULL")),
    )

    record_id: int = Field(sa_column=Column(Integer, ForeignKey("record.id", ondelete="CASCADE"), primary_key=True))
    batch_id: int | None = Field(default=None, foreign_key="batch.id")
    tree_index: int | None = Field(
        default=None, description="Position of the record's leaf in its batch's tree (OpenZeppelin's treeIndex)."
    )
    batch: Batch | None = Relationship(sa_relationship_kwargs={"lazy": "joined", "viewonly": True})
