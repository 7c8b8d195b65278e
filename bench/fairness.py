"""Fairness between submitters: a small writer's latency with and without large documents beside it.

    python bench/fairness.py [--small 200] [--large-clients 3] [--documents 2] [--events-per-document 5000]
                             [--time-cap 60] [--sqlite]

One ``traceanchor serve`` (one uvicorn worker, PostgreSQL in a throwaway schema, or SQLite with
``--sqlite``; embedded chain, the background anchoring loop running, the default capture worker).
Supplier ``small`` posts single-event captures one after the other: ``--small`` of them alone
(the baseline), then from the moment supplier ``bulk`` starts posting ``--documents`` documents of
``--events-per-document`` events from each of ``--large-clients`` clients (a separate process,
every event new) until the last of them is answered, so every timed request of that phase had them
beside it, from their capture to their commit. We report the small writer's p50 and p99 in both phases and their ratio (with /
without), its longest wait, and the large documents' events/s. The small writer sends one request
at a time, so a stall of the server delays one of its requests: its p99 counts stalls, its
longest wait measures the worst one.

Target: the small writer's p99 beside the large documents within 20x its p99 alone (it shares the
machine's cores with them, so some slowdown is expected; before fair turns it was queued behind
whole documents). The cores are shared by everything running, so figures compare within one run.
Exits 1 if the target is missed.
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
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import ingest  # noqa: E402  (bench/ingest.py: bodies, servers)
from tests.support.servers import free_loopback_port, postgres_schema  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
P99_RATIO_TARGET = 20.0
MAX_BESIDE = 50_000  # small writes beside the large documents at most (they stop with the large documents)
HEADERS = {"Content-Type": "application/ld+json"}


def small_writer(*, url: str, token: str, requests: int, run: int, until: threading.Event | None = None) -> list[float]:
    """Post single events one after the other (stopping early once ``until`` is set); their latencies."""
    payloads = ingest.bodies(requests=requests, events_per_request=1, run=run)
    latencies = []
    with httpx.Client(timeout=300, headers={**HEADERS, "Authorization": f"Bearer {token}"}) as client:
        for payload in payloads:
            if until is not None and until.is_set():
                break
            sent = time.perf_counter()
            response = client.post(url, content=payload)
            latencies.append(time.perf_counter() - sent)
            if response.status_code != 201:
                raise SystemExit(f"small write: {response.status_code} {response.text[:200]}")
    return latencies


def _large_main(args: argparse.Namespace) -> int:
    """The large clients' process: build every document, say so, send them; JSON figures on stdout."""
    documents = ingest.bodies(requests=args.large_clients * args.documents, events_per_request=args.events_per_document, run=args.run)
    print("sending", flush=True)
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    started = time.perf_counter()
    deadline = started + args.time_cap

    def client(mine: list[bytes]) -> None:
        with httpx.Client(timeout=300, headers={**HEADERS, "Authorization": f"Bearer {args.token}"}) as http:
            for body in mine:
                if time.perf_counter() > deadline:
                    return
                status = http.post(args.url, content=body).status_code
                with lock:
                    statuses[status] = statuses.get(status, 0) + 1

    threads = [threading.Thread(target=client, args=(documents[n :: args.large_clients],)) for n in range(args.large_clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(json.dumps({"elapsed": time.perf_counter() - started, "statuses": statuses}), flush=True)
    return 0


def figures(latencies: list[float]) -> dict:
    ordered = sorted(latencies)
    return {"requests": len(ordered), "p50": statistics.median(ordered), "p99": ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))],
            "max": ordered[-1]}


def measure(*, env: dict[str, str], args: argparse.Namespace) -> tuple[dict, dict, dict]:
    """(the small writer alone, the small writer beside the large documents, the large documents)."""
    tokens = {}
    for party in ("small", "bulk"):
        created = subprocess.run([sys.executable, "-m", "service.cli", "keys", "create", "--role", "supplier", "--party", party],
                                 cwd=ROOT, env=env, capture_output=True, text=True, check=True)
        tokens[party] = created.stdout.strip().splitlines()[-1]
    port = free_loopback_port()
    url = f"http://127.0.0.1:{port}/v1/events"
    with ingest.background([sys.executable, "-m", "service.cli", "serve", "--port", str(port)], env=env,
                           ready=ingest.answers(f"http://127.0.0.1:{port}/v1/health")):
        small_writer(url=url, token=tokens["small"], requests=20, run=9)  # warm-up: connections, caches
        alone = figures(small_writer(url=url, token=tokens["small"], requests=args.small, run=1))
        large = subprocess.Popen(
            [sys.executable, __file__, "large", "--url", url, "--token", tokens["bulk"], "--run", "3",
             "--large-clients", str(args.large_clients), "--documents", str(args.documents),
             "--events-per-document", str(args.events_per_document), "--time-cap", str(args.time_cap)],
            cwd=ROOT, stdout=subprocess.PIPE, text=True,
        )
        try:
            if large.stdout.readline().strip() != "sending":
                raise SystemExit("the large clients did not start")
            done = threading.Event()
            result: dict = {}

            def wait_large() -> None:
                result.update(json.loads(large.stdout.readline()))
                done.set()

            waiter = threading.Thread(target=wait_large)
            waiter.start()
            beside = figures(small_writer(url=url, token=tokens["small"], requests=MAX_BESIDE, run=2, until=done))
            waiter.join(args.time_cap + 300)
        finally:
            large.wait(timeout=60)
    answered = result["statuses"].get("201", 0)
    result["events_per_second"] = answered * args.events_per_document / result["elapsed"]
    return alone, beside, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command")
    large = commands.add_parser("large", help="(internal) the large clients' process")
    large.add_argument("--url", required=True)
    large.add_argument("--token", required=True)
    large.add_argument("--run", type=int, required=True)
    large.set_defaults(main=_large_main)
    for command in (parser, large):
        command.add_argument("--large-clients", type=int, default=3)
        command.add_argument("--documents", type=int, default=2, help="documents per large client")
        command.add_argument("--events-per-document", type=int, default=5000)
        command.add_argument("--time-cap", type=float, default=60.0, help="seconds the large clients send at most")
    parser.add_argument("--small", type=int, default=200, help="single-event requests of the small writer alone (the baseline)")
    parser.add_argument("--sqlite", action="store_true", help="SQLite instead of PostgreSQL")
    args = parser.parse_args()
    if args.command:
        return args.main(args)

    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRACEANCHOR_")}
        env.update(PYTHONPATH=str(ROOT), TRACEANCHOR_DATA_DIR=tmp, TRACEANCHOR_MAX_EVENTS=str(max(10_000, args.events_per_document)))
        if args.sqlite:
            name = "SQLite"
            alone, beside, large_figures = measure(env={**env, "TRACEANCHOR_DATABASE_URL": f"sqlite:///{tmp}/traceanchor.db"}, args=args)
        else:
            name = "PostgreSQL"
            with postgres_schema(prefix="bench") as url:
                alone, beside, large_figures = measure(env={**env, "TRACEANCHOR_DATABASE_URL": url}, args=args)
    ratio = beside["p99"] / alone["p99"]
    print(f"{name}, one uvicorn worker; large: {args.large_clients} clients x {args.documents} documents x "
          f"{args.events_per_document} events, {large_figures['events_per_second']:.0f} events/s, statuses {large_figures['statuses']}")
    print(f"{'small writer':<28} {'req':>5} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for label, row in (("alone (baseline)", alone), ("beside the large documents", beside)):
        print(f"{label:<28} {row['requests']:>5} {row['p50'] * 1000:>8.1f} {row['p99'] * 1000:>8.1f} {row['max'] * 1000:>8.1f}")
    met = ratio <= P99_RATIO_TARGET
    print(f"p99 beside / alone: {ratio:.1f}x (p50: {beside['p50'] / alone['p50']:.1f}x); target <= {P99_RATIO_TARGET:g}x: "
          f"{'met' if met else 'MISSED'}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
