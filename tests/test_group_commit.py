"""Group commit: concurrent submissions share a transaction, yet each gets its own outcome."""

import threading
from dataclasses import replace

import pytest
from sqlmodel import func, select

from support.records import payment
from service.ingest.capture import transaction_submission
from service.demo.supply_chain import supply_chain
from service.errors import Conflict, InvalidRecord
from service.ingest.group_commit import TRIES, GroupCommitWriter
from service.models import Record
from service.ingest.candidates import Submission, prepare_events
from service.ingest.records import store_submissions


def stored_ids(ledger) -> set[str]:
    with ledger.session() as session:
        return set(session.exec(select(Record.business_id)))


def held_writer(ledger, calls: list[int]) -> tuple[GroupCommitWriter, threading.Event, threading.Event]:
    """A writer whose first store call signals ``started`` and then waits for ``release``, so that
    submissions made in between queue up."""
    started, release = threading.Event(), threading.Event()

    def store(session, items):
        calls.append(len(items))
        if len(calls) == 1:
            started.set()
            assert release.wait(10)
        return store_submissions(session, items)

    return GroupCommitWriter(ledger.engine, store=store), started, release


def test_queued_submissions_are_stored_by_one_call_and_answered_separately(ledger):
    documents = supply_chain(run=31)["documents"]
    submissions = [Submission(prepare_events(document), party) for party, document in documents.items()]
    calls: list[int] = []
    writer, started, release = held_writer(ledger, calls)
    try:
        first = writer.submit(submissions[0])
        assert started.wait(10)
        rest = [writer.submit(s) for s in submissions[1:]]
        release.set()
        results = [first.result(10), *[future.result(10) for future in rest]]
    finally:
        writer.close()
    assert calls == [1, len(submissions) - 1]
    for submission, stored in zip(submissions, results, strict=True):
        assert [s.record.business_id for s in stored] == [c.derived.business_id for c in submission.candidates]
        assert all(s.created for s in stored)
    with ledger.session() as session:
        parties = dict(session.exec(select(Record.business_id, Record.party)).all())
    for party, document in documents.items():
        assert {parties[c.derived.business_id] for c in prepare_events(document)} == {party}


def test_a_failing_submission_fails_alone_and_stores_nothing(ledger):
    good, other = (prepare_events(d) for d in list(supply_chain(run=32)["documents"].values())[:2])
    already = prepare_events(supply_chain(run=33)["documents"]["farm"])
    with ledger.session() as session:
        store_submissions(session, [Submission(already, "farm")])
    # the same id with other content: a conflict, found after the group's first inserts
    conflicting = [*prepare_events(supply_chain(run=34)["documents"]["farm"]), replace(already[0], derived=replace(already[0].derived, content_hash="0x" + "ab" * 32))]
    calls: list[int] = []
    writer, started, release = held_writer(ledger, calls)
    try:
        futures = [writer.submit(Submission(good, "farm"))]
        assert started.wait(10)
        futures += [writer.submit(Submission(c, "farm")) for c in (conflicting, other)]
        release.set()
        assert len(futures[0].result(10)) == len(good)
        with pytest.raises(Conflict):
            futures[1].result(10)
        assert len(futures[2].result(10)) == len(other)
    finally:
        writer.close()
    assert calls == [1, 2, 1, 1], "the held call, the two others grouped, then each alone after the failure"
    ids = stored_ids(ledger)
    assert {c.derived.business_id for c in good + other} <= ids
    assert not {c.derived.business_id for c in conflicting[:-1]} & ids, "nothing of the failed submission is stored"


def test_records_repeated_across_submissions_are_created_once(ledger):
    events = prepare_events(supply_chain(run=35)["documents"]["farm"])
    with ledger.session() as session:
        first, second = store_submissions(session, [Submission(events[:2], "farm"), Submission(events[1:], "farm")])
        session.commit()
        assert session.exec(select(func.count()).select_from(Record)).one() == len(events)
    assert [s.created for s in first] == [True, True]
    assert [s.created for s in second] == [False] + [True] * (len(events) - 2)
    assert first[1].record == second[0].record


def test_a_closed_writer_stores_what_was_queued_and_refuses_more(ledger):
    events = prepare_events(supply_chain(run=36)["documents"]["farm"])
    writer = GroupCommitWriter(ledger.engine, store=store_submissions)
    future = writer.submit(Submission(events, "farm"))
    writer.close()
    assert len(future.result(10)) == len(events)
    with pytest.raises(RuntimeError):
        writer.submit(Submission(events, "farm"))


def test_references_to_a_record_stored_earlier_in_the_same_group_hold(ledger):
    first = payment(9001)
    citing = {**payment(9002), "references": [first["id"]]}
    dangling = {**payment(9003), "references": ["urn:epcglobal:cbv:bt:0614141000031:NOWHERE"]}
    submissions = [transaction_submission([body], party="processor", max_items=10) for body in (first, citing, dangling)]
    calls: list[int] = []
    writer, started, release = held_writer(ledger, calls)
    try:
        futures = [writer.submit(Submission(candidates=prepare_events(supply_chain(run=37)["documents"]["farm"]), party="farm"))]
        assert started.wait(10)
        futures += [writer.submit(s) for s in submissions]
        release.set()
        assert futures[0].result(10)
        assert futures[1].result(10)[0].created and futures[2].result(10)[0].created
        with pytest.raises(InvalidRecord, match="NOWHERE"):
            futures[3].result(10)
    finally:
        writer.close()
    assert calls == [1, 3, 1, 1, 1], "grouped, failed together (a reference not yet stored), then judged one by one"
    assert {first["id"], citing["id"]} <= stored_ids(ledger) and dangling["id"] not in stored_ids(ledger)


def test_a_submission_aborted_for_a_deadlock_is_tried_again(ledger):
    from psycopg.errors import DeadlockDetected
    from sqlalchemy.exc import OperationalError

    events = prepare_events(supply_chain(run=38)["documents"]["farm"])
    calls: list[int] = []

    def store(session, items):
        calls.append(len(items))
        if len(calls) < TRIES:
            raise OperationalError("INSERT ...", {}, DeadlockDetected("deadlock detected"))
        return store_submissions(session, items)

    writer = GroupCommitWriter(ledger.engine, store=store)
    try:
        assert len(writer.submit(Submission(events, "farm")).result(10)) == len(events)
    finally:
        writer.close()
    assert len(calls) == TRIES, "aborted twice, stored at the third try"
    assert {c.derived.business_id for c in events} <= stored_ids(ledger)
