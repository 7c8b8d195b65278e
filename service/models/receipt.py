"""Receipts the operator signed for accepted submissions, kept so that audits can hold it to them."""

from sqlalchemy import JSON, BigInteger, Column
from sqlmodel import Field, SQLModel


class Receipt(SQLModel, table=True):
    """One signed receipt: the operator's promise to anchor ``record_ids`` by ``anchor_by``.

    The supplier holds the signed typed data; this row keeps what the audit needs to find the
    receipts whose records were not anchored in time (``service.verify.receipt_audit``).
    """

    id: int | None = Field(default=None, primary_key=True)
    party: str = Field(index=True)
    root: str = Field(description="0x-prefixed hex of the StandardMerkleTree root of the content hashes.")
    count: int
    received_at: int = Field(sa_column=Column(BigInteger, nullable=False), description="Unix seconds.")
    anchor_by: int = Field(sa_column=Column(BigInteger, nullable=False, index=True), description="Unix seconds.")
    chain_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    contract: str
    signer: str
    signature: str
    record_ids: list[int] = Field(sa_column=Column(JSON, nullable=False), description="The records, in submission order.")
    content_hashes: list[str] = Field(sa_column=Column(JSON, nullable=False), description="Their content hashes, in the same order.")
    capture_id: str | None = Field(default=None, index=True, description="The capture job whose stored events it covers.")
