"""Storing records: EPCIS events and commercial transactions enter the ledger as pending.

A submission is all-or-nothing: everything is hashed and checked before anything is
written, and the caller's transaction commits the whole lot at once.
"""

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert
from sqlmodel import Session, select

from service.errors import Conflict, InvalidRecord, NotFound
from service.hashing import HashingError, content_hash, event_hash_id, events_of
from service.indexing import event_columns, event_terms, transaction_terms
from service.models import Record, RecordKind, RecordTerm


@dataclass(frozen=True)
class Stored:
    """A record as stored, and whether this submission created it or found it already there."""

    record: Record
    created: bool


@dataclass(frozen=True)
class _Candidate:
    kind: RecordKind
    record_type: str
    business_id: str
    body: str
    content_hash: str
    occurred_at: datetime | None
    terms: set[tuple[str, str]]
    columns: dict[str, str | None]


def store_events(session: Session, *, document: dict, party: str | None) -> list[Stored]:
    """Store every event of an EPCIS document (or a single event); resubmissions are idempotent."""
    candidates = []
    for index, event in enumerate(events_of(document)):
        try:
            hash_id = event_hash_id(event)
        except HashingError as error:
            raise InvalidRecord(f"event {index}: {error}", field=f"epcisBody.eventList[{index}]") from error
        candidates.append(
            _Candidate(
                kind=RecordKind.EPCIS_EVENT,
                record_type=event.get("type", "Event"),
                business_id=hash_id,
                body=canonical_text(event),
                content_hash=_hex(content_hash(kind=RecordKind.EPCIS_EVENT, body=event)),
                occurred_at=_parse_time(event.get("eventTime"), field=f"eventList[{index}].eventTime"),
                terms=event_terms(event),
                columns=event_columns(event),
            )
        )
    return _store(session, candidates=candidates, party=party)


def store_transactions(session: Session, *, transactions: Sequence[dict], party: str | None) -> list[Stored]:
    """Store commercial transactions (already validated by the caller), keyed by their business id."""
    candidates = [
        _Candidate(
            kind=RecordKind.TRANSACTION,
            record_type=transaction["kind"],
            business_id=transaction["id"],
            body=canonical_text(transaction),
            content_hash=_hex(content_hash(kind=RecordKind.TRANSACTION, body=transaction)),
            occurred_at=_parse_time(transaction.get("timestamp"), field=f"[{index}].timestamp"),
            terms=transaction_terms(transaction),
            columns={},
        )
        for index, transaction in enumerate(transactions)
    ]
    return _store(session, candidates=candidates, party=party)


def canonical_text(body: dict) -> str:
    """The stored JSON text: compact, key order kept, non-ASCII kept (it round-trips exactly)."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


def _store(session: Session, *, candidates: Iterable[_Candidate], party: str | None) -> list[Stored]:
    candidates = list(candidates)
    existing = _existing(session, candidates)
    results: list[Stored] = []
    fresh: dict[tuple[str, str], tuple[Record, set[tuple[str, str]]]] = {}
    for candidate in candidates:
        key = (candidate.kind, candidate.business_id)
        found = existing.get(key) or fresh.get(key, (None,))[0]
        if found is not None:
            if found.content_hash != candidate.content_hash:
                raise Conflict(
                    f"{candidate.kind} {candidate.business_id!r} already exists with different content",
                    field="id",
                )
            results.append(Stored(record=found, created=False))
            continue
        record = Record(
            kind=candidate.kind,
            record_type=candidate.record_type,
            business_id=candidate.business_id,
            party=party,
            body=candidate.body,
            content_hash=candidate.content_hash,
            occurred_at=candidate.occurred_at,
            **candidate.columns,
        )
        fresh[key] = (record, candidate.terms)
        results.append(Stored(record=record, created=True))
    session.add_all(record for record, _ in fresh.values())
    session.flush()
    rows = [{"record_id": record.id, "name": name, "value": value} for record, terms in fresh.values() for name, value in terms]
    if rows:
        session.execute(insert(RecordTerm), rows)
    return results


def _existing(session: Session, candidates: list[_Candidate]) -> dict[tuple[str, str], Record]:
    found: dict[tuple[str, str], Record] = {}
    for kind in {candidate.kind for candidate in candidates}:
        ids = [candidate.business_id for candidate in candidates if candidate.kind == kind]
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            rows = session.exec(select(Record).where(Record.kind == kind, Record.business_id.in_(chunk)))
            found.update({(row.kind, row.business_id): row for row in rows})
    return found


def _parse_time(value: object, *, field: str) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as error:
        raise InvalidRecord(f"{field}: not an ISO 8601 timestamp: {value!r}", field=field) from error


def _hex(digest: bytes) -> str:
    return "0x" + digest.hex()


def find_record(
    session: Session, *, kind: RecordKind, record_id: int | None = None, business_id: str | None = None, party: str | None
) -> Record:
    """A record by id or business id, if ``party`` may see it (None: any party); NotFound otherwise.

    A record of another party is reported as missing, not forbidden, so ids leak nothing.
    """
    statement = select(Record).where(Record.kind == kind)
    statement = statement.where(Record.id == record_id) if record_id is not None else statement.where(Record.business_id == business_id)
    record = session.exec(statement).first()
    if record is None or (party is not None and record.party != party):
        raise NotFound(f"no {kind} {record_id if record_id is not None else business_id!r}", field="id")
    return record


def missing_references(session: Session, *, ids: Iterable[str]) -> set[str]:
    """The ids among ``ids`` that name no stored record (transaction id or event hash ID)."""
    wanted = set(ids)
    found: set[str] = set()
    chunk_size = 500
    ordered = sorted(wanted)
    for start in range(0, len(ordered), chunk_size):
        chunk = ordered[start : start + chunk_size]
        found.update(session.exec(select(Record.business_id).where(Record.business_id.in_(chunk))))
    return wanted - found
