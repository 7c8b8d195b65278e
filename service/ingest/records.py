"""Storing records: EPCIS events, commercial transactions, labels and grants enter the ledger as pending.

A submission is all-or-nothing: everything is hashed and checked before anything is written
(``service.ingest.candidates``), and the caller's transaction commits the whole lot at once. A business id
belongs to the party that recorded it: two suppliers sending the same event, or numbering invoices
alike, each get their own record, and no answer tells one about the other's.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam
from sqlmodel import Session, select

from service.access.viewer import Viewer, granting_parties
from service.ingest.bulk import insert_rows
from service.ingest.candidates import Candidate, Reference, Submission
from service.ingest.master_data import store_hierarchy
from service.ingest.signatures import SIGNABLE, check_signer, check_unsigned, keep_signature
from service.ingest.sources import keep_source
from service.models.record import parsed_body
from service.errors import Conflict, InvalidRecord, NotFound
from service.models import (
    Batch,
    BatchStatus,
    Receipt,
    Record,
    RecordKind,
    RecordLeaf,
    RecordStatus,
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


def store_submissions(session: Session, submissions: Sequence[Submission]) -> list[list[Stored]]:
    """Store several callers' submissions with one statement per table per party (group commit).

    The outcome for each is what storing them one after the other would give: a record repeated
    across submissions is created by the first and found by the others; the same business id with
    other content is a conflict, whichever submission of the group carries it.
    """
    by_party: dict[str, list[int]] = {}
    for index, submission in enumerate(submissions):
        by_party.setdefault(submission.party, []).append(index)
    results: list[list[Stored]] = [[] for _ in submissions]
    for party, indexes in by_party.items():
        references = [reference for i in indexes for reference in submissions[i].references]
        if references:  # a reference to a record stored by another submission of this group fails here: alone, each
            # submission is then judged by itself (service.ingest.group_commit)
            viewer = Viewer(party=party, owners=granting_parties(session, grantee=party))
            check_references(session, references=references, viewer=viewer)
        for i in indexes:
            if submissions[i].signature is not None:
                check_signer(session, submissions[i].signature, party=party)
        if any(submissions[i].signature is None and any(item.derived.kind in SIGNABLE for item in submissions[i].candidates)
               for i in indexes):
            check_unsigned(session, party=party)
        store_hierarchy(session, (edge for i in indexes for edge in submissions[i].hierarchy), party=party)
        stored = store_candidates(
            session, candidates=[c for i in indexes for c in submissions[i].candidates], party=party
        )
        start = 0
        for i in indexes:
            results[i] = stored[start : start + len(submissions[i].candidates)]
            start += len(submissions[i].candidates)
            if submissions[i].source is not None:
                keep_source(session, submissions[i].source, party=party,
                            stored=[(item.record.id, item.created) for item in results[i]])
            if submissions[i].signature is not None:
                keep_signature(session, submissions[i].signature, party=party, record_ids=[item.record.id for item in results[i]],
                               content_hashes=[candidate.derived.content_hash for candidate in submissions[i].candidates])
            if submissions[i].receipt is not None:
                keep_receipt(session, submissions[i].receipt, record_ids=[item.record.id for item in results[i]])
    return results


def keep_receipt(session: Session, receipt: Receipt, *, record_ids: list[int]) -> None:
    """Keep a signed receipt with the ids of the records it covers (a copy: a group commit that fails
    stores its submissions again one by one, each in a new transaction)."""
    session.add(Receipt(**receipt.model_dump(exclude={"id", "record_ids"}), record_ids=record_ids))


def store_candidates(session: Session, *, candidates: Iterable[Candidate], party: str) -> list[Stored]:
    """Insert what is new in one statement per table, answer for what ``party`` already recorded.

    New records are inserted with ``ON CONFLICT DO NOTHING ... RETURNING``, so a fresh submission
    (the usual case) needs no lookup; only the records it did not insert are read back. A business
    id the party already recorded with other content is a conflict, which rolls the whole submission
    back; so is one given twice with different contents, or one that a concurrent submission stored
    first with other content.
    """
    candidates = list(candidates)
    unique: dict[tuple[RecordKind, str], Candidate] = {}
    for candidate in candidates:
        first = unique.setdefault(_key(candidate), candidate)
        if first.derived.content_hash != candidate.derived.content_hash:
            raise Conflict(f"{_describe(_key(candidate))} is submitted twice with different content", field="id")
    connection = session.connection()
    now = utcnow()
    inserted = _insert_new(connection, [_row(candidate, party=party, now=now) for candidate in unique.values()])
    known = _stored_refs(session, [key for key in unique if key not in inserted], party=party)
    for key, (_, stored_hash) in known.items():
        if stored_hash != unique[key].derived.content_hash:
            raise Conflict(f"{_describe(key)} already exists with different content", field="id")
    insert_rows(connection, "record_leaf", [(record_id,) for record_id in inserted.values()])
    terms = [(record_id, name, value) for key, record_id in inserted.items() for name, value in unique[key].derived.terms]
    insert_rows(connection, "record_term", terms)
    refs = {ref_key: ref for ref_key, (ref, _) in known.items()} | {
        key: RecordRef(record_id, key[0], unique[key].derived.record_type, key[1], RecordStatus.PENDING)
        for key, record_id in inserted.items()
    }
    answered: set[tuple[RecordKind, str]] = set()
    results = []
    for candidate in candidates:  # a repeat within the submission counts as "already there"
        key = _key(candidate)
        results.append(Stored(record=refs[key], created=key in inserted and key not in answered))
        answered.add(key)
    return results


def _key(candidate: Candidate) -> tuple[RecordKind, str]:
    return candidate.derived.kind, candidate.derived.business_id


def _describe(key: tuple[RecordKind, str]) -> str:
    kind, business_id = key
    return f"{kind.replace('_', ' ')} {business_id!r}"


def _row(candidate: Candidate, *, party: str, now: datetime) -> tuple:
    derived = candidate.derived
    return (
        derived.kind, derived.record_type, derived.business_id, party, candidate.body, derived.content_hash,
        candidate.salt, derived.occurred_at, *derived.columns, now,
    )


def _insert_new(connection: Connection, rows: list[tuple]) -> dict[tuple[RecordKind, str], int]:
    """Insert the records whose (business id, kind) the party has not stored yet; the ids of those inserted."""
    result = insert_rows(connection, "record", rows)
    return {(RecordKind(row.kind), row.business_id): row.id for row in result} if result is not None else {}


#: By business id (and party), so that the planner cannot prefer the (kind, time) index on a table
#: that grew faster than its statistics; the kind is checked by the caller. ``IN`` lists of at most
#: 500 ids: PostgreSQL plans ``= ANY(array)`` as a sequential scan on a table without statistics.
_record, _leaf, _batch = Record.__table__, RecordLeaf.__table__, Batch.__table__
_STORED_REFS = (
    select(_record.c.id, _record.c.kind, _record.c.record_type, _record.c.business_id, _batch.c.status.label("batch_status"),
           _record.c.content_hash)
    .select_from(_record.outerjoin(_leaf, _leaf.c.record_id == _record.c.id).outerjoin(_batch, _batch.c.id == _leaf.c.batch_id))
    .where(_record.c.business_id.in_(bindparam("ids", expanding=True)), _record.c.party == bindparam("party"))
)
_LOOKUP_CHUNK = 500


def _stored_refs(session: Session, keys: list[tuple[RecordKind, str]], *, party: str) -> dict[tuple[RecordKind, str], tuple[RecordRef, str]]:
    """The records among ``keys`` that ``party`` stored, with their content hashes."""
    if not keys:
        return {}
    wanted = set(keys)
    ordered = sorted({business_id for _, business_id in keys})
    connection = session.connection()
    rows = (row for start in range(0, len(ordered), _LOOKUP_CHUNK)
            for row in connection.execute(_STORED_REFS, {"ids": ordered[start : start + _LOOKUP_CHUNK], "party": party}))
    return {
        (row.kind, row.business_id): (RecordRef(row.id, row.kind, row.record_type, row.business_id, _status(row.batch_status)), row.content_hash)
        for row in rows
        if (row.kind, row.business_id) in wanted
    }


def _status(batch_status: BatchStatus | None) -> RecordStatus:
    return RecordStatus.ANCHORED if batch_status == BatchStatus.ANCHORED else RecordStatus.PENDING


def find_record(
    session: Session, *, kind: RecordKind, viewer: Viewer, record_id: int | None = None, business_id: str | None = None,
    submitter: str | None = None,
) -> Record:
    """A record ``viewer`` may read, by id, or by business id (and ``submitter`` where several parties
    recorded that id); NotFound otherwise, so that ids leak nothing.

    By business id the viewer's own record comes first; another party's is found when it is the only
    one the viewer may read, else ``submitter`` must say whose (Conflict names the candidates, all of
    which the viewer may read).
    """
    statement = select(Record).where(Record.kind == kind, viewer.records(kind))
    if record_id is not None:
        statement = statement.where(Record.id == record_id)
    else:
        statement = statement.where(Record.business_id == business_id)
    if submitter is not None:
        statement = statement.where(Record.party == submitter)
    found = session.exec(statement.order_by(Record.id).limit(50)).all()
    own = [record for record in found if record.party == viewer.party]
    if own or len(found) == 1:
        return (own or found)[0]
    if not found:
        raise NotFound(f"no {kind.replace('_', ' ')} {record_id if record_id is not None else business_id!r}", field="id")
    parties = ", ".join(sorted({record.party for record in found}))
    raise Conflict(f"several parties recorded {kind.replace('_', ' ')} {business_id!r} ({parties}): say whose with ?submitter=",
                   field="submitter")


def check_references(session: Session, *, references: Iterable[Reference], viewer: Viewer) -> None:
    """Every reference names a record ``viewer`` may read (a transaction or an event), and a cited
    transaction agrees with the citing one in currency, seller and buyer; InvalidRecord naming the
    reference otherwise (a record the viewer may not read is reported like a missing one)."""
    for reference in references:
        cited = session.exec(
            select(Record).where(Record.business_id == reference.business_id, Record.party == reference.party,
                                 Record.kind.in_([RecordKind.TRANSACTION, RecordKind.EPCIS_EVENT]), viewer.records())
            .order_by(Record.kind.desc()).limit(1)
        ).first()
        if cited is None:
            raise InvalidRecord(f"{reference.field}: no record {reference.business_id!r} of {reference.party!r} that you may see",
                                field=reference.field)
        body = parsed_body(cited) or {}
        if cited.kind == RecordKind.TRANSACTION:
            for name in ("currency", "seller", "buyer"):
                if body.get(name) != getattr(reference, name):
                    raise InvalidRecord(
                        f"{reference.field}: cites {cited.record_type} {reference.business_id!r} whose {name} is "
                        f"{body.get(name)!r}, not {getattr(reference, name)!r}", field=reference.field)


def confirmations(session: Session, records: Sequence[Record]) -> dict[int, str]:
    """Per transaction record, what its counterparty (the other of seller and buyer) recorded under
    the same id: ``confirmed`` (the same content), ``disputed`` (other content) or ``unconfirmed``.

    A counterparty confirms a transaction that names it by submitting it too: each side keeps its
    own record, and the two agree when their content hashes do.
    """
    counterparty = {}
    for record in records:
        body = parsed_body(record) or {}
        sides = {body.get("seller"), body.get("buyer")} - {record.party}
        counterparty[record.id] = next(iter(sides)) if len(sides) == 1 and isinstance(next(iter(sides)), str) else None
    ids = sorted({record.business_id for record in records})
    theirs: dict[tuple[str, str], str] = {}
    for start in range(0, len(ids), _LOOKUP_CHUNK):
        rows = session.exec(select(Record.business_id, Record.party, Record.content_hash).where(
            Record.kind == RecordKind.TRANSACTION, Record.business_id.in_(ids[start : start + _LOOKUP_CHUNK])))
        theirs.update(((business_id, party), content_hash) for business_id, party, content_hash in rows)
    outcome = {}
    for record in records:
        other = theirs.get((record.business_id, counterparty[record.id]))
        outcome[record.id] = "unconfirmed" if other is None else "confirmed" if other == record.content_hash else "disputed"
    return outcome
