"""Preparing submitted bodies in worker processes: same records, same errors as in the API process."""

import asyncio
import json
import os
import pickle
import subprocess
import sys
import time
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import pytest

from api_helpers import large_document
from service.ingest import capture
from service.errors import Conflict, ErrorItem, InvalidRecord
from service.ingest.validation.epcis import SchemaViolation, TooManyEvents

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def workers():
    """One worker process for the module's tests, stopped after them."""
    pool = capture.CapturePool(1)
    yield pool
    pool.stop()


def in_worker(workers: capture.CapturePool, raw: bytes, *, max_events: int = 10_000):
    return workers.workers().submit(capture.prepare_body, raw, max_events=max_events).result(timeout=120)


def unsalted(prepared) -> list:
    """What two preparations of one document share: everything but the fresh random salts."""
    candidates = getattr(prepared, "candidates", prepared)
    assert len({candidate.salt for candidate in candidates}) == len(candidates)
    return [(candidate.derived, candidate.body) for candidate in candidates]


def test_a_worker_prepares_the_same_records_as_the_api_process(workers):
    raw = json.dumps(large_document(51)).encode()
    assert unsalted(in_worker(workers, raw)) == unsalted(capture.prepare_body(raw, max_events=10_000))


@pytest.mark.parametrize(
    ("raw", "error", "field"),
    [
        (b"{not json", InvalidRecord, "body"),
        (json.dumps(large_document(52, events=3)).replace("OBSERVE", "MAYBE", 1).encode(), SchemaViolation,
         "epcisBody.eventList[0].action"),
        (json.dumps(large_document(53, events=5)).encode(), TooManyEvents, "epcisBody.eventList"),
    ],
)
def test_errors_raised_in_a_worker_arrive_whole(workers, raw, error, field):
    with pytest.raises(error) as raised:
        in_worker(workers, raw, max_events=4)
    assert raised.value.field == field
    assert raised.value.status_code == error.status_code
    if error is SchemaViolation:
        assert raised.value.errors[0].index == 0


def test_domain_errors_pickle_with_their_state():
    violation = SchemaViolation.of([ErrorItem(field="epcisBody.eventList[3].bizStep", message="bad", index=3)])
    for original in (violation, Conflict("taken", field="id"), InvalidRecord("no")):
        copy = pickle.loads(pickle.dumps(original))
        assert (type(copy), copy.args, copy.__dict__) == (type(original), original.args, original.__dict__)


def test_a_broken_pool_is_replaced_a_few_times_then_documents_are_prepared_in_process(monkeypatch):
    class BrokenPool:
        made = 0

        def __init__(self):
            BrokenPool.made += 1

        def submit(self, *args, **kwargs):
            raise BrokenProcessPool("a worker died")

        def shutdown(self, **kwargs):
            pass

    monkeypatch.setattr(capture, "ProcessPoolExecutor", lambda *args, **kwargs: BrokenPool())
    pool = capture.CapturePool(1)
    raw = json.dumps(large_document(54)).encode()
    expected = unsalted(capture.prepare_body(raw, max_events=10_000))
    for _ in range(capture.MAX_RESTARTS + 3):
        assert unsalted(asyncio.run(pool.prepare(raw, max_events=10_000))) == expected
    assert BrokenPool.made == capture.MAX_RESTARTS + 1, "no new pool once the restarts are used up"


def running(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except FileNotFoundError:
        return False


def test_workers_exit_when_the_api_process_is_killed():
    script = (
        "import time; from service.ingest import capture\n"
        "pool = capture.CapturePool(1).workers(); pool.submit(int).result(120)\n"
        "print(*pool._processes, flush=True); time.sleep(600)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=ROOT,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        (worker,) = map(int, parent.stdout.readline().split())
        assert running(worker)
    finally:
        parent.kill()
        parent.wait()
    deadline = time.monotonic() + 10 * capture.PARENT_CHECK_SECONDS
    while running(worker):
        assert time.monotonic() < deadline, "the worker outlived its parent"
        time.sleep(0.1)


def test_a_workers_result_in_chunks_is_the_whole_result_in_order(workers):
    raw = json.dumps(large_document(55, events=2 * capture.CHUNK + 1)).encode()
    chunks, hierarchy = workers.workers().submit(capture.prepare_in_worker, raw, max_events=10_000).result(timeout=120)
    assert len(chunks) == 3 and hierarchy == ()
    assert unsalted(capture.unpickle_chunks(chunks)) == unsalted(capture.prepare_body(raw, max_events=10_000))
