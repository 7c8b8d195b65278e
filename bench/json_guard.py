"""What the JSON rules of every request body cost (service/ingest/validation/json_limits.py), against
json.loads of the same body: the depth bound checked on the raw bytes before parsing, and the NUL,
lone-surrogate and number rules checked while and after parsing.

Two 1,000-event documents: the test suite's ``large_document`` (plain ASCII, no numbers, the
shape bench/ingest.py posts) and one cycling through GS1's example events (escapes, numbers,
nesting); and a single event, which takes the shortcut for bodies with few brackets.
Usage: ``python bench/json_guard.py [events]``.
"""

import copy
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from api_helpers import large_document  # noqa: E402

from service.ingest.validation.json_limits import parse_json  # noqa: E402

EXAMPLES = ROOT / "tests" / "data" / "epcis" / "examples"
REPEATS = 200


def gs1_document(event_count: int) -> dict:
    """A document cycling through every event of GS1's example documents."""
    documents = [json.loads(path.read_text()) for path in sorted(EXAMPLES.rglob("*.jsonld"))]
    events = [event for doc in documents if "eventList" in doc.get("epcisBody", {}) for event in doc["epcisBody"]["eventList"]]
    document = copy.deepcopy(documents[0])
    document["epcisBody"] = {"eventList": [copy.deepcopy(events[i % len(events)]) for i in range(event_count)]}
    return document


def best_seconds(run: Callable[[], object], *, number: int) -> float:
    """The best of ``REPEATS`` timings of ``number`` runs, per run: the least disturbed by the
    other processes on the machine."""
    timings = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        for _ in range(number):
            run()
        timings.append((time.perf_counter() - start) / number)
    return min(timings)


def main() -> None:
    event_count = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    bodies = {
        f"large_document, {event_count} events": json.dumps(large_document(1, events=event_count)).encode(),
        f"GS1 examples, {event_count} events": json.dumps(gs1_document(event_count)).encode(),
        "one event": json.dumps(large_document(1, events=1)["epcisBody"]["eventList"][0]).encode(),
    }
    print(f"{'body':32s} {'bytes':>9s} {'json.loads':>12s} {'parse_json':>12s} {'guard':>10s} {'ratio':>7s}")
    for name, raw in bodies.items():
        assert parse_json(raw) == json.loads(raw)
        number = max(1, 2000 // len(raw) * 10)
        plain = best_seconds(lambda raw=raw: json.loads(raw), number=number)
        guarded = best_seconds(lambda raw=raw: parse_json(raw), number=number)
        print(f"{name:32s} {len(raw):9,d} {plain * 1e6:9.1f} µs {guarded * 1e6:9.1f} µs {(guarded - plain) * 1e6:7.1f} µs "
              f"{(guarded - plain) / plain:6.2f}×")


if __name__ == "__main__":
    main()
