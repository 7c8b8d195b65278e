"""Signing keys of parties: the body that registers one, a key as answered, a party's keys; the signature policy."""

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from service.access.signing_keys import SigningKey
from service.models import RecordStatus
from service.timeutil import UtcDateTime

_HEX = r"^0x[0-9a-fA-F]+$"


class SigningKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra={"examples": [{
        "address": "0x90F8bf6A479f320ead074411a4B0e7944Ea8c9C1", "signature": "0x" + "ab" * 65}]})

    address: Annotated[str, StringConstraints(min_length=42, max_length=42, pattern=_HEX)] = Field(
        description="The key's Ethereum address.")
    signature: Annotated[str, StringConstraints(min_length=132, max_length=132, pattern=_HEX)] = Field(
        description="The key's own EIP-712 signature of `SigningKey(string party,address key)` in the service's domain "
        "(proof that whoever registers the key holds it).")


class SigningKeyPublic(BaseModel):
    id: int = Field(description="The registration's record id (anchored like any record).")
    party: str
    address: str
    registeredAt: UtcDateTime
    revokedAt: UtcDateTime | None = Field(description="When the key stopped speaking for the party (null: it still does).")
    status: RecordStatus = Field(description="Whether the registration record is anchored yet.")

    @classmethod
    def of(cls, key: SigningKey) -> "SigningKeyPublic":
        return cls(id=key.record.id, party=key.record.party, address=key.address, registeredAt=key.registered_at,
                   revokedAt=key.revoked_at, status=key.record.status)


class SigningKeysPublic(BaseModel):
    signingKeys: list[SigningKeyPublic] = Field(description="Oldest registration first, revoked ones included.")


class SignaturePolicyUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra={"examples": [{"signatures": "required"}]})

    signatures: Literal["optional", "required"] = Field(
        description="`required`: unsigned events and transactions of the party are refused; `optional`: both accepted.")


class SignaturePolicyPublic(BaseModel):
    party: str
    signatures: Literal["optional", "required"]
