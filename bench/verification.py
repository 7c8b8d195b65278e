"""Verifying analytics input: ``select_verified`` against reading the same rows, same run.

    python bench/verification.py [--records 20000] [--no-postgres | --no-sqlite]

Every analytics request verifies each of its input records: recompute the content hash from the
stored body, walk the Merkle proof read from the batch's stored tree to the batch root, ask the
contract once per root. This stores ``--records`` payments (SQLite in a temporary directory, then a
throwaway PostgreSQL schema), anchors them on the embedded chain, and times, interleaved, reading
all of them as ``Record`` rows (the query an analytic runs anyway: the baseline) and
``select_verified`` on the same statement. The first verification of a process recomputes every
hash ("cold"); later ones find the hashes memoised by the exact stored text ("warm").

Target: a warm verification costs at most 3x the read, a cold one at most 5x. Exits 1 if missed.
"""

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlmodel import select  # noqa: E402

from service.db import migrate  # noqa: E402
from service.runtime import Runtime  # noqa: E402
from service.models import Record, RecordKind  # noqa: E402
from service.settings import Settings  # noqa: E402
from service.verify.verification import VerificationCache  # noqa: E402
from service.verify.selection import select_verified  # noqa: E402
from tests.support.records import payment, store_transactions  # noqa: E402
from tests.support.servers import postgres_schema  # noqa: E402

WARM_TARGET, COLD_TARGET = 3.0, 5.0
RUNS = 5
STATEMENT = select(Record).where(Record.kind == RecordKind.TRANSACTION)


def fill(ledger: Runtime, records: int, chunk: int = 2000) -> None:
    for start in range(0, records, chunk):
        with ledger.session() as session:
            payments = [payment(n) for n in range(start, min(records, start + chunk))]
            store_transactions(session, transactions=payments, party="processor")
    ledger.anchoring.anchor_now()


def seconds(ledger: Runtime, call: Callable) -> float:
    with ledger.session() as session:
        started = time.perf_counter()
        result = call(session)
        elapsed = time.perf_counter() - started
    assert result, "nothing was read"
    return elapsed


def measure(ledger: Runtime, records: int) -> dict[str, float]:
    """Microseconds per record: best read, cold verification, best warm verification."""
    def read(session):
        return session.exec(STATEMENT).all()

    def verify(session):
        selection = select_verified(session, ledger.chain, statement=STATEMENT,
                                    cache=VerificationCache(derivations=ledger.derivations))
        assert len(selection.records) == records, selection.summary()
        return selection.records

    ledger.derivations.forget()  # filling and anchoring derived nothing, but cold means cold
    seconds(ledger, read)  # warms the connection and the database's cache
    cold = seconds(ledger, verify)
    reads, warm = [], []
    for _ in range(RUNS):
        reads.append(seconds(ledger, read))
        warm.append(seconds(ledger, verify))
    return {name: 1e6 * value / records for name, value in (("read", min(reads)), ("cold", cold), ("warm", min(warm)))}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    args = parser.parse_args()
    missed = []
    print(f"{args.records:,} anchored payments; microseconds per record (best of {RUNS}, cold: first run)")
    print(f"{'database':<12}{'read':>8}{'verify cold':>13}{'verify warm':>13}{'cold/read':>11}{'warm/read':>11}")
    databases = [name for name, skip in (("sqlite", args.no_sqlite), ("postgresql", args.no_postgres)) if not skip]
    for database in databases:
        with tempfile.TemporaryDirectory() as data_dir:
            if database == "sqlite":
                figures = run(Settings(data_dir=data_dir), args.records)
            else:
                with postgres_schema(prefix="bench") as url:
                    figures = run(Settings(data_dir=data_dir, database_url=url), args.records)
        cold, warm = figures["cold"] / figures["read"], figures["warm"] / figures["read"]
        print(f"{database:<12}{figures['read']:>8.1f}{figures['cold']:>13.1f}{figures['warm']:>13.1f}{cold:>10.2f}x{warm:>10.2f}x")
        missed += [f"{database} cold <= {COLD_TARGET:.0f}x"] * (cold > COLD_TARGET)
        missed += [f"{database} warm <= {WARM_TARGET:.0f}x"] * (warm > WARM_TARGET)
    print("targets met" if not missed else f"MISSED: {', '.join(missed)}")
    return 1 if missed else 0


def run(settings: Settings, records: int) -> dict[str, float]:
    migrate(settings)
    ledger = Runtime(settings)
    try:
        fill(ledger, records)
        return measure(ledger, records)
    finally:
        ledger.close()


if __name__ == "__main__":
    sys.exit(main())
