"""Which submitted document a record was captured from, and where in it."""

from sqlalchemy import Column, ForeignKey, Integer
from sqlmodel import Field, SQLModel


class RecordSource(SQLModel, table=True):
    """The document (``source_document``) whose event ``position`` (in its event list) created the record.

    A record has at most one: the submission that created it (the same event captured again finds the
    record and links nothing).
    """

    __tablename__ = "record_source"

    record_id: int = Field(sa_column=Column(Integer, ForeignKey("record.id", ondelete="CASCADE"), primary_key=True))
    source_id: int = Field(sa_column=Column(Integer, ForeignKey("source_document.id", ondelete="CASCADE"), nullable=False, index=True))
    position: int = Field(description="The event's position in the document's event list.")
