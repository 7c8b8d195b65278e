"""Storing records: idempotent resubmission, conflicts, all-or-nothing documents."""

import json
import threading

import pytest
from sqlmodel import Session, func, select

from support.records import payment
from service.demo.supply_chain import supply_chain
from service.errors import Conflict, InvalidRecord
from service.hashing import event_hash_id
from service.models import Record, RecordKind, RecordStatus
from support.records import store_events, store_transactions


def count(session) -> int:
    return session.exec(select(func.count()).select_from(Record)).one()


def test_events_are_stored_pending_with_their_hash_ids(ledger):
    document = supply_chain(run=1)["documents"]["farm"]
    with ledger.session() as session:
        stored = store_events(session, document=document, party="farm")
    assert [s.created for s in stored] == [True, True, True]
    with ledger.session() as session:
        records = session.exec(select(Record).order_by(Record.id)).all()
        assert [r.status for r in records] == [RecordStatus.PENDING] * 3
        assert [r.party for r in records] == ["farm"] * 3
        assert [r.record_type for r in records] == ["ObjectEvent", "AggregationEvent", "ObjectEvent"]
        for record in records:
            body = json.loads(record.body)
            assert body["@context"] == document["@context"], "the document context travels with each event"
            assert record.business_id == event_hash_id(body)


def test_resubmitting_the_same_events_creates_nothing(ledger):
    document = supply_chain(run=2)["documents"]["farm"]
    with ledger.session() as session:
        first = store_events(session, document=document, party="farm")
    with ledger.session() as session:
        again = store_events(session, document=document, party="farm")
        assert [s.created for s in again] == [False, False, False]
        assert [s.record.id for s in again] == [s.record.id for s in first]
        assert count(session) == 3


def test_duplicate_event_inside_one_document_is_stored_once(ledger):
    document = supply_chain(run=3)["documents"]["retailer"]
    event = document["epcisBody"]["eventList"][0]
    document["epcisBody"]["eventList"] = [event, dict(reversed(list(event.items())))]
    with ledger.session() as session:
        stored = store_events(session, document=document, party="retailer")
        assert [s.created for s in stored] == [True, False]
        assert stored[0].record is stored[1].record


def test_an_invalid_event_stores_nothing_of_its_document(ledger):
    document = supply_chain(run=4)["documents"]["farm"]
    document["epcisBody"]["eventList"][2]["eventTime"] = "yesterday"
    with pytest.raises(InvalidRecord) as raised, ledger.session() as session:
        store_events(session, document=document, party="farm")
    assert "eventList[2]" in raised.value.field
    with ledger.session() as session:
        assert count(session) == 0


def test_transaction_ids_are_unique_per_content(ledger):
    order = supply_chain(run=5)["transactions"]["processor"][0]
    with ledger.session() as session:
        assert store_transactions(session, transactions=[order], party="processor")[0].created
    with ledger.session() as session:
        assert not store_transactions(session, transactions=[order], party="processor")[0].created
    changed = {**order, "total": "15.00"}
    with pytest.raises(Conflict), ledger.session() as session:
        store_transactions(session, transactions=[changed], party="processor")
    with ledger.session() as session:
        record = session.exec(select(Record).where(Record.kind == RecordKind.TRANSACTION)).one()
        assert json.loads(record.body)["total"] == "14.00"


def test_resubmitting_more_records_than_one_lookup_takes_finds_them_all(ledger):
    transactions = [payment(n) for n in range(1_200)]  # beyond the 500 ids of one IN lookup
    with ledger.session() as session:
        first = store_transactions(session, transactions=transactions, party="processor")
    with ledger.session() as session:
        again = store_transactions(session, transactions=transactions, party="processor")
    assert all(s.created for s in first) and not any(s.created for s in again)
    assert [s.record.id for s in again] == [s.record.id for s in first]


def test_of_two_concurrent_identical_submissions_exactly_one_creates(ledger):
    """The second insert waits for the first transaction and then finds its rows: whoever commits
    first created the records, the other is told they already existed (two API workers racing)."""
    document = supply_chain(run=4)["documents"]["farm"]
    results = {}
    with Session(ledger.engine) as first:
        results["first"] = store_events(first, document=document, party="farm")

        def second() -> None:
            with Session(ledger.engine) as session:
                results["second"] = store_events(session, document=document, party="farm")
                session.commit()

        racer = threading.Thread(target=second)
        racer.start()
        racer.join(0.5)
        assert racer.is_alive(), "the second submission must wait for the first transaction"
        first.commit()
        racer.join(30)
    assert [s.created for s in results["first"]] == [True] * 3
    assert [s.created for s in results["second"]] == [False] * 3
    assert [s.record.id for s in results["second"]] == [s.record.id for s in results["first"]]
    with ledger.session() as session:
        assert count(session) == 3
