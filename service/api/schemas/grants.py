"""Grants: the body that gives one, a grant as answered, a page of them."""

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from service.access.grants import Grant
from service.api.schemas.common import MAX_PARTY_CHARS, PageBase
from service.models.record import parsed_body
from service.models import RecordStatus
from service.timeutil import UtcDateTime


class GrantCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra={"examples": [{"grantee": "bank"}]})

    grantee: Annotated[str, StringConstraints(min_length=1, max_length=MAX_PARTY_CHARS, pattern=r"^\S(.*\S)?$")] = Field(
        description="The party that may read all your records from now on (until you revoke it).")


class GrantPublic(BaseModel):
    id: int = Field(description="The grant's record id (anchored like any record).")
    owner: str
    grantee: str
    granted_at: UtcDateTime
    revoked_at: UtcDateTime | None
    status: RecordStatus = Field(description="Whether the grant record is anchored yet.")

    @classmethod
    def of(cls, grant: Grant) -> "GrantPublic":
        body = parsed_body(grant.record) or {}
        revoked = parsed_body(grant.revocation) or {} if grant.revocation is not None else {}
        return cls(id=grant.record.id, owner=grant.record.party, grantee=str(body.get("grantee")),
                   granted_at=body.get("granted_at"), revoked_at=revoked.get("revoked_at"), status=grant.record.status)


class GrantPage(PageBase):
    grants: list[GrantPublic]
