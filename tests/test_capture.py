"""Preparing submitted bodies in worker processes: same records, same errors as in the API process."""

import asyncio
import json
import pickle
from concurrent.futures.process import BrokenProcessPool

import pytest

from api_helpers import large_document
from service import capture
from service.errors import Conflict, InvalidRecord
from service.validation.epcis import SchemaViolation, TooManyEvents


def in_worker(raw: bytes, *, max_events: int = 10_000):
    return capture._workers(1).submit(capture.prepare_body, raw, max_events=max_events).result(timeout=120)


def test_a_worker_prepares_the_same_records_as_the_api_process():
    raw = json.dumps(large_document(51)).encode()
    assert in_worker(raw) == capture.prepare_body(raw, max_events=10_000)


@pytest.mark.parametrize(
    ("raw", "error", "field"),
    [
        (b"{not json", InvalidRecord, "body"),
        (json.dumps(large_document(52, events=3)).replace("OBSERVE", "MAYBE", 1).encode(), SchemaViolation,
         "epcisBody.eventList[0].action"),
        (json.dumps(large_document(53, events=5)).encode(), TooManyEvents, "epcisBody.eventList"),
    ],
)
def test_errors_raised_in_a_worker_arrive_whole(raw, error, field):
    with pytest.raises(error) as raised:
        in_worker(raw, max_events=4)
    assert raised.value.field == field
    assert raised.value.status_code == error.status_code
    if error is SchemaViolation:
        assert raised.value.errors[0]["event_index"] == 0


def test_domain_errors_pickle_with_their_state():
    violation = SchemaViolation([{"event_index": 3, "field": "epcisBody.eventList[3].bizStep", "message": "bad"}])
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

    monkeypatch.setattr(capture, "_pool", None)
    monkeypatch.setattr(capture, "_restarts", 0)
    monkeypatch.setattr(capture, "ProcessPoolExecutor", lambda *args, **kwargs: BrokenPool())
    raw = json.dumps(large_document(54)).encode()
    expected = capture.prepare_body(raw, max_events=10_000)
    for _ in range(capture.MAX_RESTARTS + 3):
        assert asyncio.run(capture.prepare(raw, max_events=10_000, processes=1)) == expected
    assert BrokenPool.made == capture.MAX_RESTARTS + 1, "no new pool once the restarts are used up"
