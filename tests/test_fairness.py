"""Fair turns between submitters: another supplier's small write is not queued behind one
supplier's large documents, in the group-commit writer nor in the capture workers."""

import json
import threading
from concurrent.futures import Future

import pytest
from sqlmodel import func, select

import service.runtime as ledger_module
from api_helpers import large_document
from support.records import payment
from service.ingest import capture
from service.ingest.fair import FairQueue
from service.demo.supply_chain import supply_chain
from service.ingest.candidates import Submission, prepare_events
from service.ingest.group_commit import MAX_ROWS, GroupCommitWriter
from service.ingest.records import store_submissions
from service.models import Record

BIG = MAX_ROWS + 100  # events in a document that the writer must store alone


# --- the queue ------------------------------------------------------------------------------------

def drain(queue: FairQueue, **budget) -> list[list]:
    groups = []
    while group := queue.take(timeout=0, **budget):
        groups.append(group)
    return groups


def test_submitters_take_turns_and_each_keeps_its_order():
    queue = FairQueue()
    for n in range(3):
        queue.put("a", f"a{n}")
    queue.put("b", "b0")
    queue.put("b", "b1")
    assert drain(queue, max_items=1, max_weight=10) == [["a0"], ["b0"], ["a1"], ["b1"], ["a2"]]


def test_a_submitter_arriving_with_nothing_queued_goes_before_a_backlog():
    queue = FairQueue()
    for n in range(3):
        queue.put("a", f"a{n}")
    assert queue.take(max_items=1, max_weight=10) == ["a0"]
    queue.put("b", "b0")
    assert drain(queue, max_items=1, max_weight=10) == [["b0"], ["a1"], ["a2"]]


def test_a_submitter_whose_backlog_was_all_taken_is_not_new_with_its_next_item():
    queue = FairQueue()
    queue.put("a", "a0")
    assert queue.take(max_items=5, max_weight=5) == ["a0"]
    queue.put("a", "a1")
    queue.put("b", "b0")
    assert drain(queue, max_items=1, max_weight=5) == [["b0"], ["a1"]]


def test_a_take_is_bounded_by_items_and_weight_and_a_heavy_item_goes_alone():
    queue = FairQueue()
    queue.put("a", "huge", weight=50)
    queue.put("a", "a-small", weight=1)
    for n in range(4):
        queue.put("b", f"b{n}", weight=4)
    queue.put("c", "c0", weight=1)
    groups = drain(queue, max_items=3, max_weight=10)
    assert groups[0] == ["huge"], "over the whole budget: alone"
    assert groups[1] == ["b0", "c0", "a-small"], "turns across submitters, three items at most"
    assert groups[2:] == [["b1", "b2"], ["b3"]], "b2 and b3 weigh 8 together, b1 fits beside b2 only"
    assert len(queue) == 0


def test_an_item_over_the_remaining_budget_keeps_its_submitters_place():
    queue = FairQueue()
    queue.put("a", "a0", weight=1)
    queue.put("b", "b0", weight=9)
    queue.put("c", "c0", weight=1)
    queue.put("a", "a1", weight=1)
    assert queue.take(max_items=10, max_weight=5) == ["a0", "c0", "a1"]
    assert queue.take(max_items=10, max_weight=5) == ["b0"]


def test_a_closed_queue_hands_out_what_is_queued_then_nothing():
    queue = FairQueue()
    queue.put("a", "a0")
    queue.close()
    with pytest.raises(RuntimeError):
        queue.put("a", "a1")
    assert queue.take(max_items=5, max_weight=5) == ["a0"]
    assert queue.take(max_items=5, max_weight=5) == [], "closed and empty: no wait"


def test_take_waits_for_an_item_from_another_thread():
    queue = FairQueue()
    assert queue.take(max_items=1, max_weight=1, timeout=0.01) == []
    timer = threading.Timer(0.05, queue.put, args=("a", "late"))
    timer.start()
    assert queue.take(max_items=1, max_weight=1, timeout=10) == ["late"]
    timer.join()


# --- the writer ------------------------------------------------------------------------------------

def test_with_a_bulk_lane_a_small_write_commits_while_a_large_one_is_being_stored(ledger):
    large = Submission(prepare_events(supply_chain(run=39)["documents"]["farm"]), "farm")
    small = Submission(prepare_events(supply_chain(run=40)["documents"]["processor"])[:1], "processor")
    started, release = threading.Event(), threading.Event()

    def store(session, items):
        if large in items:
            started.set()
            assert release.wait(10)
        return store_submissions(session, items)

    writer = GroupCommitWriter(ledger.engine, store=store, key=lambda s: s.party, weight=lambda s: len(s.candidates),
                               max_rows=1, bulk_lane=True)
    try:
        held = writer.submit(large)
        assert started.wait(10)
        assert len(writer.submit(small).result(10)) == 1
        assert not held.done(), "the large submission is still being stored"
        release.set()
        assert len(held.result(10)) == len(large.candidates)
    finally:
        release.set()
        writer.close()


# --- the writer, through the API --------------------------------------------------------------------

def test_a_small_write_commits_before_another_suppliers_queued_large_documents(api, monkeypatch):
    """The issue's scenario: farm's large documents are all queued when the processor writes one
    transaction; that write is stored before farm's second document, each large document alone and
    whole."""
    commits: list[list[str]] = []  # the parties of each group stored, in order
    farm_queued, processor_queued = threading.Event(), threading.Event()
    held = threading.Event()

    def store(session, submissions):
        if any(s.party == "farm" for s in submissions) and not held.is_set():
            held.set()  # the first large document waits until the other one is queued
            assert processor_queued.wait(30)
        stored = store_submissions(session, submissions)
        commits.append([s.party for s in submissions])
        return stored

    monkeypatch.setattr(ledger_module, "store_submissions", store)
    writer = api.ledger.writer
    submit, farm_submissions = writer.submit, []

    def counting_submit(submission):
        future = submit(submission)
        if submission.party == "farm":
            farm_submissions.append(submission)
            if len(farm_submissions) == 3:
                farm_queued.set()
        else:
            processor_queued.set()
        return future

    monkeypatch.setattr(writer, "submit", counting_submit)
    documents = [json.dumps(large_document(60 + n, events=BIG)).encode() for n in range(3)]
    codes: list[int] = []

    def post(body: bytes) -> None:
        headers = {**api.as_("farm"), "Content-Type": "application/ld+json"}
        codes.append(api.client.post("/v1/events", content=body, headers=headers).status_code)

    threads = [threading.Thread(target=post, args=(document,)) for document in documents]
    for thread in threads:
        thread.start()
    assert farm_queued.wait(60), "farm's three documents reach the writer"
    small = api.client.post("/v1/transactions", json=payment(7001), headers=api.as_("processor"))
    for thread in threads:
        thread.join(60)
    assert small.status_code == 201 and codes == [201] * 3
    farm_commits = [n for n, parties in enumerate(commits) if "farm" in parties]
    assert commits.index(["processor"]) < farm_commits[1], commits
    assert all(commits[n] == ["farm"] for n in farm_commits), "a document over the row bound is stored alone"
    with api.ledger.session() as session:
        assert session.exec(select(func.count()).select_from(Record).where(Record.party == "farm")).one() == 3 * BIG


# --- the capture workers -----------------------------------------------------------------------------

def test_a_document_of_another_submitter_is_prepared_before_a_backlog():
    """One worker: farm's first document is being prepared, two more wait; the processor's document
    goes next, not last."""
    pool = capture.CapturePool(1)
    bodies = {name: json.dumps(large_document(70 + n, events=200 + n)).encode()
              for n, name in enumerate(["farm-1", "farm-2", "farm-3", "processor"])}
    finished: list[str] = []
    jobs: dict[str, Future] = {}
    for name, body in bodies.items():
        jobs[name] = pool._submit(name.partition("-")[0], body, max_events=10_000, xml=False)
        jobs[name].add_done_callback(lambda _, name=name: finished.append(name))
    try:
        sizes = {name: len(capture.unpickle_chunks(job.result(120)[0])) for name, job in jobs.items()}
    finally:
        pool.stop()
    assert finished == ["farm-1", "processor", "farm-2", "farm-3"]
    assert sizes == {"farm-1": 200, "farm-2": 201, "farm-3": 202, "processor": 203}
