"""What a record can be found by: one row per (name, value) it mentions.

EPCIS queries (MATCH_epc, MATCH_anyEPC, EQ_bizTransaction_<type>), provenance walks and
transaction filters (sku, party) all look records up through this one narrow, indexed table,
so each stays an index scan at millions of records.
"""

from sqlalchemy import Column, ForeignKey, Index, Integer, String
from sqlmodel import Field, SQLModel


class RecordTerm(SQLModel, table=True):
    """``name`` is a term kind (see ``service.ingest.indexing.TermName``), ``value`` its normalised value."""

    __tablename__ = "record_term"
    __table_args__ = (Index("ix_record_term_record", "record_id"),)

    name: str = Field(sa_column=Column(String(64), primary_key=True))
    value: str = Field(sa_column=Column(String(512), primary_key=True))
    record_id: int = Field(
        sa_column=Column(Integer, ForeignKey("record.id", ondelete="CASCADE"), primary_key=True)
    )
