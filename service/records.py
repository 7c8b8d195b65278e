"""Storing records: EPCIS events and commercial transactions enter the ledger as pending.

A submission is all-or-nothing: everything is hashed and checked before anything is
written, and the caller's transaction commits the whole lot at once.
"""

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from sqlalchemy import Connection, bindparam, func, insert
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, select

from service.errors import Conflict, InvalidRecord, NotFound
from service.hashing import HashingError, content_hash, event_hash_id, events_of
from service.hashing.epcis import HASH_ID_PREFIX
from service.indexing import event_columns, event_terms, transaction_terms
from service.models import (
    Batch,
    BatchStatus,
    Record,
    RecordKind,
    RecordLeaf,
    RecordStatus,
    RecordTerm,
)
from service.timeutil import utcnow


@dataclass(frozen=True)
class RecordRef:
    """What a submission answers about each stored record."""

    id: int
    kind: RecordKind
    record_type: str
    business_id: str
    status: RecordStatus


@dataclass(frozen=True)
class Stored:
    """A record as stored, and whether this submission created it or found it already there."""

    record: RecordRef
    created: bool


@dataclass(frozen=True)
class Candidate:
    """A record hashed and indexed, ready to store (computing this needs no database)."""

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
    return store_candidates(session, candidates=prepare_events(document), party=party)


@dataclass(frozen=True)
class Submission:
    """One caller's records, prepared, for :func:`store_submissions`; ``references`` must name
    stored records (checked in the transaction that stores these)."""

    candidates: list[Candidate]
    party: str | None
    references: frozenset[str] = frozenset()


def store_submissions(session: Session, submissions: Sequence[Submission]) -> list[list[Stored]]:
    """Store several callers' submissions with one statement per table per party (group commit).

    The outcome for each is what storing them one after the other would give: a record repeated
    across submissions is created by the first and found by the others.
    """
    by_party: dict[str | None, list[int]] = {}
    for index, submission in enumerate(submissions):
        by_party.setdefault(submission.party, []).append(index)
    results: list[list[Stored]] = [[] for _ in submissions]
    for party, indexes in by_party.items():
        references = frozenset().union(*(submissions[i].references for i in indexes))
        missing = missing_references(session, ids=references) if references else set()
        if missing:  # or stored by another submission of this group: alone, each is then judged by itself
            raise InvalidRecord(f"references name no stored record: {', '.join(sorted(missing))}", field="references")
        stored = store_candidates(
            session, candidates=[c for i in indexes for c in submissions[i].candidates], party=party
        )
        start = 0
        for i in indexes:
            results[i] = stored[start : start + len(submissions[i].candidates)]
            start += len(submissions[i].candidates)
    return results


def prepare_events(document: dict) -> list[Candidate]:
    """Hash and index every event of a document: the CPU-bound half of :func:`store_events`."""
    candidates = []
    for index, event in enumerate(events_of(document)):
        try:
            hash_id = event_hash_id(event)
        except HashingError as error:
            raise InvalidRecord(f"event {index}: {error}", field=f"epcisBody.eventList[{index}]") from error
        candidates.append(
            Candidate(
                kind=RecordKind.EPCIS_EVENT,
                record_type=event.get("type", "Event"),
                business_id=hash_id,
                body=canonical_text(event),
                content_hash="0x" + hash_id[len(HASH_ID_PREFIX) : len(HASH_ID_PREFIX) + 64],
                occurred_at=_parse_time(event.get("eventTime"), field=f"eventList[{index}].eventTime"),
                terms=event_terms(event),
                columns=event_columns(event),
            )
        )
    return candidates


def store_transactions(session: Session, *, transactions: Sequence[dict], party: str | None) -> list[Stored]:
    """Store commercial transactions (already validated by the caller), keyed by their business id."""
    return store_candidates(session, candidates=prepare_transactions(transactions), party=party)


def prepare_transactions(transactions: Sequence[dict]) -> list[Candidate]:
    """Hash and index validated transactions: the part of :func:`store_transactions` that needs no database."""
    return [
        Candidate(
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


def parsed_body(record: Record) -> dict | None:
    """The stored body, or None when an edited row no longer parses as a JSON object."""
    try:
        body = json.loads(record.body)
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def canonical_text(body: dict) -> str:
    """The stored JSON text: compact, key order kept, non-ASCII kept (it round-trips exactly)."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


def store_candidates(session: Session, *, candidates: Iterable[Candidate], party: str | None) -> list[Stored]:
    """Insert what is new in one statement per table, answer for what already existed.

    New records are inserted with ``ON CONFLICT DO NOTHING ... RETURNING``, so a fresh submission
    (the usual case) needs no lookup; only the records it did not insert are read back. A record
    already stored with other content is a conflict, which rolls the whole submission back; so is
    one that a concurrent submission stored first with other content.
    """
    candidates = list(candidates)
    unique = {(candidate.kind, candidate.business_id): candidate for candidate in reversed(candidates)}
    connection = session.connection()
    now = utcnow()
    inserted = _insert_new(connection, [_row(candidate, party=party, now=now) for candidate in unique.values()])
    known = _stored_refs(session, [key for key in unique if key not in inserted])
    for key, (_, stored_hash) in known.items():
        if stored_hash != unique[key].content_hash:
            raise Conflict(f"{key[0]} {key[1]!r} already exists with different content", field="id")
    _insert_rows(connection, "record_leaf", [(record_id,) for record_id in inserted.values()])
    terms = [(record_id, name, value) for key, record_id in inserted.items() for name, value in unique[key].terms]
    _insert_rows(connection, "record_term", terms)
    refs = {ref_key: ref for ref_key, (ref, _) in known.items()} | {
        key: RecordRef(record_id, key[0], unique[key].record_type, key[1], RecordStatus.PENDING)
        for key, record_id in inserted.items()
    }
    answered: set[tuple[RecordKind, str]] = set()
    results = []
    for candidate in candidates:  # a repeat within the submission counts as "already there"
        key = (candidate.kind, candidate.business_id)
        results.append(Stored(record=refs[key], created=key in inserted and key not in answered))
        answered.add(key)
    return results


_TABLES = {"record": Record.__table__, "record_leaf": RecordLeaf.__table__, "record_term": RecordTerm.__table__}
#: Columns written by this module, per table, in the order of the row tuples.
_COLUMNS = {
    "record": (
        "kind", "record_type", "business_id", "party", "body", "content_hash", "occurred_at",
        "biz_step", "disposition", "biz_location", "read_point", "created_at",
    ),
    "record_leaf": ("record_id",),
    "record_term": ("record_id", "name", "value"),
}


def _row(candidate: Candidate, *, party: str | None, now: datetime) -> tuple:
    columns = candidate.columns
    return (
        candidate.kind, candidate.record_type, candidate.business_id, party, candidate.body, candidate.content_hash,
        candidate.occurred_at, columns.get("biz_step"), columns.get("disposition"), columns.get("biz_location"),
        columns.get("read_point"), now,
    )


def _insert_new(connection: Connection, rows: list[tuple]) -> dict[tuple[RecordKind, str], int]:
    """Insert the records whose (kind, business id) is not stored yet; the ids of those inserted."""
    result = _insert_rows(connection, "record", rows)
    return {(RecordKind(row.kind), row.business_id): row.id for row in result} if result is not None else {}


def _insert_rows(connection: Connection, table: str, rows: list[tuple]):
    """Insert ``rows`` (tuples in ``_COLUMNS[table]`` order); for ``record``, the result of ``RETURNING``.

    On PostgreSQL one ``INSERT ... SELECT FROM unnest(column arrays)`` per table: a single statement
    for the whole submission, where an executemany runs the insert once per row (per 1,000 events
    that cost more server time than everything else of the insert). Elsewhere SQLAlchemy's batched
    multi-row ``VALUES``.
    """
    if not rows:
        return None
    dialect = connection.dialect.name
    if dialect == "postgresql":
        parameters = dict(zip(_COLUMNS[table], zip(*rows), strict=True))
    else:
        parameters = [dict(zip(_COLUMNS[table], row)) for row in rows]
    return connection.execute(_bulk_insert(dialect, table), parameters)


@cache
def _bulk_insert(dialect: str, table_name: str):
    """The statement of :func:`_insert_rows`, built once per dialect and table and run as Core, like
    every statement of this path: for a single event, building statements and the ORM's
    per-statement work cost more than the SQL itself. Records already stored are skipped
    (``ON CONFLICT DO NOTHING`` on PostgreSQL and SQLite), and their inserted ids returned."""
    table = _TABLES[table_name]
    columns = _COLUMNS[table_name]
    if dialect == "postgresql":
        arrays = func.unnest(*(bindparam(name, type_=ARRAY(table.c[name].type)) for name in columns))
        source = arrays.table_valued(*columns).render_derived()
        statement = postgresql_insert(table).from_select(columns, select(*(source.c[name] for name in columns)))
    elif dialect == "sqlite":
        statement = sqlite_insert(table)
    else:
        statement = insert(table)
    if table_name != "record":
        return statement
    if dialect in ("postgresql", "sqlite"):
        statement = statement.on_conflict_do_nothing(index_elements=["kind", "business_id"])
    return statement.returning(table.c.id, table.c.kind, table.c.business_id)


#: By business id alone, so that the planner cannot prefer the (kind, time) index on a table that
#: grew faster than its statistics; the kind is checked by the caller. ``IN`` lists of at most 500
#: ids: PostgreSQL plans ``= ANY(array)`` as a sequential scan on a table without statistics.
_record, _leaf, _batch = Record.__table__, RecordLeaf.__table__, Batch.__table__
_STORED_REFS = (
    select(_record.c.id, _record.c.kind, _record.c.record_type, _record.c.business_id, _batch.c.status.label("batch_status"),
           _record.c.content_hash)
    .select_from(_record.outerjoin(_leaf, _leaf.c.record_id == _record.c.id).outerjoin(_batch, _batch.c.id == _leaf.c.batch_id))
    .where(_record.c.business_id.in_(bindparam("ids", expanding=True)))
)
_LOOKUP_CHUNK = 500


def _stored_refs(session: Session, keys: list[tuple[RecordKind, str]]) -> dict[tuple[RecordKind, str], tuple[RecordRef, str]]:
    """The stored records among ``keys``, with their content hashes."""
    if not keys:
        return {}
    wanted = set(keys)
    return {
        (row.kind, row.business_id): (RecordRef(row.id, row.kind, row.record_type, row.business_id, _status(row.batch_status)), row.content_hash)
        for row in _rows_by_business_id(session, {business_id for _, business_id in keys})
        if (row.kind, row.business_id) in wanted
    }


def _rows_by_business_id(session: Session, ids: set[str]) -> Iterator:
    """Rows of ``_STORED_REFS`` for the records whose business id is among ``ids``, any kind."""
    ordered = sorted(ids)
    connection = session.connection()
    for start in range(0, len(ordered), _LOOKUP_CHUNK):
        yield from connection.execute(_STORED_REFS, {"ids": ordered[start : start + _LOOKUP_CHUNK]})


def _status(batch_status: BatchStatus | None) -> RecordStatus:
    return RecordStatus.ANCHORED if batch_status == BatchStatus.ANCHORED else RecordStatus.PENDING


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
    if record_id is not None:
        record = session.get(Record, record_id)
    else:  # by business id alone, for the (business_id, kind) index; the kind is checked below
        record = next((r for r in session.exec(select(Record).where(Record.business_id == business_id)) if r.kind == kind), None)
    if record is None or record.kind != kind or (party is not None and record.party != party):
        raise NotFound(f"no {kind} {record_id if record_id is not None else business_id!r}", field="id")
    return record


def missing_references(session: Session, *, ids: Iterable[str]) -> set[str]:
    """The ids among ``ids`` that name no stored record (transaction id or event hash ID)."""
    wanted = set(ids)
    return wanted - {row.business_id for row in _rows_by_business_id(session, wanted)}
