"""Webhook subscriptions to named queries, and their delivery state (the durable outbox cursor)."""

from datetime import datetime

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Text
from sqlmodel import Field, SQLModel

from service.timeutil import utcnow


class Subscription(SQLModel, table=True):
    """Where and how a named query's new events are sent. ``position`` is the id of the last record
    the receiver acknowledged (2xx): delivery resumes after it, so nothing acknowledged is sent again.
    The creator's key (``key_id``) decides what is delivered, as it would for a query."""

    __tablename__ = "subscription"
    __table_args__ = (Index("ix_subscription_due", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(unique=True, max_length=64)
    query_id: int = Field(sa_column=Column(ForeignKey("named_query.id", ondelete="CASCADE"), nullable=False, index=True))
    key_id: int = Field(foreign_key="api_key.id")
    dest: str = Field(sa_column=Column(Text, nullable=False))
    signature_token: str = Field(sa_column=Column(Text, nullable=False))
    stream: bool = False
    schedule: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    report_if_empty: bool = False
    initial_record_time: datetime | None = None
    position: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    batch_size: int = 100
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow)
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(default_factory=utcnow)
