"""Ingest throughput through HTTP: `traceanchor serve` against a trivial FastAPI endpoint, same run.

    python bench/ingest.py [--single 5000] [--documents 100] [--concurrency 8] [--time-cap 20] [--no-postgres | --no-sqlite]
                           [--anchoring-process]

Every server is a separate process on 127.0.0.1 with one uvicorn worker: the baseline is a tiny
FastAPI app whose ``POST /echo`` returns ``{"ok": true}``; then ``traceanchor serve`` on SQLite and
on PostgreSQL (a throwaway schema, dropped at the end), embedded chain, batch size 1024, batch age
1 s, the background anchoring loop running (with ``--anchoring-process``: the API worker without
it and a ``traceanchor anchor --follow`` process beside it, both on an anvil node, as several
workers would run). The load generator is another process: ``--concurrency`` threads, each with
its own keep-alive ``httpx.Client``, sending pre-built bodies until the request
budget is spent or ``--time-cap`` seconds pass. Every event is new (unique EPC and time). Before each
phase, dirty pages of earlier phases are written back (``os.sync``).

Phases per database: single-event requests (one bare JSON-LD ObjectEvent each), then documents of
``--events-per-document`` events. After each phase we time how long the anchoring loop needs until
no record is pending or submitted ("drain"), and report anchoring throughput as records anchored
over the time from the phase's first request to the last record anchored.

Targets (one worker): single-event capture >= 0.5x the baseline's requests/s; documents >= 10,000
events/s; anchoring keeps up (drain of a few seconds, anchoring rate >= the ingest rate).
The machine's cores are shared by the server, the load generator and anything else running, so
figures are for comparison within one run. Exits 1 if a target is missed.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.servers import anvil_node, free_loopback_port, postgres_schema  # noqa: E402

CONTEXT = ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"]
LOCATION = "urn:epc:id:sgln:0614141.00001.0"
START_TIMEOUT = 60.0
DRAIN_TIMEOUT = 180.0
SINGLE_RATIO_TARGET = 0.5
DOCUMENT_EVENTS_TARGET = 10_000
DRAIN_TARGET = 10.0  # seconds after the load until every record is anchored: the backlog the loop must clear


# --- what the load generator sends -------------------------------------------------------------

def event(serial: int, *, run: int) -> dict:
    """A distinct ObjectEvent: its EPC and its time both derive from ``serial``."""
    seconds = serial % 86_400
    return {
        "type": "ObjectEvent",
        "eventTime": f"2026-09-{1 + serial // 86_400 % 28:02d}T{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}Z",
        "eventTimeZoneOffset": "+00:00",
        "epcList": [f"urn:epc:id:sgtin:0614141.011111.{run}{serial:09d}"],
        "action": "OBSERVE",
        "bizStep": "shipping",
        "disposition": "in_transit",
        "readPoint": {"id": LOCATION},
    }


def bodies(*, requests: int, events_per_request: int, run: int) -> list[bytes]:
    """Request bodies: a bare JSON-LD event each, or an EPCISDocument of ``events_per_request`` events."""
    if events_per_request == 1:
        return [json.dumps({"@context": CONTEXT, **event(n, run=run)}).encode() for n in range(requests)]
    return [
        json.dumps({
            "@context": CONTEXT, "type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": "2026-09-01T00:00:00Z",
            "epcisBody": {"eventList": [event(r * events_per_request + n, run=run) for n in range(events_per_request)]},
        }).encode()
        for r in range(requests)
    ]


def generate_load(*, url: str, token: str | None, payloads: list[bytes], concurrency: int, time_cap: float) -> dict:
    """Send every payload once from ``concurrency`` threads (or stop at ``time_cap``); latencies and counts."""
    headers = {"Content-Type": "application/ld+json", **({"Authorization": f"Bearer {token}"} if token else {})}
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    next_index = iter(range(len(payloads)))
    started = time.perf_counter()
    deadline = started + time_cap

    def worker() -> None:
        with httpx.Client(timeout=120) as client:
            while time.perf_counter() < deadline:
                with lock:
                    index = next(next_index, None)
                if index is None:
                    return
                sent = time.perf_counter()
                status = client.post(url, content=payloads[index], headers=headers).status_code
                took = time.perf_counter() - sent
                with lock:
                    latencies.append(took)
                    statuses[status] = statuses.get(status, 0) + 1

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies)
    return {
        "requests": len(ordered), "elapsed": elapsed, "statuses": statuses,
        "p50": statistics.median(ordered), "p99": ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))],
    }


def _load_main(args: argparse.Namespace) -> int:
    """The load generator process: build the bodies, then time only the sending; JSON on stdout."""
    payloads = bodies(requests=args.requests, events_per_request=args.events_per_request, run=args.run)
    print(json.dumps(generate_load(url=args.url, token=args.token, payloads=payloads, concurrency=args.concurrency, time_cap=args.time_cap)))
    return 0


def _echo_main(args: argparse.Namespace) -> int:
    """The baseline server: the smallest FastAPI endpoint, run like ``traceanchor serve`` runs."""
    import uvicorn
    from fastapi import FastAPI

    app = FastAPI()

    @app.post("/echo")
    def echo() -> dict:
        return {"ok": True}

    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")
    return 0


# --- the orchestrator -------------------------------------------------------------------------

@contextmanager
def background(command: list[str], *, env: dict[str, str], ready: Callable[[], bool] = lambda: True) -> Iterator[None]:
    """A process that runs while the block runs (SIGTERM at its end), entered once ``ready()``."""
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not ready():
            if process.poll() is not None:
                raise SystemExit(f"{command} exited with {process.returncode}")
            if time.monotonic() > deadline:
                raise SystemExit(f"{command} did not answer within {START_TIMEOUT} s")
            time.sleep(0.1)
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def answers(url: str) -> Callable[[], bool]:
    """Whether ``url`` answers a GET with 200 or 405 (the echo app has only POST)."""
    def probe() -> bool:
        try:
            return httpx.get(url, timeout=2).status_code in (200, 405)
        except httpx.TransportError:
            return False

    return probe


def settle_disk() -> None:
    """Write back what earlier phases left dirty in the page cache, so that this phase's database
    does not wait on another phase's writes (the kernel flushes them for half a minute after)."""
    os.sync()
    time.sleep(1)


def run_load(*, url: str, token: str | None, requests: int, events_per_request: int, run: int, args: argparse.Namespace) -> dict:
    """Run the load generator as its own process; its figures plus wall-clock start."""
    command = [sys.executable, __file__, "load", "--url", url, "--requests", str(requests),
               "--events-per-request", str(events_per_request), "--run", str(run),
               "--concurrency", str(args.concurrency), "--time-cap", str(args.time_cap)]
    if token:
        command += ["--token", token]
    done = subprocess.run(command, capture_output=True, text=True, check=True, timeout=args.time_cap + 300)
    result = json.loads(done.stdout)
    result["events"] = result["statuses"].get("201", 0) * events_per_request
    return result


def unanchored(engine) -> tuple[int, int]:
    """(records not yet anchored, all records)."""
    from sqlmodel import Session, func, select

    from service.anchor.anchoring import pending_record_count
    from service.models import Record

    with Session(engine) as session:
        return pending_record_count(session), session.exec(select(func.count()).select_from(Record)).one()


def drain(engine, *, since: float, before: int) -> dict:
    """Wait for the background loop to anchor everything; drain time and anchoring rate of the phase."""
    load_end = time.monotonic()
    while True:
        left, total = unanchored(engine)
        if left == 0 or time.monotonic() - load_end > DRAIN_TIMEOUT:
            break
        time.sleep(0.2)
    done = time.monotonic()
    return {"drain": done - load_end, "left": left, "anchored_rate": (total - before - left) / (done - since), "total": total}


def measure_service(name: str, *, database_url: str, data_dir: Path, args: argparse.Namespace) -> list[dict]:
    """Both phases against ``traceanchor serve`` on one database (and, with ``--anchoring-process``,
    ``traceanchor anchor --follow`` beside it on an anvil node)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACEANCHOR_")}
    env.update(PYTHONPATH=str(ROOT) + ":/tmp/g/cc", TRACEANCHOR_DATA_DIR=str(data_dir), TRACEANCHOR_DATABASE_URL=database_url,
               TRACEANCHOR_BATCH_SIZE="1024", TRACEANCHOR_BATCH_AGE="1", TRACEANCHOR_ANCHOR_INTERVAL="0.5",
               TRACEANCHOR_MAX_EVENTS=str(max(10_000, args.events_per_document)))
    subprocess.run([sys.executable, "-m", "service.cli", "migrate"], cwd=ROOT, env=env, capture_output=True, check=True)
    if not args.anchoring_process:
        return measure_phases(name, env=env, args=args)
    with anvil_node() as (chain_url, _):
        deployed = subprocess.run([sys.executable, "-m", "service.cli", "deploy", "--rpc", chain_url],
                                  cwd=ROOT, env=env, capture_output=True, text=True, check=True)
        env.update(TRACEANCHOR_CHAIN_URL=chain_url, TRACEANCHOR_CONTRACT_ADDRESS=deployed.stdout.strip().splitlines()[-1])
        with background([sys.executable, "-m", "service.cli", "anchor", "--follow"], env=env):
            return measure_phases(f"{name} + anchoring process", env={**env, "TRACEANCHOR_ANCHOR_IN_BACKGROUND": "false"}, args=args)


def measure_phases(name: str, *, env: dict[str, str], args: argparse.Namespace) -> list[dict]:
    from sqlalchemy import create_engine

    database_url = env["TRACEANCHOR_DATABASE_URL"]
    key = subprocess.run([sys.executable, "-m", "service.cli", "keys", "create", "--role", "supplier", "--party", "bench"],
                         cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    token = key.stdout.strip().splitlines()[-1]
    port = free_loopback_port()
    rows = []
    engine = create_engine(database_url)
    try:
        with background([sys.executable, "-m", "service.cli", "serve", "--port", str(port)], env=env,
                        ready=answers(f"http://127.0.0.1:{port}/v1/health")):
            url = f"http://127.0.0.1:{port}/v1/events"
            for phase, requests, per_request, run in (("single event", args.single, 1, 1),
                                                      (f"{args.events_per_document}-event documents", args.documents, args.events_per_document, 2)):
                settle_disk()
                before = unanchored(engine)[1]
                since = time.monotonic()
                result = run_load(url=url, token=token, requests=requests, events_per_request=per_request, run=run, args=args)
                result.update(drain(engine, since=since, before=before), target=f"{name}, {phase}", per_request=per_request)
                rows.append(result)
    finally:
        engine.dispose()
    return rows


def print_table(baseline: dict, rows: list[dict]) -> None:
    print(f"load: {baseline['concurrency']} threads, one httpx.Client each, separate process; one uvicorn worker per server")
    print(f"{'target':<40} {'req':>6} {'req/s':>8} {'events/s':>9} {'vs base':>8} {'p50 ms':>8} {'p99 ms':>8} "
          f"{'drain s':>8} {'anchored/s':>10}  non-2xx")
    for row in [baseline, *rows]:
        rps = row["requests"] / row["elapsed"]
        events = f"{row['events'] / row['elapsed']:.0f}" if "per_request" in row else "-"
        drain_s = f"{row['drain']:.1f}" if "drain" in row else "-"
        anchored = f"{row['anchored_rate']:.0f}" if "anchored_rate" in row else "-"
        bad = {k: v for k, v in row["statuses"].items() if not k.startswith("2")}
        ratio = f"{rps / (baseline['requests'] / baseline['elapsed']):.2f}x" if row.get("per_request", 1) == 1 else "-"
        print(f"{row['target']:<40} {row['requests']:>6} {rps:>8.0f} {events:>9} {ratio:>8} "
              f"{row['p50'] * 1000:>8.1f} {row['p99'] * 1000:>8.1f} {drain_s:>8} {anchored:>10}  {bad or ''}")


def verdict(baseline: dict, rows: list[dict]) -> bool:
    """Print each target's outcome; True if all are met."""
    base_rps = baseline["requests"] / baseline["elapsed"]
    ok = True
    for row in rows:
        rate = row["requests"] / row["elapsed"]
        ingest = row["events"] / row["elapsed"]
        if row["per_request"] == 1:
            met = rate >= SINGLE_RATIO_TARGET * base_rps
            print(f"{row['target']}: {rate / base_rps:.2f}x baseline (target >= {SINGLE_RATIO_TARGET}x): {'met' if met else 'MISSED'}")
        else:
            met = ingest >= DOCUMENT_EVENTS_TARGET
            print(f"{row['target']}: {ingest:.0f} events/s (target >= {DOCUMENT_EVENTS_TARGET}): {'met' if met else 'MISSED'}")
        keeps_up = row["left"] == 0 and row["drain"] <= DRAIN_TARGET
        print(f"  anchoring: {row['anchored_rate']:.0f} records/s over load and drain, everything anchored "
              f"{row['drain']:.1f} s after the load (target <= {DRAIN_TARGET} s): {'keeps up' if keeps_up else 'FALLS BEHIND'}")
        ok = ok and met and keeps_up
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command")
    load = commands.add_parser("load", help="(internal) the load generator process")
    load.add_argument("--url", required=True)
    load.add_argument("--token")
    load.add_argument("--requests", type=int, required=True)
    load.add_argument("--events-per-request", type=int, required=True)
    load.add_argument("--run", type=int, required=True, help="distinguishes EPCs between phases")
    load.add_argument("--concurrency", type=int, required=True)
    load.add_argument("--time-cap", type=float, required=True)
    load.set_defaults(main=_load_main)
    echo = commands.add_parser("echo", help="(internal) the baseline server")
    echo.add_argument("--port", type=int, required=True)
    echo.set_defaults(main=_echo_main)
    parser.add_argument("--single", type=int, default=5000, help="single-event requests per database (and for the baseline)")
    parser.add_argument("--documents", type=int, default=100, help="documents per database")
    parser.add_argument("--events-per-document", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--time-cap", type=float, default=20.0, help="seconds per load phase at most")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    parser.add_argument("--anchoring-process", action="store_true",
                        help="anchor in a separate `traceanchor anchor --follow` on an anvil node, not in the API worker")
    args = parser.parse_args()
    if args.command:
        return args.main(args)

    port = free_loopback_port()
    with background([sys.executable, __file__, "echo", "--port", str(port)], env=dict(os.environ),
                    ready=answers(f"http://127.0.0.1:{port}/echo")):
        baseline = run_load(url=f"http://127.0.0.1:{port}/echo", token=None, requests=args.single, events_per_request=1, run=0, args=args)
    baseline.update(target="baseline: FastAPI POST /echo", concurrency=args.concurrency)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        if not args.no_sqlite:
            rows += measure_service("SQLite", database_url=f"sqlite:///{Path(tmp) / 'sqlite' / 'traceanchor.db'}",
                                    data_dir=Path(tmp) / "sqlite", args=args)
        if not args.no_postgres:
            with postgres_schema(prefix="bench") as url:
                rows += measure_service("PostgreSQL", database_url=url, data_dir=Path(tmp) / "postgres", args=args)
    print_table(baseline, rows)
    return 0 if verdict(baseline, rows) else 1


if __name__ == "__main__":
    sys.exit(main())
