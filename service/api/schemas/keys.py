"""API keys: the body that creates one, a key as listed, a key just created with its token."""

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, Strict

from service.api.schemas.common import MAX_PARTY_CHARS, PageBase
from service.models import ApiKey, Role
from service.timeutil import UtcDateTime


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra={"examples": [
        {"role": "supplier", "party": "processor"}, {"role": "auditor", "party": "audit-co"}]})

    role: Annotated[Role, Strict(False)] = Field(  # JSON has no enums: the role's name is its value
        description="What the key may do (see the role matrix in the README).")
    party: str = Field(
        min_length=1, max_length=MAX_PARTY_CHARS, pattern=r"^\S(.*\S)?$",
        description="The company the key acts for: a supplier's records carry it, and it must be seller or buyer of "
        "the transactions it submits.",
    )


class KeyPublic(BaseModel):
    id: int
    role: Role
    party: str
    created_at: UtcDateTime
    revoked_at: UtcDateTime | None

    @classmethod
    def of(cls, key: ApiKey) -> "KeyPublic":
        return cls.model_validate(key, from_attributes=True)


class KeyPage(PageBase):
    keys: list[KeyPublic] = Field(description="Newest first; never the tokens.")


class CreatedKeyPublic(KeyPublic):
    key: str = Field(description="The bearer token; shown once, stored only as a hash.")

    @classmethod
    def of_new(cls, key: ApiKey, token: str) -> "CreatedKeyPublic":
        return cls(**KeyPublic.of(key).model_dump(), key=token)
