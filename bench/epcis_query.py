"""The EPCIS binding's query against /v1's, through HTTP, on the same PostgreSQL data, same run.

    python bench/epcis_query.py [--events 1000000] [--runs 40]

Loads ``--events`` synthetic events as ``bench/query.py`` does (into a throwaway schema that
``traceanchor migrate`` created first, so the service opens it), then times pages of 100 events,
interleaved, through ``GET /v1/events`` and ``GET /epcis/events`` with the same filters, as an
auditor, in process (FastAPI's TestClient): the binding's extra work is rendering each page as an
EPCISQueryDocument with GS1 Digital Links and its ``Link`` header. Target: the binding's p99 within
2x of /v1's for every filter. Exits 1 if missed.
"""

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fastapi.testclient import TestClient  # noqa: E402
from sqlmodel import create_engine  # noqa: E402

import query  # noqa: E402  (bench/query.py: the synthetic million and its query shapes)
from service.access.keys import create_key  # noqa: E402
from service.api.app import create_app  # noqa: E402
from service.db import migrate  # noqa: E402
from service.models import Role  # noqa: E402
from service.runtime import Runtime  # noqa: E402
from service.settings import Settings  # noqa: E402
from tests.support.servers import postgres_schema  # noqa: E402

TARGET = 2.0
PER_PAGE = "100"
SHAPES = ("MATCH_epc product wildcard", "EQ_bizStep=shipping, one day", "eventType + EQ_bizLocation", "newest 100, no filter")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=40, help="timed pages per endpoint and filter")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data_dir, postgres_schema(prefix="bench_epcis") as url:
        settings = Settings(data_dir=data_dir, database_url=url, anchor_in_background=False, deliver_in_background=False,
                            capture_processes=0)
        migrate(settings)
        engine = create_engine(url)
        started = time.perf_counter()
        query.load(engine, events=args.events)
        engine.dispose()
        print(f"{args.events:,} events loaded in {time.perf_counter() - started:.0f} s; pages of {PER_PAGE}, {args.runs} runs each, auditor")
        runtime = Runtime(settings)
        with runtime.session() as session:
            _, token = create_key(session, role=Role.AUDITOR, party="auditor")
        headers = {"Authorization": f"Bearer {token}"}
        missed = []
        print(f"{'filter':36} {'/v1 p50':>8} {'p99':>7} {'/epcis p50':>11} {'p99':>7} {'p99 ratio':>10}")
        with TestClient(create_app(runtime=runtime)) as client:
            rng = random.Random(20261203)
            shapes = query.shapes(args.events)
            for name in SHAPES:
                samples: dict[str, list[float]] = {"/v1/events": [], "/epcis/events": []}
                for _ in range(args.runs + 1):  # the first round warms caches and is dropped
                    params, _ = shapes[name](rng)
                    for path in samples:
                        begun = time.perf_counter()
                        response = client.get(path, params={**params, "perPage": PER_PAGE}, headers=headers)
                        samples[path].append(1000 * (time.perf_counter() - begun))
                        assert response.status_code == 200, (path, response.text[:300])
                (v1_p50, v1_p99), (epcis_p50, epcis_p99) = (query.percentiles(times[1:]) for times in samples.values())
                ratio = epcis_p99 / v1_p99
                print(f"{name:36} {v1_p50:8.1f} {v1_p99:7.1f} {epcis_p50:11.1f} {epcis_p99:7.1f} {ratio:9.2f}x")
                missed += [name] * (ratio > TARGET)
        runtime.close()
    print(f"target: /epcis p99 within {TARGET:.0f}x of /v1's: " + ("met" if not missed else f"MISSED for {', '.join(missed)}"))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
