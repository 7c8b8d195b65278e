"""API keys: bearer tokens stored only as hashes, each bound to one role and one party."""

from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from service.timeutil import utcnow


class Role(StrEnum):
    """What a key may do; see ``service.api.deps`` for the endpoint matrix."""

    ADMIN = "admin"
    SUPPLIER = "supplier"
    AUDITOR = "auditor"
    RETAILER = "retailer"
    LENDER = "lender"


class ApiKey(SQLModel, table=True):
    """A key's SHA-256 (never the key itself), its role and party, and whether it was revoked."""

    __tablename__ = "api_key"

    id: int | None = Field(default=None, primary_key=True)
    key_hash: str = Field(unique=True, description="hex SHA-256 of the bearer token")
    role: Role
    party: str = Field(index=True)
    created_at: datetime = Field(default_factory=utcnow)
    revoked_at: datetime | None = None
