"""XML capture throughput against JSON capture of the same events, same server, same run.

    python bench/xml_capture.py [--documents 20] [--events-per-document 1000] [--rounds 3] [--concurrency 4] [--postgres]

One ``traceanchor serve`` (one uvicorn worker, its capture worker process, embedded chain, the
anchoring loop running) on SQLite (``--postgres``: a throwaway schema on the local server). Each
round posts ``--documents`` EPCIS documents of ``--events-per-document`` ObjectEvents as JSON-LD to
``POST /v1/events``, then as many as XML (``application/xml``), or the other way round every other
round so that neither syntax always runs on the emptier database. XML and JSON documents carry the
same events: every JSON document is the converter's JSON-LD form of an XML document built alike, only
the serials (EPC and time) differ, so that every event is new. Throughput is events stored a second
over the phase, from ``--concurrency`` threads with keep-alive clients.

First, in this process, the converter alone (parse, XSD, JSON-LD) against the reference
implementation's reading of the same XML (``epcis-event-hash-generator``: ElementTree into its own
structure, no validation), best of five, for scale; and XSD validation by lxml (libxml2, what the
service uses) against the pure-Python ``xmlschema`` library, when it is installed (it is not a
dependency: ``pip install xmlschema`` to compare).

Target: XML capture at least 0.7x JSON capture's events/s. The machine's cores are shared by the
server, its workers and the load; figures are for comparison within one run. Exits 1 below target.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from ingest import answers, background, settle_disk  # noqa: E402

from service.ingest.xml.convert import xml_document  # noqa: E402
from tests.support.servers import free_loopback_port, postgres_schema  # noqa: E402

RATIO_TARGET = 0.7
LOCATION = "urn:epc:id:sgln:0614141.00001.0"


def xml_event(serial: int, *, run: int) -> str:
    """A distinct ObjectEvent in XML: its EPC and its time both derive from ``serial``."""
    seconds = serial % 86_400
    return (f"<ObjectEvent><eventTime>2026-09-{1 + serial // 86_400 % 28:02d}T{seconds // 3600:02d}:{seconds // 60 % 60:02d}:"
            f"{seconds % 60:02d}Z</eventTime><eventTimeZoneOffset>+00:00</eventTimeZoneOffset><epcList>"
            f"<epc>urn:epc:id:sgtin:0614141.011111.{run}{serial:09d}</epc></epcList><action>OBSERVE</action>"
            f"<bizStep>shipping</bizStep><disposition>in_transit</disposition><readPoint><id>{LOCATION}</id></readPoint>"
            "</ObjectEvent>\n")


def xml_documents(*, first: int, count: int, events: int, run: int) -> list[bytes]:
    return [(
        '<?xml version="1.0" encoding="UTF-8"?>\n<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2" '
        'schemaVersion="2.0" creationDate="2026-09-01T00:00:00Z"><EPCISBody><EventList>\n'
        + "".join(xml_event(first + d * events + n, run=run) for n in range(events))
        + "</EventList></EPCISBody></epcis:EPCISDocument>\n").encode() for d in range(count)]


def json_documents(xml: list[bytes], *, events: int) -> list[bytes]:
    """The same documents as JSON-LD, exactly as the converter gives them."""
    return [json.dumps(xml_document(raw, max_events=events)).encode() for raw in xml]


def post_all(url: str, token: str, payloads: list[bytes], *, media_type: str, concurrency: int) -> tuple[float, dict[int, int]]:
    """Send every payload once from ``concurrency`` threads; elapsed seconds and the statuses."""
    headers = {"Content-Type": media_type, "Authorization": f"Bearer {token}"}
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    pending = iter(payloads)

    def worker() -> None:
        with httpx.Client(timeout=300) as client:
            while True:
                with lock:
                    payload = next(pending, None)
                if payload is None:
                    return
                status = client.post(url, content=payload, headers=headers).status_code
                with lock:
                    statuses[status] = statuses.get(status, 0) + 1

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, statuses


def measure(database_url: str, data_dir: Path, args: argparse.Namespace) -> dict[str, list[float]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACEANCHOR_")}
    env.update(PYTHONPATH=str(ROOT), TRACEANCHOR_DATA_DIR=str(data_dir), TRACEANCHOR_DATABASE_URL=database_url,
               TRACEANCHOR_BATCH_SIZE="1024", TRACEANCHOR_BATCH_AGE="1", TRACEANCHOR_ANCHOR_INTERVAL="0.5",
               TRACEANCHOR_MAX_EVENTS=str(max(10_000, args.events_per_document)))
    subprocess.run([sys.executable, "-m", "service.cli", "migrate"], cwd=ROOT, env=env, capture_output=True, check=True)
    key = subprocess.run([sys.executable, "-m", "service.cli", "keys", "create", "--role", "supplier", "--party", "bench"],
                         cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    token = key.stdout.strip().splitlines()[-1]
    port = free_loopback_port()
    rates: dict[str, list[float]] = {"json": [], "xml": []}
    block = args.documents * args.events_per_document
    with background([sys.executable, "-m", "service.cli", "serve", "--port", str(port)], env=env,
                    ready=answers(f"http://127.0.0.1:{port}/v1/health")):
        url = f"http://127.0.0.1:{port}/v1/events"
        for round_number in range(args.rounds):
            as_xml = xml_documents(first=2 * round_number * block, count=args.documents, events=args.events_per_document, run=1)
            as_json = json_documents(xml_documents(first=(2 * round_number + 1) * block, count=args.documents,
                                                   events=args.events_per_document, run=1), events=args.events_per_document)
            phases = [("json", as_json, "application/ld+json"), ("xml", as_xml, "application/xml")]
            for syntax, payloads, media_type in phases if round_number % 2 == 0 else phases[::-1]:
                settle_disk()
                elapsed, statuses = post_all(url, token, payloads, media_type=media_type, concurrency=args.concurrency)
                if statuses != {201: len(payloads)}:
                    raise SystemExit(f"{syntax}: unexpected answers {statuses}")
                rates[syntax].append(block / elapsed)
                print(f"round {round_number + 1} {syntax:>4}: {block / elapsed:>9,.0f} events/s "
                      f"({len(payloads[0]) / 1024:,.0f} KiB a document)", flush=True)
    return rates


def converter_against_reference(events: int) -> None:
    from epcis_event_hash_generator import xml_to_py

    [raw] = xml_documents(first=0, count=1, events=events, run=9)
    text = raw.decode()

    ours = best_of_five(lambda: xml_document(raw, max_events=events))
    reference = best_of_five(lambda: xml_to_py.event_list_from_epcis_document_str(text))
    print(f"converter, {events}-event document: {ours:.1f} ms (parse, XSD, JSON-LD) vs the reference's XML reading "
          f"{reference:.1f} ms: {ours / reference:.2f}x", flush=True)


def best_of_five(work) -> float:
    """The fastest of five runs of ``work``, in milliseconds."""
    times = []
    for _ in range(5):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times) * 1000


def validators_compared(events: int) -> None:
    try:
        import xmlschema
    except ImportError:
        print("xmlschema is not installed: lxml's XSD validation not compared with it")
        return
    from service.ingest.xml.parser import parse_xml
    from service.ingest.xml.schema import _schema

    [raw] = xml_documents(first=0, count=1, events=events, run=9)
    tree = parse_xml(raw).getroottree()
    xsd = ROOT / "service" / "ingest" / "xml" / "xsd" / "EPCglobal-epcis-2_0.xsd"
    compile_lxml, compile_xmlschema = best_of_five(lambda: _schema.__wrapped__(xsd.name)), best_of_five(lambda: xmlschema.XMLSchema(str(xsd)))
    ours, theirs = _schema(xsd.name), xmlschema.XMLSchema(str(xsd))
    assert ours.validate(tree) and theirs.is_valid(tree)
    print(f"XSD validation, {events}-event document: lxml {best_of_five(lambda: ours.validate(tree)):.1f} ms, xmlschema "
          f"{best_of_five(lambda: theirs.is_valid(tree)):.1f} ms (compiling: {compile_lxml:.1f} vs {compile_xmlschema:.0f} ms)", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=20)
    parser.add_argument("--events-per-document", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    converter_against_reference(args.events_per_document)
    validators_compared(args.events_per_document)
    with tempfile.TemporaryDirectory() as folder:
        if args.postgres:
            with postgres_schema() as database_url:
                rates = measure(database_url, Path(folder), args)
        else:
            rates = measure(f"sqlite:///{Path(folder) / 'ledger.db'}", Path(folder), args)
    json_rate, xml_rate = (sum(rates[s]) / len(rates[s]) for s in ("json", "xml"))
    ratio = xml_rate / json_rate
    print(f"{args.events_per_document}-event documents: JSON {json_rate:,.0f} events/s, XML {xml_rate:,.0f} events/s: "
          f"XML/JSON {ratio:.2f}x (target >= {RATIO_TARGET}x)")
    return 0 if ratio >= RATIO_TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
