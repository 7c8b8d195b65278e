"""EPCIS query latency at a million events on PostgreSQL: p50/p99 of the main query shapes.

Loads ``--events`` synthetic events (default 1,000,000) with their search terms straight into a
throwaway schema with server-side ``INSERT ... SELECT generate_series`` (minutes, not hours), then
times ``service.read.queries.query_events`` as the API calls it, each run with fresh random values.

Distribution: one year of events, 70 % ObjectEvent / 20 % AggregationEvent (a pallet and four
children) / 10 % TransformationEvent (two inputs, one output); 200,000 items of 1,000 products,
each item named by a handful of events months apart; bizSteps and dispositions skewed like a real
chain (shipping and receiving half of all events, destroying 2 %); 500 locations and 50
suppliers; one event in five cites a purchase order shared by ten events; the newest 1 % pending.

Reported against two baselines measured in the same run: a primary-key fetch of one record (the
floor of any query through the ORM) and, for deep pages, the same page fetched with OFFSET (the
peer keyset pagination replaces). Target: every shape well under 50 ms at p99.

    python bench/query.py [--events 1000000] [--runs 60] [--keep]
"""

import argparse
import random
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import event, text
from sqlmodel import Session, SQLModel, create_engine, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from service.models import Record, RecordLeaf, RecordTerm  # noqa: E402
from service.read.pagination import PageTokens  # noqa: E402
from service.read.parameters import parse_event_query  # noqa: E402
from service.read.queries import query_events  # noqa: E402
from tests.support.servers import postgres_schema  # noqa: E402

START = "2025-01-01 00:00:00+00"
YEAR_SECONDS = 365 * 24 * 3600
TOKENS = PageTokens(b"bench secret")  # as the API signs page tokens
PRODUCTS, ITEMS_PER_EVENT, LOCATIONS, SUPPLIERS = 1000, 5, 500, 50
STEP_WEIGHTS = {"shipping": 25, "receiving": 25, "commissioning": 10, "packing": 10, "storing": 10,
                "retail_selling": 10, "inspecting": 8, "destroying": 2}
DISPOSITION_WEIGHTS = {"in_transit": 30, "in_progress": 40, "active": 20, "retail_sold": 8, "destroyed": 2}
PO = "urn:epcglobal:cbv:bt:0614141000041:PO-"
HASH = "(g::bigint * 2654435761 % 4294967296)"  # Knuth's multiplicative hash of the event number


def weighted(weights: dict[str, int], prefix: str) -> list[str]:
    """100 entries, each value as often as its weight, to pick from with a hashed index."""
    return [prefix + name for name, weight in weights.items() for _ in range(weight)]


def item_sql(k: str) -> str:
    """Canonical Digital Link of item number ``k`` (an SQL expression): product k % 1000, serial k / 1000."""
    return f"'https://id.gs1.org/01/1' || lpad((({k}) % {PRODUCTS})::text, 12, '0') || '7/21/' || (({k}) / {PRODUCTS})"


def item(k: int) -> str:
    return f"https://id.gs1.org/01/1{k % PRODUCTS:012d}7/21/{k // PRODUCTS}"


def load(engine, *, events: int, chunk: int = 100_000) -> None:
    """Tables with secondary indexes dropped, rows inserted in chunks, indexes rebuilt, statistics taken."""
    SQLModel.metadata.create_all(engine)
    indexes = [*Record.__table__.indexes, *RecordLeaf.__table__.indexes, *RecordTerm.__table__.indexes]
    items = events // ITEMS_PER_EVENT
    with engine.begin() as connection:
        for index in indexes:
            index.drop(connection)
        connection.execute(text(  # one anchored batch holds every record but the newest 1 %
            "INSERT INTO batch (id, root, leaf_count, leaf_encoding, status, attempts, created_at, updated_at)"
            " VALUES (1, '0x' || repeat('ab', 32), CAST(:n AS int), 'bytes32', 'ANCHORED', 0, now(), now())"), {"n": int(events * 0.99)})
    for low in range(0, events, chunk):
        high = min(events, low + chunk) - 1
        with engine.begin() as connection:
            connection.execute(text("SET LOCAL session_replication_role = replica"))  # no FK checks while loading
            connection.execute(text(record_rows()), {"low": low, "high": high, "steps": weighted(STEP_WEIGHTS, "https://ref.gs1.org/cbv/BizStep-"),
                                                      "dispositions": weighted(DISPOSITION_WEIGHTS, "https://ref.gs1.org/cbv/Disp-"),
                                                      "events": events})
            connection.execute(text(leaf_rows()), {"low": low, "high": high, "events": events})
            connection.execute(text(term_rows(items)), {"low": low, "high": high})
        print(f"  {high + 1:>9,} events loaded", flush=True)
    with engine.begin() as connection:
        for index in indexes:
            index.create(connection)
        connection.execute(text("SELECT setval(pg_get_serial_sequence('record', 'id'), :n)"), {"n": events})
        connection.execute(text("ANALYZE record; ANALYZE record_leaf; ANALYZE record_term"))


def record_rows() -> str:
    location = f"({HASH} / 10000 % {LOCATIONS})"  # other bits of the hash than bizStep's and disposition's
    return f"""
    INSERT INTO record (id, kind, record_type, business_id, party, body, content_hash, occurred_at,
                        biz_step, disposition, biz_location, read_point, created_at)
    SELECT g + 1, 'EPCIS_EVENT',
           CASE WHEN g % 10 < 7 THEN 'ObjectEvent' WHEN g % 10 < 9 THEN 'AggregationEvent' ELSE 'TransformationEvent' END,
           'ni:///sha-256;' || md5(g::text) || md5((-g)::text) || '?ver=CBV2.0',
           'supplier-' || ({location} % {SUPPLIERS}),
           json_build_object('type', 'ObjectEvent', 'eventTime', '2025-01-01T00:00:00Z', 'action', 'OBSERVE',
                             'bizStep', 'shipping',
                             'readPoint', json_build_object('id', 'urn:epc:id:sgln:0614141.' || {location} || '.0'))::text,
           '0x' || md5(g::text) || md5((g + 1)::text),
           timestamptz '{START}' + (g * ({YEAR_SECONDS}.0 / :events)) * interval '1 second' + ({HASH} % 600) * interval '1 second',
           (CAST(:steps AS text[]))[1 + {HASH} % 100],
           (CAST(:dispositions AS text[]))[1 + ({HASH} / 100) % 100],
           'https://id.gs1.org/414/' || lpad({location}::text, 13, '0'),
           'https://id.gs1.org/414/' || lpad({location}::text, 13, '0'),
           now()
    FROM generate_series(CAST(:low AS bigint), CAST(:high AS bigint)) AS g"""


def leaf_rows() -> str:
    return """
    INSERT INTO record_leaf (record_id, batch_id, tree_index)
    SELECT g + 1, CASE WHEN g < :events * 0.99 THEN 1 END, CASE WHEN g < :events * 0.99 THEN g END
    FROM generate_series(CAST(:low AS bigint), CAST(:high AS bigint)) AS g"""


def term_rows(items: int) -> str:
    def named(number: str) -> str:  # event numbers map onto the item population, so each item recurs
        return item_sql(f"({number}) % {items}")

    return f"""
    INSERT INTO record_term (name, value, record_id)
    SELECT 'epc', {named('g')}, g + 1 FROM generate_series(CAST(:low AS bigint), CAST(:high AS bigint)) AS g WHERE g % 10 < 7
    UNION ALL
    SELECT 'epc', {named(f'g + 1 + c * {items // 4}')}, g + 1
      FROM generate_series(CAST(:low AS bigint), CAST(:high AS bigint)) AS g, generate_series(0, 3) AS c WHERE g % 10 IN (7, 8)
    UNION ALL
    SELECT 'parent', 'https://id.gs1.org/00/' || lpad(g::text, 18, '0'), g + 1 FROM generate_series(CAST(:low AS bigint), CAST(:high AS bigint)) AS g WHERE g % 10 IN (7, 8)
    UNION ALL
    SELECT 'input', {named(f'g + 2 + c * {items // 3}')}, g + 1
      FROM generate_series(CAST(:low AS bigint), CAST(:high AS bigint)) AS g, generate_series(0, 1) AS c WHERE g % 10 = 9
    UNION ALL
    SELECT 'output', {named(f'g + 3 + {items // 2}')}, g + 1 FROM generate_series(CAST(:low AS bigint), CAST(:high AS bigint)) AS g WHERE g % 10 = 9
    UNION ALL
    SELECT 'biz_transaction', 'https://ref.gs1.org/cbv/BTT-po {PO}' || (g / 50), g + 1 FROM generate_series(CAST(:low AS bigint), CAST(:high AS bigint)) AS g WHERE g % 5 = 0
    UNION ALL
    SELECT 'cites', '{PO}' || (g / 50), g + 1 FROM generate_series(CAST(:low AS bigint), CAST(:high AS bigint)) AS g WHERE g % 5 = 0"""


def day(rng: random.Random, *, days: int = 1) -> dict[str, str]:
    first = rng.randrange(0, 365 - days)
    start = time.strftime("%Y-%m-%dT00:00:00Z", time.gmtime(1735689600 + first * 86400))
    end = time.strftime("%Y-%m-%dT00:00:00Z", time.gmtime(1735689600 + (first + days) * 86400))
    return {"GE_eventTime": start, "LT_eventTime": end}


def shapes(events: int) -> dict[str, Callable[[random.Random], tuple[dict, str | None]]]:
    """Query shapes: a parameter factory each, and the supplier it runs as (None: an auditor, sees all)."""
    items = events // ITEMS_PER_EVENT
    return {
        "MATCH_epc one item": lambda rng: ({"MATCH_epc": item(rng.randrange(items))}, None),
        "MATCH_anyEPC one item": lambda rng: ({"MATCH_anyEPC": item(rng.randrange(items))}, None),
        "MATCH_epc product wildcard": lambda rng: ({"MATCH_epc": f"https://id.gs1.org/01/1{rng.randrange(PRODUCTS):012d}7/*"}, None),
        "EQ_bizStep=shipping, one day": lambda rng: ({"EQ_bizStep": "shipping"} | day(rng), None),
        "EQ_bizStep=destroying, 30 days": lambda rng: ({"EQ_bizStep": "destroying"} | day(rng, days=30), None),
        "EQ_bizTransaction_po": lambda rng: ({"EQ_bizTransaction_po": f"{PO}{rng.randrange(events // 50)}"}, None),
        "eventType + EQ_bizLocation": lambda rng: (
            {"eventType": "TransformationEvent", "EQ_bizLocation": f"https://id.gs1.org/414/{rng.randrange(LOCATIONS):013d}"}, None),
        "supplier: EQ_bizStep=receiving DESC": lambda rng: (
            {"EQ_bizStep": "receiving", "orderDirection": "DESC"}, f"supplier-{rng.randrange(SUPPLIERS)}"),
        "status=pending DESC": lambda rng: ({"status": "pending", "orderDirection": "DESC"}, None),
        "newest 100, no filter": lambda rng: ({"orderDirection": "DESC"}, None),
    }


def timed(engine, call: Callable[[Session], object]) -> tuple[float, object]:
    with Session(engine) as session:
        started = time.perf_counter()
        result = call(session)
        return (time.perf_counter() - started) * 1000, result


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


def plan_indexes(engine, params: dict, party: str | None) -> str:
    """The indexes PostgreSQL's plan for this query uses (to check nothing falls back to a scan)."""
    captured = []
    listener = lambda conn, cursor, statement, parameters, context, many: captured.append((statement, parameters))  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        with Session(engine) as session:
            query_events(session, query=parse_event_query(params), party=party, tokens=TOKENS)
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    with engine.connect() as connection:
        plan = "\n".join(connection.exec_driver_sql("EXPLAIN " + captured[-1][0], captured[-1][1]).scalars())
    names = re.findall(r"Index (?:Only )?Scan (?:Backward )?using (\w+)|Bitmap Index Scan on (\w+)", plan)
    used = sorted({name for pair in names for name in pair if name} | ({"SEQ SCAN"} if "Seq Scan" in plan else set()))
    return ",".join(used)


def run_shapes(engine, *, events: int, runs: int, rng: random.Random) -> list[tuple[str, float, float, float, str]]:
    rows = []
    for name, factory in shapes(events).items():
        samples, sizes = [], []
        for _ in range(runs + 1):
            params, party = factory(rng)
            ms, page = timed(engine, lambda s: query_events(s, query=parse_event_query(params), party=party, tokens=TOKENS))
            samples.append(ms)
            sizes.append(len(page.items))
        p50, p99 = percentiles(samples[1:])  # the first run warms the connection
        rows.append((name, p50, p99, statistics.mean(sizes), plan_indexes(engine, params, party)))
    return rows


def deep_pages(engine, *, runs: int, page: int = 50, per_page: int = 100) -> tuple[float, float, float, float]:
    """Page ``page`` of a whole-year bizStep listing: keyset via token vs the same page by OFFSET."""
    params = {"EQ_bizStep": "storing", "perPage": str(per_page)}
    token = None
    with Session(engine) as session:
        for _ in range(page - 1):
            token = query_events(session, query=parse_event_query(params | ({"nextPageToken": token} if token else {})),
                                 party=None, tokens=TOKENS).next_page_token
    query = parse_event_query(params | {"nextPageToken": token})
    keyset = [timed(engine, lambda s: query_events(s, query=query, party=None, tokens=TOKENS))[0] for _ in range(runs + 1)][1:]
    offset_statement = (select(Record).where(Record.biz_step == "https://ref.gs1.org/cbv/BizStep-storing")
                        .order_by(Record.occurred_at, Record.id).offset((page - 1) * per_page).limit(per_page))
    offset = [timed(engine, lambda s: s.exec(offset_statement).all())[0] for _ in range(runs + 1)][1:]
    return (*percentiles(keyset), *percentiles(offset))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=60, help="timed runs per query shape")
    parser.add_argument("--keep", action="store_true", help="keep the schema (prints its name)")
    args = parser.parse_args()
    with postgres_schema(prefix="bench_query", keep=args.keep) as url:
        schema = url.rsplit("%3D", 1)[1]
        engine = create_engine(url)
        try:
            started = time.perf_counter()
            print(f"loading {args.events:,} events into schema {schema} ...", flush=True)
            load(engine, events=args.events)
            with engine.connect() as connection:
                terms = connection.execute(text("SELECT count(*) FROM record_term")).scalar_one()
            print(f"loaded {args.events:,} events, {terms:,} terms in {time.perf_counter() - started:.0f} s\n")
            rng = random.Random(20260901)
            floor = [timed(engine, lambda s: s.get(Record, rng.randrange(1, args.events)))[0] for _ in range(args.runs + 1)][1:]
            floor_p50, floor_p99 = percentiles(floor)
            print(f"{'query shape':38} {'p50 ms':>8} {'p99 ms':>8} {'x PK p50':>9} {'rows':>6}  indexes used")
            print(f"{'baseline: one record by primary key':38} {floor_p50:8.2f} {floor_p99:8.2f} {1:9.1f} {1:6}")
            results = run_shapes(engine, events=args.events, runs=args.runs, rng=rng)
            for name, p50, p99, rows, indexes in results:
                print(f"{name:38} {p50:8.2f} {p99:8.2f} {p50 / floor_p50:9.1f} {rows:6.0f}  {indexes}")
            keyset_p50, keyset_p99, offset_p50, offset_p99 = deep_pages(engine, runs=args.runs)
            print(f"{'page 50 by nextPageToken (keyset)':38} {keyset_p50:8.2f} {keyset_p99:8.2f} {keyset_p50 / floor_p50:9.1f}")
            print(f"{'page 50 by OFFSET (peer)':38} {offset_p50:8.2f} {offset_p99:8.2f} {offset_p50 / floor_p50:9.1f}")
            print(f"\nkeyset vs OFFSET at page 50: {offset_p50 / keyset_p50:.1f}x faster (p50)")
            worst = max(p99 for _, _, p99, _, _ in results)
            print(f"worst p99 over the shapes: {worst:.1f} ms (target < 50 ms): {'met' if worst < 50 else 'MISSED'}")
            print(f"total {time.perf_counter() - started:.0f} s")
        finally:
            engine.dispose()
            if args.keep:
                print(f"schema kept: {schema}")


if __name__ == "__main__":
    main()
