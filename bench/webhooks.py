"""Webhook fan-out: stream subscriptions receiving new events, on PostgreSQL.

    python bench/webhooks.py [--subscriptions 100] [--events 10000] [--workers 2] [--rate 1000]

One supplier saves a named query (every ObjectEvent) and makes ``--subscriptions`` stream
subscriptions to it, all to one receiver on 127.0.0.1 (a threaded ``http.server`` that answers 200
and notes when each event arrives). Then ``--events`` events are stored through the library in
chunks of 100, at ``--rate`` events a second, while ``--workers`` delivery loops (as the API process
runs one; on PostgreSQL several share the subscriptions) send them: the delay from an event's commit
to its arrival, p50 / p99. Then as many events are stored with the loops stopped, and the loops
drain that backlog: events delivered a second (events x subscriptions / time to the last arrival).

Baseline, measured in the same run: the same documents (built, signed, POSTed to the same receiver,
batches of the same size) sent by a plain loop with no database, one thread per delivery worker: the
floor of the HTTP work itself. The ratio says what the outbox (matching query, row claim, position
update) costs on top.
"""

import argparse
import json
import re
import statistics
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from service.access.keys import create_key  # noqa: E402
from service.db import migrate  # noqa: E402
from service.models import Role  # noqa: E402
from service.notify import subscriptions  # noqa: E402
from service.notify.delivery import signature  # noqa: E402
from service.notify.loop import DeliveryLoop  # noqa: E402
from service.read import named_queries  # noqa: E402
from service.read.documents import query_document  # noqa: E402
from service.runtime import Runtime  # noqa: E402
from service.settings import Settings  # noqa: E402
from tests.support.records import store_events  # noqa: E402
from tests.support.servers import free_loopback_port, postgres_schema  # noqa: E402

CHUNK = 100
EVENT_ID = re.compile(rb'"eventID":"https://bench\.example/e/(\d+)/')


class Receiver:
    """Counts arriving events per chunk, with their arrival times."""

    def __init__(self) -> None:
        self.arrivals: list[tuple[float, int]] = []  # (time, chunk) per event
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                now = time.perf_counter()
                chunks = [int(match) for match in EVENT_ID.findall(body)]
                with receiver.lock:
                    receiver.arrivals.extend((now, chunk) for chunk in chunks)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.port = free_loopback_port()
        ThreadingHTTPServer.request_queue_size = 128  # a real server's listen backlog, not http.server's 5
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def count(self) -> int:
        with self.lock:
            return len(self.arrivals)


def document(chunk: int) -> dict:
    events = [{"type": "ObjectEvent", "eventID": f"https://bench.example/e/{chunk}/{n}", "action": "OBSERVE",
               "eventTime": "2026-03-01T10:00:00Z", "eventTimeZoneOffset": "+00:00", "bizStep": "shipping",
               "epcList": [f"urn:epc:id:sgtin:0614141.107346.{chunk * CHUNK + n}"]} for n in range(CHUNK)]
    return {"@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"], "type": "EPCISDocument",
            "schemaVersion": "2.0", "creationDate": "2026-03-01T10:00:00Z", "epcisBody": {"eventList": events}}


def delivered(runtime: Runtime, receiver: Receiver, args) -> tuple[float, list[float]]:
    """Delays (s) of events stored at ``--rate`` while the loops run, then events/s draining a backlog
    of as many events stored while they were stopped."""
    with runtime.session() as session:
        key, _ = create_key(session, role=Role.SUPPLIER, party="farm")
        named_queries.create(session, party="farm", name="objects", query={"eventType": ["ObjectEvent"]})
        for n in range(args.subscriptions):
            subscriptions.create(session, key=key, query_name="objects", dest=f"http://127.0.0.1:{receiver.port}/{n}",
                                 signature_token="bench", stream=True, schedule=None, initial_record_time=None,
                                 report_if_empty=False, settings=runtime.settings)
    chunks = args.events // CHUNK
    stored_at: dict[int, float] = {}
    with _loops(runtime, args.workers):
        start = time.perf_counter()
        for chunk in range(chunks):
            _store(runtime, chunk, stored_at)
            time.sleep(max(0.0, start + (chunk + 1) * CHUNK / args.rate - time.perf_counter()))
        _wait(receiver, chunks * CHUNK * args.subscriptions)
    delays = [t - stored_at[chunk] for t, chunk in receiver.arrivals]
    for chunk in range(chunks, 2 * chunks):
        _store(runtime, chunk, stored_at)
    with _loops(runtime, args.workers):
        start = time.perf_counter()
        _wait(receiver, 2 * chunks * CHUNK * args.subscriptions)
        elapsed = time.perf_counter() - start
    return chunks * CHUNK * args.subscriptions / elapsed, delays


def _store(runtime: Runtime, chunk: int, stored_at: dict[int, float]) -> None:
    with runtime.session() as session:
        store_events(session, document=document(chunk), party="farm")
    stored_at[chunk] = time.perf_counter()


def _wait(receiver: Receiver, count: int) -> None:
    while receiver.count() < count:
        time.sleep(0.01)


@contextmanager
def _loops(runtime: Runtime, workers: int):
    stop = threading.Event()
    loops = [threading.Thread(target=DeliveryLoop(runtime.settings, runtime.engine).run, args=(stop,)) for _ in range(workers)]
    for loop in loops:
        loop.start()
    try:
        yield
    finally:
        stop.set()
        for loop in loops:
            loop.join()


def baseline(receiver: Receiver, args) -> float:
    """Events/s of the same documents sent by plain threads with no database."""
    records = [document(chunk) for chunk in range(args.events // CHUNK)]
    bodies = [json.dumps(query_document_from(doc), separators=(",", ":")).encode() for doc in records]
    jobs = [(n, body) for n in range(args.subscriptions) for body in bodies]
    before = receiver.count()

    def send(part):
        with httpx.Client(trust_env=False) as client:
            for n, body in part:
                client.post(f"http://127.0.0.1:{receiver.port}/{n}", content=body,
                            headers={"Content-Type": "application/ld+json", "GS1-Signature": signature(body, "bench")})

    start = time.perf_counter()
    threads = [threading.Thread(target=send, args=(jobs[i::args.workers],)) for i in range(args.workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return (receiver.count() - before) / (time.perf_counter() - start)


def query_document_from(doc: dict) -> dict:
    """The query document a subscriber receives for ``doc``'s events (built as delivery builds it, per request)."""
    built = query_document([], query_name="objects")
    built["epcisBody"]["queryResults"]["resultsBody"]["eventList"] = doc["epcisBody"]["eventList"]
    return built


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscriptions", type=int, default=100)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rate", type=float, default=1000.0, help="events stored a second")
    args = parser.parse_args()
    receiver = Receiver()
    with postgres_schema(prefix="bench") as url, tempfile.TemporaryDirectory() as data:
        settings = Settings(data_dir=Path(data), database_url=url, webhook_allow_private=True, webhook_settle_seconds=0.0,
                            webhook_poll_seconds=0.05, capture_processes=0)
        migrate(settings)
        runtime = Runtime(settings)
        try:
            rate, delays = delivered(runtime, receiver, args)
        finally:
            runtime.close()
    floor = baseline(receiver, args)
    cuts = statistics.quantiles(delays, n=100)
    print(f"{args.subscriptions} stream subscriptions x {args.events} events, {args.workers} delivery workers, PostgreSQL")
    print(f"delay commit -> arrival at {args.rate:,.0f} events/s stored: p50 {cuts[49] * 1000:.0f} ms, p99 {cuts[98] * 1000:.0f} ms")
    print(f"backlog drained: {rate:,.0f} events/s delivered")
    print(f"baseline (same documents, no database): {floor:,.0f} events/s; ratio {rate / floor:.2f}x")


if __name__ == "__main__":
    main()
