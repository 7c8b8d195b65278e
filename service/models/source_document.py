"""Submitted documents kept byte for byte, beside the records they became (XML submissions)."""

from datetime import datetime

from sqlalchemy import Column, LargeBinary
from sqlmodel import Field, SQLModel

from service.timeutil import utcnow


class SourceDocument(SQLModel, table=True):
    """One submission exactly as a supplier sent it: a record stores the event in its EPCIS 2.0 JSON-LD
    form (what is hashed and anchored), and an auditor reads here what the supplier actually sent.

    ``sha256`` is the hex SHA-256 of ``content``, so that a copy handed over can be matched with it.
    """

    __tablename__ = "source_document"

    id: int | None = Field(default=None, primary_key=True)
    party: str = Field(index=True, description="The submitter's party.")
    media_type: str = Field(max_length=64, description="The Content-Type it was sent with (application/xml, text/xml).")
    sha256: str = Field(max_length=64)
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)
