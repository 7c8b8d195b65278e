"""Named queries of the EPCIS REST binding: a party's saved event query, run again by name."""

from datetime import datetime

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from service.timeutil import utcnow


class NamedQuery(SQLModel, table=True):
    """``query`` as the client sent it (JSON text, valid under the standard's query schema); names
    are per party, so one party's queries (and their subscriptions) stay invisible to another."""

    __tablename__ = "named_query"
    __table_args__ = (UniqueConstraint("party", "name", name="uq_named_query_party_name"),)

    id: int | None = Field(default=None, primary_key=True)
    party: str
    name: str = Field(max_length=250)
    query: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)
