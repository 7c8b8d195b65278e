"""Capture throughput of signed against unsigned EPCIS documents, same server, same run (issue 16).

    python bench/signatures.py [--documents 20] [--events-per-document 1000] [--rounds 3] [--concurrency 4] [--postgres]

One ``traceanchor serve`` (one uvicorn worker, its capture worker process, embedded chain, the
anchoring loop running) on SQLite (``--postgres``: a throwaway schema on the local server). The bench
party registers a signing key (``POST /v1/parties/bench/signing-keys``); each round posts
``--documents`` JSON-LD documents of ``--events-per-document`` ObjectEvents to ``POST /v1/events``
unsigned, then as many signed (``TraceAnchor-Signature``), or the other way round every other round,
so that neither kind always runs on the emptier database. Every event is new. Signatures are made
before the clock starts (what a supplier does before sending); what is measured is the server's
extra work: the signed root recomputed, the signer recovered and checked, the signature and one link
per record stored. Throughput is events stored a second over the phase, from ``--concurrency``
threads with keep-alive clients.

Target: signed capture at least 0.9x unsigned capture's events/s. Exits 1 below target.
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
from eth_account import Account
from eth_account.messages import encode_typed_data

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from ingest import answers, background, settle_disk  # noqa: E402

from service.hashing import content_hash  # noqa: E402
from service.hashing.typed_data import domain, signing_key, submission, submission_root  # noqa: E402
from tests.support.servers import free_loopback_port, postgres_schema  # noqa: E402

RATIO_TARGET = 0.9
CONTEXT = ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"]


def document(first: int, events: int) -> dict:
    """An EPCISDocument of distinct ObjectEvents: EPC and time derive from the serial."""
    def event(serial: int) -> dict:
        seconds = serial % 86_400
        return {"type": "ObjectEvent", "eventTime": f"2026-09-{1 + serial // 86_400 % 28:02d}T{seconds // 3600:02d}:"
                f"{seconds // 60 % 60:02d}:{seconds % 60:02d}Z", "eventTimeZoneOffset": "+00:00",
                "epcList": [f"urn:epc:id:sgtin:0614141.011111.1{serial:09d}"], "action": "OBSERVE", "bizStep": "shipping",
                "disposition": "in_transit", "readPoint": {"id": "urn:epc:id:sgln:0614141.00001.0"}}
    return {"@context": CONTEXT, "type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": "2026-09-01T00:00:00Z",
            "epcisBody": {"eventList": [event(first + n) for n in range(events)]}}


def sign(account, message: dict) -> str:
    return "0x" + account.sign_message(encode_typed_data(full_message=message)).signature.hex().removeprefix("0x")


def post_all(url: str, requests: list[tuple[bytes, dict]], *, concurrency: int) -> tuple[float, dict[int, int]]:
    """Send every (payload, headers) once from ``concurrency`` threads; elapsed seconds and the statuses."""
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    pending = iter(requests)

    def worker() -> None:
        with httpx.Client(timeout=300) as client:
            while True:
                with lock:
                    item = next(pending, None)
                if item is None:
                    return
                status = client.post(url, content=item[0], headers=item[1]).status_code
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
    bearer = {"Authorization": f"Bearer {key.stdout.strip().splitlines()[-1]}"}
    auth = {**bearer, "Content-Type": "application/ld+json"}
    port = free_loopback_port()
    base = f"http://127.0.0.1:{port}"
    rates: dict[str, list[float]] = {"unsigned": [], "signed": []}
    block = args.documents * args.events_per_document
    account = Account.create()
    with background([sys.executable, "-m", "service.cli", "serve", "--port", str(port)], env=env, ready=answers(f"{base}/v1/health")):
        chain = httpx.get(f"{base}/v1/health").json()["chain"]
        signing_domain = domain(chain["chain_id"], chain["contract"])
        proof = sign(account, signing_key(signing_domain, party="bench", key=account.address))
        registered = httpx.post(f"{base}/v1/parties/bench/signing-keys", json={"address": account.address, "signature": proof},
                                headers=bearer)
        if registered.status_code != 201:
            raise SystemExit(f"registering the key: {registered.status_code} {registered.text}")
        for round_number in range(args.rounds):
            phases = []
            for offset, kind in ((0, "unsigned"), (1, "signed")):
                first = (2 * round_number + offset) * block
                documents = [document(first + d * args.events_per_document, args.events_per_document) for d in range(args.documents)]
                requests = []
                for item in documents:
                    headers = dict(auth)
                    if kind == "signed":
                        hashes = [content_hash(kind="epcis_event", body=event) for event in item["epcisBody"]["eventList"]]
                        message = submission(signing_domain, party="bench", root=submission_root(hashes), count=len(hashes))
                        headers["TraceAnchor-Signature"] = sign(account, message)
                    requests.append((json.dumps(item).encode(), headers))
                phases.append((kind, requests))
            for kind, requests in phases if round_number % 2 == 0 else phases[::-1]:
                settle_disk()
                elapsed, statuses = post_all(f"{base}/v1/events", requests, concurrency=args.concurrency)
                if statuses != {201: len(requests)}:
                    raise SystemExit(f"{kind}: unexpected answers {statuses}")
                rates[kind].append(block / elapsed)
                print(f"round {round_number + 1} {kind:>8}: {block / elapsed:>9,.0f} events/s", flush=True)
    return rates


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=20)
    parser.add_argument("--events-per-document", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        if args.postgres:
            with postgres_schema() as database_url:
                rates = measure(database_url, Path(folder), args)
        else:
            rates = measure(f"sqlite:///{Path(folder) / 'ledger.db'}", Path(folder), args)
    unsigned, signed = (sum(rates[kind]) / len(rates[kind]) for kind in ("unsigned", "signed"))
    ratio = signed / unsigned
    print(f"{args.events_per_document}-event documents: unsigned {unsigned:,.0f} events/s, signed {signed:,.0f} events/s: "
          f"signed/unsigned {ratio:.2f}x (target >= {RATIO_TARGET}x)")
    return 0 if ratio >= RATIO_TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
