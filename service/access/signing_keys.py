"""Parties' signing keys: the Ethereum addresses whose EIP-712 signatures speak for a party, as ledger records.

A registration is a record of kind ``signing_key`` (``{"party", "key", "signature", "chain_id",
"contract", "registered_at"}``, ``signature`` being the key's own signature of
``SigningKey(party, key)``: whoever registers a key proves they hold it), a revocation one that names
the key (``{"party", "key", "revoked_at"}``). Both are hashed and anchored like every record, so which
keys spoke for a party at any past time is itself verifiable, and a proof bundle can carry the
registration of the key that signed a record.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlmodel import Session, select
from web3 import Web3

from service.errors import InvalidRecord, NotFound
from service.hashing.typed_data import signer_of, signing_key
from service.models import Record, RecordKind
from service.models.record import parsed_body
from service.timeutil import utcnow


@dataclass(frozen=True)
class SigningKey:
    """A registration record with its revocation, if any."""

    record: Record
    revocation: Record | None

    @property
    def address(self) -> str:
        return str((parsed_body(self.record) or {}).get("key"))

    @property
    def registered_at(self) -> datetime:
        return self.record.occurred_at

    @property
    def revoked_at(self) -> datetime | None:
        return self.revocation.occurred_at if self.revocation is not None else None

    def valid_at(self, moment: datetime) -> bool:
        """Whether the key spoke for its party at ``moment``: registered by then, not yet revoked."""
        return _utc(self.registered_at) <= moment and (self.revoked_at is None or moment < _utc(self.revoked_at))


def checksummed(address: object, *, field: str) -> str:
    """``address`` as a checksummed Ethereum address; InvalidRecord naming ``field`` otherwise."""
    if not isinstance(address, str) or not Web3.is_address(address):
        raise InvalidRecord(f"{field}: {address!r:.80} is not an Ethereum address (0x and 40 hex digits)", field=field)
    return Web3.to_checksum_address(address)


def registration_body(session: Session, *, party: str, address: str, signature: str,
                      domain: dict) -> tuple[dict | None, SigningKey | None]:
    """The body of the registration to store (None when the key is already live for ``party``: that one
    is returned). InvalidRecord unless ``signature`` is the key's signature of ``SigningKey(party, key)``."""
    key = checksummed(address, field="address")
    try:
        signer = signer_of(signing_key(domain, party=party, key=key), signature)
    except ValueError as error:
        raise InvalidRecord(f"signature: {error}", field="signature") from None
    if signer != key:
        raise InvalidRecord(f"signature: made by {signer}, not by {key}: it must be the key's EIP-712 signature of "
                            f"SigningKey(party={party!r}, key={key})", field="signature")
    live = next((found for found in list_keys(session, party=party) if found.revocation is None and found.address == key), None)
    if live is not None:
        return None, live
    return {"party": party, "key": key, "signature": _hex(signature), "chain_id": domain["chainId"],
            "contract": domain["verifyingContract"], "registered_at": _now()}, None


def revocation_body(session: Session, *, party: str, address: str) -> tuple[dict | None, SigningKey]:
    """The body of the revocation of ``party``'s key ``address`` (None when it is already revoked)."""
    key = checksummed(address, field="address")
    found = [item for item in list_keys(session, party=party) if item.address == key]
    if not found:
        raise NotFound(f"{key} is no signing key of {party}", field="address")
    live = next((item for item in found if item.revocation is None), None)
    if live is None:
        return None, found[-1]
    return {"party": party, "key": key, "revoked_at": _now()}, live


def list_keys(session: Session, *, party: str) -> list[SigningKey]:
    """``party``'s keys, oldest registration first, each with the revocation that ended it."""
    records = session.exec(_of_party(("registration", "revocation"), party).order_by(Record.id)).all()
    keys: list[SigningKey] = []
    for record in records:
        if record.record_type == "registration":
            keys.append(SigningKey(record, None))
            continue
        revoked = (parsed_body(record) or {}).get("key")
        live = next((index for index, item in enumerate(keys) if item.revocation is None and item.address == revoked), None)
        if live is not None:
            keys[live] = SigningKey(keys[live].record, record)
    return keys


SIGNATURE_POLICIES = ("optional", "required")


def policy_body(*, party: str, signatures: str) -> dict:
    """The body of a record setting ``party``'s signature policy: with ``required``, its unsigned
    events and transactions are refused."""
    if signatures not in SIGNATURE_POLICIES:
        raise InvalidRecord(f"signatures: one of {', '.join(SIGNATURE_POLICIES)}, not {signatures!r}", field="signatures")
    return {"party": party, "signatures": signatures, "set_at": _now()}


def signature_policy(session: Session, *, party: str) -> str:
    """``party``'s signature policy: its latest policy record's, ``optional`` without one."""
    latest = session.exec(_of_party(("policy",), party).order_by(Record.id.desc())).first()
    return str((parsed_body(latest) or {}).get("signatures")) if latest is not None else "optional"


def key_at(session: Session, *, party: str, address: str, moment: datetime) -> SigningKey | None:
    """The registration of ``address`` that made it a key of ``party`` at ``moment``, if any."""
    return next((item for item in list_keys(session, party=party) if item.address == address and item.valid_at(moment)), None)


def _of_party(record_types: tuple[str, ...], party: str):
    """``party``'s signing-key records of these types. The party is compared as an expression, not a
    column, so that no planner walks the party's index (every record the party ever stored, checked on
    each signed submission) instead of the few records of this kind."""
    return select(Record).where(Record.kind == RecordKind.SIGNING_KEY, Record.record_type.in_(record_types),
                                Record.party.concat("") == party)


def _hex(signature: str) -> str:
    return "0x" + signature.removeprefix("0x").lower()


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _now() -> str:
    return utcnow().isoformat().replace("+00:00", "Z")
