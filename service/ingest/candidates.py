"""What a record is made of: its body, and everything the ledger stores beside it, derived from the body.

A record's search columns (type, time, bizStep, disposition, locations), business id, terms and
content hash are all functions of its body, computed here once at capture. Verification and batch
audits derive them again from the stored body and compare with what the database holds: a column
that no hash protects would otherwise let someone who edits the database move a sale in time,
relabel an order as a sale, or turn a shipment into a retail sale, and every analytic built on those
columns would move while each record still verified.

Pure functions only: no database. ``service.ingest.records`` stores candidates; ``service.verify.verification``
compares stored rows with :func:`derive`.
"""

import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal, get_args
from urllib.parse import quote

from service.errors import InvalidRecord
from service.hashing import HashingError, declares_error, event_hash_id, events_of, jcs_digest
from service.hashing.canonical import EVENT_TYPES
from service.hashing.epcis import HASH_ID_PREFIX
from service.ingest.indexing import (
    declaration_terms,
    event_columns,
    event_terms,
    grant_terms,
    label_terms,
    transaction_terms,
)
from service.ingest.master_data import Edge
from service.models import Receipt, Record, RecordKind, TermName

TransactionKind = Literal["order", "sale", "invoice", "payment"]
TRANSACTION_KINDS = get_args(TransactionKind)
SALT_BYTES = 32
#: Between the Event Hash ID and the declaration time in an error declaration's business id.
DECLARATION_MARK = "#errorDeclaration@"
#: The search columns of an event; every other kind leaves them empty.
COLUMNS = ("biz_step", "disposition", "biz_location", "read_point")


class Underivable(ValueError):
    """A body that does not have the shape its record kind requires (an edited row, say)."""


@dataclass(frozen=True)
class Derived:
    """Everything stored about a record besides its body and salt, as the body dictates.

    ``parties`` are the submitters the body allows (a transaction's seller or buyer, a label's
    lender, a grant's owner); None where the body does not name its submitter (EPCIS events).
    """

    kind: RecordKind
    record_type: str
    business_id: str
    content_hash: str
    occurred_at: datetime | None
    columns: tuple[str | None, ...]
    terms: frozenset[tuple[str, str]]
    parties: frozenset[str] | None

    def column(self, name: str) -> str | None:
        """The derived value of one of :data:`COLUMNS`."""
        return self.columns[COLUMNS.index(name)]


@dataclass(frozen=True)
class Candidate:
    """A record ready to store: its stored text, a fresh salt, and what derives from its body."""

    derived: Derived
    body: str
    salt: str


@dataclass(frozen=True)
class Reference:
    """A transaction's citation of another record, with what must agree between the two.

    ``party`` is whose record is cited (the citing party's own unless the citation names another);
    ``currency``, ``seller`` and ``buyer`` are the citing transaction's: a cited transaction must
    have the same (a payment in USD cannot settle a EUR invoice, nor one between other parties).
    """

    field: str
    party: str
    business_id: str
    currency: str
    seller: str
    buyer: str


@dataclass(frozen=True)
class Source:
    """A submitted document exactly as sent (an XML document), kept beside the records it became;
    ``positions`` are the event positions in it of the submission's candidates, in their order
    (None: every event, in document order)."""

    content: bytes
    media_type: str
    positions: tuple[int, ...] | None = None


@dataclass(frozen=True)
class SubmissionSignature:
    """A supplier's EIP-712 signature of a submission (``service.ingest.validation.signatures``): the full
    typed data it signed, the signature and the address it recovers to. Whether that address is a key
    of the party at that time is checked in the transaction that stores the submission."""

    typed_data: dict
    signature: str
    signer: str


@dataclass(frozen=True)
class Submission:
    """One caller's records, prepared for ``service.ingest.records.store_submissions``; ``references`` must
    name records the caller may see (checked in the transaction that stores these); ``source`` is the
    document they came from when it is kept (``service.ingest.sources``)."""

    candidates: list[Candidate]
    party: str
    references: tuple[Reference, ...] = field(default=())
    hierarchy: tuple[Edge, ...] = field(default=())  # location edges of the document's master data
    source: Source | None = None  # the submitted XML, kept beside the records
    signature: SubmissionSignature | None = None  # the supplier's signature of the whole submission
    receipt: Receipt | None = None  # the operator's signed receipt, kept with the records (their ids added)


@dataclass(frozen=True)
class Prepared:
    """A captured document ready to store: its events' candidates and its master data's location edges."""

    candidates: list[Candidate]
    hierarchy: tuple[Edge, ...] = ()


def derive(kind: RecordKind | str, body: object) -> Derived:
    """Columns, terms, business id and content hash of a body of ``kind``; ``Underivable`` (or
    ``HashingError`` for an event that cannot be hashed) when the body does not fit its kind."""
    if not isinstance(body, dict):
        raise Underivable(f"a {kind} body must be a JSON object")
    kind = RecordKind(kind)
    try:
        return _DERIVERS[kind](body)
    except (KeyError, TypeError, AttributeError) as error:  # a field of the wrong shape
        raise Underivable(f"a {kind} body without the shape of one: {error!r}") from None


def _event(body: dict) -> Derived:
    if body.get("type") not in EVENT_TYPES:
        raise Underivable(f"type: {body.get('type')!r} is not an EPCIS event type")
    hash_id = event_hash_id(body)
    columns = event_columns(body)
    business_id, digest, terms = hash_id, hash_id[len(HASH_ID_PREFIX) : len(HASH_ID_PREFIX) + 64], event_terms(body)
    if declares_error(body):
        declaration = body["errorDeclaration"]
        business_id, digest = declaration_id(hash_id, declaration), jcs_digest(body).hex()
        declared_at = _time(declaration["declarationTime"], field="errorDeclaration.declarationTime")
        terms |= declaration_terms(hash_id, declaration, declared_at)
    return Derived(
        kind=RecordKind.EPCIS_EVENT, record_type=body["type"], business_id=business_id, content_hash="0x" + digest,
        occurred_at=_time(body.get("eventTime"), field="eventTime"),
        columns=tuple(columns[name] for name in COLUMNS), terms=frozenset(terms), parties=None,
    )


def declaration_id(hash_id: str, declaration: object) -> str:
    """An error declaration's business id: the Event Hash ID it declares erroneous and the declaration's
    time, so it never collides with the original (same hash ID), the identical declaration sent again
    is the same record, and a later declaration of the same event is another."""
    if not isinstance(declaration, dict):
        raise Underivable("errorDeclaration: must be a JSON object")
    return f"{hash_id}{DECLARATION_MARK}{_text(declaration, 'declarationTime')}"


def event_hash_id_of(business_id: str) -> str:
    """The Event Hash ID in an event's business id (an error declaration's is its original's)."""
    return business_id.split(DECLARATION_MARK, 1)[0]


def _transaction(body: dict) -> Derived:
    if body.get("kind") not in TRANSACTION_KINDS:
        raise Underivable(f"kind: {body.get('kind')!r} is not one of {', '.join(TRANSACTION_KINDS)}")
    return _jcs(RecordKind.TRANSACTION, body, record_type=body["kind"], business_id=_text(body, "id"),
                occurred_at=_time(body["timestamp"], field="timestamp"), terms=transaction_terms(body),
                parties={_text(body, "seller"), _text(body, "buyer")})


def _label(body: dict) -> Derived:
    if not isinstance(body.get("fraud"), bool):
        raise Underivable("fraud: a label says true or false")
    return _jcs(RecordKind.LABEL, body, record_type="label", business_id=label_id(body),
                occurred_at=_time(body["labelled_at"], field="labelled_at"), terms=label_terms(body),
                parties={_text(body, "lender")})


def _grant(body: dict) -> Derived:
    if "grantee" in body:
        record_type, business_id, at = "grant", grant_id(body), "granted_at"
    else:
        record_type, business_id, at = "revocation", revocation_id(body), "revoked_at"
    return _jcs(RecordKind.GRANT, body, record_type=record_type, business_id=business_id,
                occurred_at=_time(body[at], field=at), terms=grant_terms(body), parties={_text(body, "owner")})


def _signing_key(body: dict) -> Derived:
    """A party's registration of a signing key (``registered_at``), its revocation (``revoked_at``) or
    its signature policy (``signatures``, ``set_at``): what it names and the time make the business id,
    so a key registered again after a revocation is a new record."""
    if "signatures" in body:
        record_type, at, subject = "policy", "set_at", _text(body, "signatures")
    else:
        record_type, at = ("registration", "registered_at") if "registered_at" in body else ("revocation", "revoked_at")
        subject = _text(body, "key")
    return _jcs(RecordKind.SIGNING_KEY, body, record_type=record_type,
                business_id=f"signing-key-{record_type}:{subject}@{_text(body, at)}",
                occurred_at=_time(body[at], field=at), terms=set(), parties={_text(body, "party")})


_DERIVERS = {RecordKind.EPCIS_EVENT: _event, RecordKind.TRANSACTION: _transaction, RecordKind.LABEL: _label,
             RecordKind.GRANT: _grant, RecordKind.SIGNING_KEY: _signing_key}


def _jcs(kind: RecordKind, body: dict, *, record_type: str, business_id: str, occurred_at: datetime | None,
         terms: set[tuple[str, str]], parties: set[str]) -> Derived:
    try:
        digest = jcs_digest(body)
    except HashingError as error:
        raise Underivable(str(error)) from None
    return Derived(kind=kind, record_type=record_type, business_id=business_id, content_hash="0x" + digest.hex(),
                   occurred_at=occurred_at, columns=(None,) * len(COLUMNS), terms=frozenset(terms),
                   parties=frozenset(parties))


def label_id(body: dict) -> str:
    """A label's business id: the lender, the labelled transaction (its submitter and id) and the time.

    Labels recorded before transactions were scoped per party name no submitter (the segment is
    empty); migration 0003 gave them ids of this form.
    """
    transaction_party = body.get("party", "")
    if not isinstance(transaction_party, str):
        raise Underivable("party: must be a string")
    return (f"label:{quote(_text(body, 'lender'), safe='')}:{quote(transaction_party, safe='')}:"
            f"{quote(_text(body, 'transaction'), safe='')}@{_text(body, 'labelled_at')}")


def grant_id(body: dict) -> str:
    """A grant's business id: whom it names and when."""
    return f"grant:{quote(_text(body, 'grantee'), safe='')}@{_text(body, 'granted_at')}"


def revocation_id(body: dict) -> str:
    """A revocation's business id: the grant it withdraws."""
    return f"revocation:{_text(body, 'grant')}"


def _text(body: dict, name: str) -> str:
    value = body[name]
    if not isinstance(value, str) or not value:
        raise Underivable(f"{name}: must be a non-empty string")
    return value


def _time(value: object, *, field: str) -> datetime | None:
    """A body's timestamp in UTC (None when absent); ``Underivable`` when it is not ISO 8601 with an offset."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        return moment.astimezone(UTC) if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    except (ValueError, OverflowError):
        raise Underivable(f"{field}: not an ISO 8601 timestamp within years 1-9999 in UTC: {value!r}") from None


def new_salt() -> str:
    """32 random bytes (hex) for a new record's leaf: no two leaves alike, and a leaf reveals nothing
    about a guessed record."""
    return "0x" + secrets.token_bytes(SALT_BYTES).hex()


def candidate(kind: RecordKind, body: dict, *, field: str) -> Candidate:
    """A candidate of a validated ``body``; InvalidRecord naming ``field`` if it cannot be derived."""
    try:
        derived = derive(kind, body)
    except (Underivable, HashingError) as error:
        raise InvalidRecord(f"{field}: {error}", field=field) from error
    return Candidate(derived=derived, body=stored_text(body), salt=new_salt())


def prepare_events(document: dict) -> list[Candidate]:
    """A candidate per event of a (validated) EPCIS document or single event, in document order."""
    return [candidate(RecordKind.EPCIS_EVENT, event, field=f"epcisBody.eventList[{index}]")
            for index, event in enumerate(events_of(document))]


def prepare_transactions(transactions: Sequence[dict]) -> list[Candidate]:
    """A candidate per (validated) transaction."""
    return [candidate(RecordKind.TRANSACTION, transaction, field=f"[{index}]") for index, transaction in enumerate(transactions)]


def stored_text(body: dict) -> str:
    """The text a body is stored as: compact, key order kept, non-ASCII kept (it round-trips exactly)."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)
