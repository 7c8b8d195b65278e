"""Does a stored row still say what its body says? The database half of verification and audits.

A record is anchored by its content hash, computed from its body. Every other column (type, time,
bizStep, disposition, locations, business id) and every search term is derived from that body too
(``service.ingest.candidates``), and analytics, queries and provenance select by them. So a row is intact
only if, derived again from the stored body, they are exactly what the database holds, and the
submitting party is one the body allows. Anything else is reported with the column at fault.

Deriving costs tens of microseconds per record (the event hash above all) and analytics check every
input record on every request, so what a body derives to is remembered (:class:`Derivations`, one per
process container), keyed by the SHA-256 of the exact stored text: any edit of the body changes the
key, and the memo is not in the database, so whoever edits rows cannot forge it.
"""

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from service.ingest.candidates import COLUMNS, Derived, Underivable, derive
from service.hashing import HashingError
from service.hashing.merkle import leaf_hash, leaf_value
from service.models import Record, RecordTerm
from service.timeutil import as_utc

Terms = frozenset[tuple[str, str]]
_CHUNK = 500


class RowMismatch(Exception):
    """A stored row that no longer agrees with its body; the message says where."""


@dataclass(frozen=True)
class _Derivation:
    """What is remembered of a body's derivation: enough to check a row, small enough to keep many."""

    content_hash: bytes
    row: bytes  # digest of the derived columns and terms (see _row_digest)
    parties: frozenset[str] | None


class Derivations:
    """What stored bodies derived to, remembered by the SHA-256 of their exact text (at most
    ``limit`` of them; then it starts afresh). One per process container (``Runtime.derivations``);
    a library call given none derives afresh."""

    def __init__(self, *, limit: int = 500_000) -> None:
        self.limit = limit
        self._known: dict[bytes, _Derivation] = {}

    def forget(self) -> None:
        """Forget every remembered derivation (the next check derives afresh, as after a restart)."""
        self._known.clear()

    def checked_content_hash(self, record: Record, terms: Terms) -> bytes:
        """The content hash of the record's stored body, once its row and ``terms`` are found to agree
        with that body; RowMismatch naming the first disagreement otherwise."""
        key = hashlib.sha256(f"{record.kind}\n{record.body}".encode()).digest()
        known = self._known.get(key)
        if known is None:
            known = self._remember(key, _derived(record))
        if "0x" + known.content_hash.hex() != record.content_hash:
            raise RowMismatch("the stored record no longer matches the hash it was anchored with")
        if known.parties is not None and record.party not in known.parties:
            raise RowMismatch(f"party {record.party!r} is not one the record names ({', '.join(sorted(known.parties))})")
        if _row_digest(record.record_type, record.business_id, record.occurred_at, _stored_columns(record), terms) != known.row:
            raise RowMismatch(_difference(_derived(record), record, terms))
        return known.content_hash

    def _remember(self, key: bytes, derived: Derived) -> _Derivation:
        if len(self._known) >= self.limit:
            self._known.clear()
        self._known[key] = known = _Derivation(
            content_hash=bytes.fromhex(derived.content_hash[2:]),
            row=_row_digest(derived.record_type, derived.business_id, derived.occurred_at, derived.columns, derived.terms),
            parties=derived.parties,
        )
        return known


def record_leaf(record: Record, content_hash: bytes, *, encoding: str) -> bytes:
    """The record's leaf hash under its batch's leaf encoding (ValueError when its salt does not fit)."""
    salt = bytes.fromhex(record.salt.removeprefix("0x")) if record.salt is not None else None
    return leaf_hash(leaf_value(content_hash, salt, encoding=encoding))


def stored_terms(session: Session, record_ids: Iterable[int]) -> dict[int, Terms]:
    """The terms stored for each of ``record_ids`` (empty for a record without any)."""
    ids = sorted(set(record_ids))
    found: dict[int, set[tuple[str, str]]] = {record_id: set() for record_id in ids}
    for start in range(0, len(ids), _CHUNK):
        rows = session.exec(select(RecordTerm.record_id, RecordTerm.name, RecordTerm.value)
                            .where(RecordTerm.record_id.in_(ids[start : start + _CHUNK])))
        for record_id, name, value in rows:
            found[record_id].add((name, value))
    return {record_id: frozenset(terms) for record_id, terms in found.items()}


def _derived(record: Record) -> Derived:
    try:
        return derive(record.kind, json.loads(record.body))
    except (ValueError, RecursionError, Underivable, HashingError) as error:  # a body edited by hand can be anything
        raise RowMismatch(f"the stored body no longer parses as a {record.kind}: {error}") from None


def _stored_columns(record: Record) -> tuple[str | None, ...]:
    return tuple(getattr(record, name) for name in COLUMNS)


def _row_digest(record_type: str, business_id: str, occurred_at: datetime | None, columns: tuple, terms: Terms) -> bytes:
    moment = as_utc(occurred_at).isoformat() if occurred_at is not None else None
    text = json.dumps([record_type, business_id, moment, list(columns), sorted(terms)], separators=(",", ":"))
    return hashlib.sha256(text.encode()).digest()


def _difference(derived: Derived, record: Record, terms: Terms) -> str:
    """Which stored column or term disagrees with the body (the first found)."""
    stored_moment = as_utc(record.occurred_at) if record.occurred_at is not None else None
    for name, stored, expected in (
        ("record_type", record.record_type, derived.record_type),
        ("business_id", record.business_id, derived.business_id),
        ("occurred_at", stored_moment, derived.occurred_at),
        *((name, getattr(record, name), derived.column(name)) for name in COLUMNS),
    ):
        if stored != expected:
            return f"column {name} is {_shown(stored)} but the body says {_shown(expected)}"
    extra, missing = sorted(terms - derived.terms), sorted(derived.terms - terms)
    if extra:
        return f"search term {extra[0][0]}={extra[0][1]!r} is not in the body"
    if missing:
        return f"search term {missing[0][0]}={missing[0][1]!r} of the body is missing"
    return "the stored columns disagree with the body"


def _shown(value: object) -> str:
    return value.isoformat() if isinstance(value, datetime) else repr(value)
