"""Commercial transactions: as submitted, as stored, a page of them.

``kind`` is the transaction's kind (order, sale, invoice, payment), as in the submitted format;
the kind of record (event, transaction, label, grant) is ``record_kind`` wherever the API names it.
"""

from typing import Any, Literal

from pydantic import BaseModel, Field

from service.api.schemas.common import PageBase, stored_body
from service.api.schemas.receipts import RECEIPT, ReceiptPublic
from service.ingest.records import Stored
from service.models import Record, RecordStatus
from service.timeutil import UtcDateTime


class CapturedTransactionPublic(BaseModel):
    id: str = Field(description="The business identifier.")
    record_id: int
    kind: str = Field(description="order, sale, invoice or payment.")
    status: RecordStatus
    created: bool

    @classmethod
    def of(cls, stored: Stored) -> "CapturedTransactionPublic":
        return cls(id=stored.record.business_id, record_id=stored.record.id, kind=stored.record.record_type,
                   status=stored.record.status, created=stored.created)


class CapturedTransactionsPublic(BaseModel):
    transactions: list[CapturedTransactionPublic]
    receipt: ReceiptPublic | None = Field(None, description=RECEIPT)


class TransactionPublic(BaseModel):
    id: str
    record_id: int
    kind: str = Field(description="order, sale, invoice or payment.")
    party: str = Field(description="Who recorded it (the seller or the buyer).")
    confirmation: Literal["confirmed", "disputed", "unconfirmed"] = Field(
        description="Whether the counterparty recorded the same transaction: the same content (confirmed), other content "
                    "under the same id (disputed), or nothing yet.")
    status: RecordStatus
    batch_id: int | None
    timestamp: UtcDateTime | None = Field(description="The transaction's timestamp, in UTC.")
    recorded_at: UtcDateTime = Field(description="When traceanchor stored it.")
    transaction: dict[str, Any] | str = Field(description="The stored transaction; its raw text if the row no longer parses.")

    @classmethod
    def of(cls, record: Record, *, confirmation: str) -> "TransactionPublic":
        return cls(
            id=record.business_id, record_id=record.id, kind=record.record_type, party=record.party,
            confirmation=confirmation,
            status=record.status, batch_id=record.batch_id, timestamp=record.occurred_at,
            recorded_at=record.created_at, transaction=stored_body(record),
        )


class TransactionPage(PageBase):
    transactions: list[TransactionPublic]
