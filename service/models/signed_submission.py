"""Signed submissions: a supplier's EIP-712 signature over a whole submission, and its records."""

from datetime import datetime

from sqlalchemy import JSON, Column, ForeignKey, Integer, Text
from sqlmodel import Field, SQLModel

from service.timeutil import utcnow


class SignedSubmission(SQLModel, table=True):
    """One signed submission as received: what was signed (``typed_data``, the full EIP-712 message,
    as JSON text), the signature and the key that made it, so that a record's proof bundle can show
    who said it without the service's word. ``root`` and ``count`` repeat the signed message's.
    """

    __tablename__ = "signed_submission"

    id: int | None = Field(default=None, primary_key=True)
    party: str = Field(index=True, description="The submitting party (the signed message names it too).")
    signer: str = Field(max_length=42, description="The checksummed address the signature recovers to.")
    signature: str = Field(max_length=132, description="0x-prefixed 65-byte signature (r, s, v).")
    typed_data: str = Field(sa_column=Column(Text, nullable=False))
    root: str = Field(max_length=66)
    count: int
    content_hashes: list[str] = Field(sa_column=Column(JSON, nullable=False),
                                      description="The signed records' content hashes, in submission order (the root's leaves).")
    received_at: datetime = Field(default_factory=utcnow)


class RecordSignature(SQLModel, table=True):
    """The record at ``position`` of a signed submission (the order its root is built in): one row per
    position, so the signed tree can be rebuilt; a record sent twice, or again in another signed
    submission, is covered by each."""

    __tablename__ = "record_signature"

    submission_id: int = Field(sa_column=Column(Integer, ForeignKey("signed_submission.id", ondelete="CASCADE"), primary_key=True))
    position: int = Field(primary_key=True, description="The record's position in the signed submission.")
    record_id: int = Field(sa_column=Column(Integer, ForeignKey("record.id", ondelete="CASCADE"), nullable=False, index=True))
