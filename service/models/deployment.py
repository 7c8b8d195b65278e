"""The TraceAnchor contract this database anchors to, per chain."""

from datetime import datetime

from sqlalchemy import BigInteger, Column
from sqlmodel import Field, SQLModel

from service.timeutil import utcnow


class Deployment(SQLModel, table=True):
    """Remembers the contract address so every process attaches to the same contract."""

    chain_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    address: str
    created_at: datetime = Field(default_factory=utcnow)
