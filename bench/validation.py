"""EPCIS schema validation cost per event: jsonschema-rs (chosen) vs the pure-Python jsonschema.

A 1,000-event document cycles through every event of GS1's example documents. The Python
validator runs without format checks (``uri``/``date-time`` need extra packages), so its figure
is a lower bound on its cost. Usage: ``python bench/validation.py [events]``.
"""

import copy
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import jsonschema
from referencing import Registry
from referencing.jsonschema import DRAFT7

from service.ingest.validation.epcis import validate_document

ROOT = Path(__file__).resolve().parents[1]
SCHEMA_DIR = ROOT / "service" / "validation" / "schema"
EXAMPLES = ROOT / "tests" / "data" / "epcis" / "examples"
TARGET_US_PER_EVENT = 30.0


def sample_document(event_count: int) -> dict:
    documents = [json.loads(path.read_text()) for path in sorted(EXAMPLES.rglob("*.jsonld"))]
    events = [event for doc in documents if "eventList" in doc.get("epcisBody", {})
              for event in doc["epcisBody"]["eventList"]]
    document = copy.deepcopy(documents[0])
    document["epcisBody"] = {"eventList": [copy.deepcopy(events[i % len(events)]) for i in range(event_count)]}
    return document


def python_validator() -> jsonschema.Draft7Validator:
    resources = [json.loads(path.read_text()) for path in SCHEMA_DIR.rglob("*.json")]
    registry = Registry().with_resources((schema["$id"], DRAFT7.create_resource(schema)) for schema in resources)
    root = json.loads((SCHEMA_DIR / "EPCIS-JSON-Schema-root.json").read_text())
    return jsonschema.Draft7Validator(root, registry=registry)


def best_seconds(run: Callable[[], object], *, repeats: int) -> float:
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        timings.append(time.perf_counter() - start)
    return min(timings)


def main() -> None:
    event_count = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    document = sample_document(event_count)
    validate_document(document, max_events=event_count)  # compiles the cached validator
    python = python_validator()
    assert python.is_valid(document)
    rust_us = best_seconds(lambda: validate_document(document, max_events=event_count), repeats=20) / event_count * 1e6
    python_us = best_seconds(lambda: python.is_valid(document), repeats=1) / event_count * 1e6
    print(f"{event_count} events per document, best of 20 (jsonschema-rs) / 1 run (jsonschema)")
    print(f"jsonschema-rs, formats checked (validate_document): {rust_us:8.1f} µs/event")
    print(f"jsonschema (Python), formats NOT checked:           {python_us:8.1f} µs/event")
    print(f"ratio python / rust: {python_us / rust_us:.0f}x; target < {TARGET_US_PER_EVENT:.0f} µs/event")
    choice = "jsonschema-rs" if rust_us < python_us else "jsonschema"
    print(f"choice: {choice} ({'meets' if min(rust_us, python_us) < TARGET_US_PER_EVENT else 'MISSES'} the target)")


if __name__ == "__main__":
    main()
