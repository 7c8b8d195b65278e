"""EPCIS event queries and transaction listings against an independent in-test oracle.

A generated set of events (several event types, bizSteps spelt short / as URN / as CBV URI,
EPCs spelt as URN or Digital Link, eventTimes with offsets, shared instants, two parties) is
stored; every query's result is compared, ids and order, with a plain Python filter over the
generator's own description of each event.
"""

import base64
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, text

from service.errors import InvalidParameter
from service.read.pagination import PageRequest, PageTokens
from service.read.parameters import parse_event_query
from service.read.queries import query_events, query_transactions
from support.records import store_events, store_transactions
from service.access.viewer import Viewer

EVERYONE = Viewer(party="auditor", everything=True)


def viewer_for(party: str | None) -> Viewer:
    """A supplier's view of its own records, or (None) an auditor's of everyone's."""
    return EVERYONE if party is None else Viewer(party=party)

BASE = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
CONTEXT = ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"]
STEP_SPELLINGS = {  # each step stored under one spelling, queried under others
    "shipping": "shipping",
    "receiving": "urn:epcglobal:cbv:bizstep:receiving",
    "packing": "https://ref.gs1.org/cbv/BizStep-packing",
    "commissioning": "commissioning",
}
DISPOSITIONS = ("in_transit", "in_progress", "active")
LOCATIONS = tuple(f"urn:epc:id:sgln:0614141.0000{k}.0" for k in (1, 2, 3))
LOCATION_LINKS = ("https://id.gs1.org/414/0614141000012", "https://id.gs1.org/414/0614141000029", "https://id.gs1.org/414/0614141000036")
GTIN_A_URN, GTIN_A_LINK = "urn:epc:id:sgtin:0614141.107346.", "https://id.gs1.org/01/10614141073464/21/"
GTIN_B_URN = "urn:epc:id:sgtin:0614141.207346."  # a second product, stored as URNs only
PO = "urn:epcglobal:cbv:bt:0614141000041:PO-"
TOKENS = PageTokens(b"the server secret")


@dataclass(frozen=True)
class Spec:
    """What the generator put into event ``n`` (serials of the EPCs, not their spelling)."""

    n: int
    kind: str
    time: datetime
    step: str
    disposition: str
    location: int
    epcs: frozenset[str]  # "A5" = product A serial 5, as epcList / childEPCs
    parents: frozenset[str]
    inputs: frozenset[str]
    outputs: frozenset[str]
    po: str | None
    party: str
    id: int = 0

    @property
    def any_epcs(self) -> frozenset[str]:
        return self.epcs | self.parents | self.inputs | self.outputs


def spec(n: int) -> Spec:
    kind = "AggregationEvent" if n % 7 == 0 else "TransformationEvent" if n % 11 == 0 else "ObjectEvent"
    item = f"{'B' if n % 4 == 3 else 'A'}{n}"
    return Spec(
        n=n,
        kind=kind,
        time=BASE + timedelta(minutes=10 * (n // 3)),  # three events per instant: ties broken by id
        step=list(STEP_SPELLINGS)[n % 4 if n % 4 != 3 else n % 3],
        disposition=DISPOSITIONS[n % 3],
        location=n % 3,
        epcs=frozenset({item, f"A{n + 1000}"} if kind == "AggregationEvent" else {item} if kind == "ObjectEvent" else ()),
        parents=frozenset({f"P{n}"} if kind == "AggregationEvent" else ()),
        inputs=frozenset({item} if kind == "TransformationEvent" else ()),
        outputs=frozenset({f"A{n + 2000}"} if kind == "TransformationEvent" else ()),
        po=f"{PO}{n % 4}" if n % 5 == 0 else None,
        party="farm" if n % 4 == 0 else "processor",
    )


def spelt(item: str, n: int) -> str:
    """An EPC as the event spells it: URN for even n, Digital Link for odd n (product A only)."""
    if item.startswith("P"):
        return f"urn:epc:id:sscc:0614141.{int(item[1:]):010d}"
    serial = item[1:]
    if item.startswith("B"):
        return GTIN_B_URN + serial
    return GTIN_A_LINK + serial if n % 2 else GTIN_A_URN + serial


def as_event(s: Spec) -> dict:
    offset = timedelta(hours=2) if s.n % 5 == 1 else timedelta(0)  # same instant, other offset
    local = (s.time + offset).replace(tzinfo=None).isoformat() + ("+02:00" if offset else "Z")
    event = {
        "type": s.kind,
        "eventTime": local,
        "eventTimeZoneOffset": "+02:00" if offset else "+00:00",
        "bizStep": STEP_SPELLINGS[s.step],
        "disposition": s.disposition,
        "bizLocation": {"id": LOCATIONS[s.location]},
        "readPoint": {"id": LOCATIONS[(s.location + 1) % 3]},
    }
    spell = lambda items: sorted(spelt(item, s.n) for item in items)  # noqa: E731
    if s.kind == "AggregationEvent":
        event |= {"action": "ADD", "parentID": spelt(next(iter(s.parents)), s.n), "childEPCs": spell(s.epcs)}
    elif s.kind == "TransformationEvent":
        event |= {"inputEPCList": spell(s.inputs), "outputEPCList": spell(s.outputs)}
    else:
        event |= {"action": "OBSERVE", "epcList": spell(s.epcs)}
    if s.po:
        kind = "https://ref.gs1.org/cbv/BTT-po" if s.n % 10 == 5 else "po"
        event["bizTransactionList"] = [{"type": kind, "bizTransaction": s.po}]
    return event


def document(events: list[dict]) -> dict:
    return {"@context": CONTEXT, "type": "EPCISDocument", "schemaVersion": "2.0",
            "creationDate": "2026-03-01T00:00:00Z", "epcisBody": {"eventList": events}}


def store(ledger, specs: list[Spec]) -> list[Spec]:
    """Store the events, one document per party; the specs with their record ids."""
    stored = []
    for party in ("farm", "processor"):
        mine = [s for s in specs if s.party == party]
        with ledger.session() as session:
            results = store_events(session, document=document([as_event(s) for s in mine]), party=party)
        stored += [Spec(**{**s.__dict__, "id": r.record.id}) for s, r in zip(mine, results, strict=True)]
    return stored


@pytest.fixture
def events(ledger) -> list[Spec]:
    return store(ledger, [spec(n) for n in range(120)])


def run(ledger, params: dict, *, party: str | None = None) -> list[int]:
    with ledger.session() as session:
        page = query_events(session, query=parse_event_query(params | {"perPage": "1000"}), viewer=viewer_for(party), tokens=TOKENS)
    assert page.next_page_token is None
    return [record.id for record in page.items]


def expected(specs: list[Spec], keep: Callable[[Spec], bool], *, descending: bool = False) -> list[int]:
    chosen = sorted((s for s in specs if keep(s)), key=lambda s: (s.time, s.id), reverse=descending)
    return [s.id for s in chosen]


CASES: list[tuple[dict, Callable[[Spec], bool]]] = [
    ({}, lambda s: True),
    ({"EQ_bizStep": "shipping"}, lambda s: s.step == "shipping"),
    ({"EQ_bizStep": "https://ref.gs1.org/cbv/BizStep-receiving"}, lambda s: s.step == "receiving"),
    ({"EQ_bizStep": "urn:epcglobal:cbv:bizstep:packing,commissioning"}, lambda s: s.step in ("packing", "commissioning")),
    ({"EQ_disposition": "in_transit"}, lambda s: s.disposition == "in_transit"),
    ({"EQ_disposition": "urn:epcglobal:cbv:disp:active,in_progress"}, lambda s: s.disposition != "in_transit"),
    ({"EQ_bizLocation": LOCATIONS[1]}, lambda s: s.location == 1),
    ({"EQ_bizLocation": f"{LOCATION_LINKS[0]},{LOCATIONS[2]}"}, lambda s: s.location in (0, 2)),
    ({"EQ_readPoint": LOCATION_LINKS[0]}, lambda s: (s.location + 1) % 3 == 0),
    ({"eventType": "AggregationEvent"}, lambda s: s.kind == "AggregationEvent"),
    ({"eventType": "TransformationEvent,ObjectEvent"}, lambda s: s.kind != "AggregationEvent"),
    ({"eventType": "TransactionEvent"}, lambda s: False),
    ({"GE_eventTime": "2026-03-01T10:00:00Z"}, lambda s: s.time >= BASE + timedelta(hours=2)),
    ({"LT_eventTime": "2026-03-01T12:00:00+02:00"}, lambda s: s.time < BASE + timedelta(hours=2)),
    ({"GE_eventTime": "2026-03-01T09:00:00", "LT_eventTime": "2026-03-01T09:30:00Z"},
     lambda s: BASE + timedelta(hours=1) <= s.time < BASE + timedelta(hours=1, minutes=30)),
    ({"MATCH_epc": GTIN_A_URN + "14"}, lambda s: "A14" in s.epcs),  # stored as a URN
    ({"MATCH_epc": GTIN_A_LINK + "14"}, lambda s: "A14" in s.epcs),  # same EPC, other spelling
    ({"MATCH_epc": GTIN_A_URN + "21"}, lambda s: "A21" in s.epcs),  # stored as a Digital Link
    ({"MATCH_epc": f"{GTIN_A_URN}1007,https://id.gs1.org/01/00614141073467/21/9"}, lambda s: "A1007" in s.epcs),
    ({"MATCH_epc": GTIN_A_URN + "22"}, lambda s: False),  # only an input: not an epcList/childEPCs match
    ({"MATCH_anyEPC": GTIN_A_URN + "22"}, lambda s: "A22" in s.any_epcs),
    ({"MATCH_anyEPC": "urn:epc:id:sscc:0614141.0000000014"}, lambda s: "P14" in s.parents),
    ({"MATCH_anyEPC": GTIN_A_LINK + "2044"}, lambda s: "A2044" in s.outputs),
    ({"MATCH_epc": "urn:epc:idpat:sgtin:0614141.207346.*"}, lambda s: any(e.startswith("B") for e in s.epcs)),
    ({"MATCH_anyEPC": "https://id.gs1.org/01/10614141073464/*"}, lambda s: any(e.startswith("A") for e in s.any_epcs)),
    ({"EQ_bizTransaction_po": PO + "1"}, lambda s: s.po == PO + "1"),
    ({"EQ_bizTransaction_urn:epcglobal:cbv:btt:po": f"{PO}1,{PO}2"}, lambda s: s.po in (PO + "1", PO + "2")),
    ({"EQ_bizTransaction_inv": PO + "1"}, lambda s: False),
    ({"EQ_bizStep": "shipping", "EQ_disposition": "in_transit,active", "eventType": "ObjectEvent"},
     lambda s: s.step == "shipping" and s.disposition != "in_progress" and s.kind == "ObjectEvent"),
    ({"MATCH_epc": "urn:epc:idpat:sgtin:0614141.107346.*", "EQ_bizLocation": LOCATIONS[0], "LT_eventTime": "2026-03-01T11:00Z"},
     lambda s: any(e.startswith("A") for e in s.epcs) and s.location == 0 and s.time < BASE + timedelta(hours=3)),
]


def test_every_parameter_and_combination_matches_the_oracle(ledger, events):
    for params, keep in CASES:
        want = expected(events, keep)
        assert run(ledger, params) == want, params
    assert sum(bool(expected(events, keep)) for _, keep in CASES) >= len(CASES) - 4, "the cases must mostly select something"


def test_descending_order_breaks_ties_by_id(ledger, events):
    assert run(ledger, {"orderBy": "eventTime", "orderDirection": "DESC"}) == expected(events, lambda s: True, descending=True)
    assert run(ledger, {"orderDirection": "asc", "EQ_bizStep": "shipping"}) == expected(events, lambda s: s.step == "shipping")


def test_suppliers_see_only_their_own_events(ledger, events):
    assert run(ledger, {}, party="farm") == expected(events, lambda s: s.party == "farm")
    assert run(ledger, {"EQ_bizStep": "shipping"}, party="processor") == expected(
        events, lambda s: s.party == "processor" and s.step == "shipping")
    assert run(ledger, {}, party="nobody") == []


def pages(ledger, params: dict, *, party: str | None = None) -> list[list[int]]:
    """Every page of a query, following tokens (bounded)."""
    result, token = [], None
    for _ in range(1000):
        query = params | ({"nextPageToken": token} if token else {})
        with ledger.session() as session:
            page = query_events(session, query=parse_event_query(query), viewer=viewer_for(party), tokens=TOKENS)
        result.append([record.id for record in page.items])
        token = page.next_page_token
        if token is None:
            return result
    raise AssertionError("pagination did not end")


def test_paging_through_hundreds_of_events_has_no_gaps_or_repeats(ledger):
    specs = store(ledger, [spec(n) for n in range(360)])
    for params, keep, descending in [
        ({"perPage": "7"}, lambda s: True, False),
        ({"perPage": "13", "orderDirection": "DESC"}, lambda s: True, True),
        ({"perPage": "5", "EQ_bizStep": "shipping,receiving"}, lambda s: s.step in ("shipping", "receiving"), False),
        ({"perPage": "4", "MATCH_anyEPC": "urn:epc:idpat:sgtin:0614141.207346.*", "orderDirection": "DESC"},
         lambda s: any(e.startswith("B") for e in s.any_epcs), True),
    ]:
        got = pages(ledger, params)
        size = int(params["perPage"])
        assert all(len(page) == size for page in got[:-1]) and 0 < len(got[-1]) <= size, params
        assert [i for page in got for i in page] == expected(specs, keep, descending=descending), params


def test_paging_by_party_and_exact_multiple_ends_without_an_empty_page(ledger, events):
    farm = expected(events, lambda s: s.party == "farm")
    got = pages(ledger, {"perPage": str(len(farm) // 3)}, party="farm")
    assert len(farm) % 3 == 0 and len(got) == 3 and sum(got, []) == farm


def first_token(ledger, params: dict, *, party: str | None = None, tokens: PageTokens = TOKENS) -> str:
    with ledger.session() as session:
        token = query_events(session, query=parse_event_query(params), viewer=viewer_for(party), tokens=tokens).next_page_token
    assert token
    return token


def flip(token: str, index: int) -> str:
    raw = bytearray(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    raw[index] ^= 1
    return base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")


def forged_token(params: dict) -> str:
    """What the keyless digest of the past allowed: anyone knowing the query could compute a token's
    digest, so a made-up position (here a record id beyond any integer column) was accepted."""
    scope = parse_event_query(params).fingerprint(viewer=EVERYONE)
    payload = json.dumps(["2026-03-01T08:00:00+00:00", 2**70], separators=(",", ":")).encode()
    digest = hashlib.sha256(scope + payload).digest()[:12]
    return base64.urlsafe_b64encode(digest + payload).decode().rstrip("=")


def test_bad_forged_or_foreign_tokens_are_refused(ledger, events):
    params = {"perPage": "10", "EQ_bizStep": "shipping"}
    token = first_token(ledger, params)
    refused = {
        "garbled": token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB"),
        "edited position": flip(token, len(base64.urlsafe_b64decode(token + "==")) - 3),
        "edited digest": flip(token, 0),
        "not base64": "%%%",
        "empty": "",
        "other filters": first_token(ledger, {"perPage": "10", "EQ_bizStep": "receiving"}),
        "other direction": first_token(ledger, params | {"orderDirection": "DESC"}),
        "other party": first_token(ledger, {"perPage": "3", "EQ_bizStep": "shipping"}, party="processor"),
        "other secret": first_token(ledger, params, tokens=PageTokens(b"another server's secret")),
        "made up": forged_token(params),
    }
    for what, bad in refused.items():
        with ledger.session() as session, pytest.raises(InvalidParameter) as error:
            query_events(session, query=parse_event_query(params | {"nextPageToken": bad}), viewer=EVERYONE, tokens=TOKENS)
        assert error.value.field == "nextPageToken" and error.value.message.startswith("nextPageToken is invalid"), what
    with ledger.session() as session:  # the page size may change between pages; the query may not
        page = query_events(session, query=parse_event_query(params | {"perPage": "3", "nextPageToken": token}), viewer=EVERYONE,
                            tokens=TOKENS)
    assert [r.id for r in page.items] == expected(events, lambda s: s.step == "shipping")[10:13]


@pytest.mark.parametrize(
    "params, field",
    [
        ({"EQ_foo": "x"}, "EQ_foo"),
        ({"EQ_quantity_kg": "1"}, "EQ_quantity_kg"),  # not a unit code
        ({"EQ_minValue": "1"}, "EQ_minValue"),  # not served (a unit is needed): refused, never ignored
        ({"GT_quantity": "ten"}, "GT_quantity"),
        ({"GT_quantity": "nan"}, "GT_quantity"),
        ({"LE_quantity": "1e999"}, "LE_quantity"),
        ({"EQ_quantity": "1|"}, "EQ_quantity"),
        ({"GT_value_cel": "5"}, "GT_value_cel"),
        ({"GT_value_": "5"}, "GT_value_"),
        ({"GE_value_CEL": "warm"}, "GE_value_CEL"),
        ({"GT_Temperature": "5"}, "GT_Temperature"),
        ({"EQ_booleanValue": "yes"}, "EQ_booleanValue"),
        ({"EQ_hexBinaryValue": "f0f"}, "EQ_hexBinaryValue"),
        ({"GE_startTime": "soon"}, "GE_startTime"),
        ({"MATCH_epcClass": "urn:epc:class:lgtin:4012345.0123*"}, "MATCH_epcClass"),
        ({"EQ_bizStep": "shipping||receiving"}, "EQ_bizStep"),
        ({"EQ_bizTransaction_": "x"}, "EQ_bizTransaction_"),
        ({"perPage": "0"}, "perPage"),
        ({"perPage": "1001"}, "perPage"),
        ({"perPage": "ten"}, "perPage"),
        ({"GE_eventTime": "yesterday"}, "GE_eventTime"),
        ({"LT_eventTime": "2026-13-01T00:00:00Z"}, "LT_eventTime"),
        ({"eventType": "ObjectEvent,FooEvent"}, "eventType"),
        ({"status": "lost"}, "status"),
        ({"orderBy": "bizStep"}, "orderBy"),
        ({"orderDirection": "UP"}, "orderDirection"),
        ({"EQ_bizStep": ""}, "EQ_bizStep"),
        ({"EQ_bizStep": "shipping,,receiving"}, "EQ_bizStep"),
        ({"MATCH_epc": "urn:epc:id:sgtin:0614141.107346.20*"}, "MATCH_epc"),
        ({"MATCH_anyEPC": "https://id.gs1.org/01/1061414107*"}, "MATCH_anyEPC"),
        ({"MATCH_epc": "*"}, "MATCH_epc"),
    ],
)
def test_invalid_parameters_are_refused_naming_the_parameter(params, field):
    with pytest.raises(InvalidParameter) as error:
        parse_event_query(params)
    assert error.value.field == field and error.value.status_code == 422


def test_status_filter_after_anchoring_part_of_the_records(ledger):
    anchored = store(ledger, [spec(n) for n in range(0, 40, 2)])
    ledger.anchoring.anchor_now()
    pending = store(ledger, [spec(n) for n in range(1, 40, 2)])
    everything = anchored + pending
    assert run(ledger, {"status": "anchored"}) == expected(anchored, lambda s: True)
    assert run(ledger, {"status": "pending"}) == expected(pending, lambda s: True)
    assert run(ledger, {"status": "pending,anchored", "EQ_bizStep": "shipping"}) == expected(everything, lambda s: s.step == "shipping")
    assert run(ledger, {"status": "anchored"}, party="farm") == expected(anchored, lambda s: s.party == "farm")


# ---- transactions ---------------------------------------------------------------------------

KINDS = ("order", "sale", "invoice", "payment")
PARTIES = ("farm", "processor", "retailer")


def transaction(n: int) -> dict:
    return {
        "id": f"urn:epcglobal:cbv:bt:0614141000031:T-{n}",
        "kind": KINDS[n % 4],
        "timestamp": (BASE + timedelta(hours=n // 2)).isoformat(),
        "seller": PARTIES[n % 3],
        "buyer": PARTIES[(n + 1) % 3],
        "currency": "EUR",
        "lines": [{"sku": f"SKU-{n % 5}", "quantity": 1, "unit_price": "1.00"}, {"sku": f"SKU-{(n + 1) % 5}", "quantity": 1, "unit_price": "1.00"}],
        "total": "2.00",
        "location": LOCATIONS[0],
        "references": [],
    }


@pytest.fixture
def transactions(ledger) -> list[tuple[dict, int]]:
    stored = []
    for submitter in ("farm", "processor"):
        mine = [t for t in map(transaction, range(90)) if (t["seller"] if t["seller"] != "retailer" else t["buyer"]) == submitter]
        with ledger.session() as session:
            results = store_transactions(session, transactions=mine, party=submitter)
        stored += [(t | {"_submitter": submitter}, r.record.id) for t, r in zip(mine, results, strict=True)]
    return stored


def listed(ledger, *, per_page: int = 1000, party: str | None = None, **filters) -> list[int]:
    ids, token = [], None
    for _ in range(1000):
        with ledger.session() as session:
            page = query_transactions(session, page=PageRequest(TOKENS, per_page, token), viewer=viewer_for(party), **filters)
        ids += [record.id for record in page.items]
        token = page.next_page_token
        if token is None:
            return ids
    raise AssertionError("pagination did not end")


def oracle(stored, keep) -> list[int]:
    chosen = sorted((t for t in stored if keep(t[0])), key=lambda t: (datetime.fromisoformat(t[0]["timestamp"]), t[1]))
    return [record_id for _, record_id in chosen]


def test_transaction_filters_and_pages_match_the_oracle(ledger, transactions):
    since, until = BASE + timedelta(hours=10), BASE + timedelta(hours=30)
    at = lambda t: datetime.fromisoformat(t["timestamp"])  # noqa: E731
    skus = lambda t: {line["sku"] for line in t["lines"]}  # noqa: E731
    for filters, keep in [
        ({}, lambda t: True),
        ({"kind": "invoice"}, lambda t: t["kind"] == "invoice"),
        ({"sku": "SKU-3"}, lambda t: "SKU-3" in skus(t)),
        ({"party_filter": "retailer"}, lambda t: "retailer" in (t["seller"], t["buyer"])),
        ({"since": since, "until": until}, lambda t: since <= at(t) < until),
        ({"since": since.replace(tzinfo=None)}, lambda t: since <= at(t)),
        ({"kind": "order", "sku": "SKU-1", "until": until}, lambda t: t["kind"] == "order" and "SKU-1" in skus(t) and at(t) < until),
        ({"party": "farm"}, lambda t: "farm" in (t["_submitter"], t["seller"], t["buyer"])),
        ({"party": "farm", "party_filter": "retailer"},
         lambda t: "farm" in (t["_submitter"], t["seller"], t["buyer"]) and "retailer" in (t["seller"], t["buyer"])),
        ({"status": "anchored"}, lambda t: False),
        ({"status": "pending", "kind": "sale"}, lambda t: t["kind"] == "sale"),
    ]:
        want = oracle(transactions, keep)
        assert listed(ledger, **filters) == want, filters
        assert listed(ledger, per_page=4, **filters) == want, filters


def test_transaction_tokens_are_bound_to_their_query(ledger, transactions):
    with ledger.session() as session:
        token = query_transactions(session, kind="sale", page=PageRequest(TOKENS, 2), viewer=EVERYONE).next_page_token
        with pytest.raises(InvalidParameter, match="nextPageToken is invalid"):
            query_transactions(session, kind="order", page=PageRequest(TOKENS, 2, token), viewer=EVERYONE)
        with pytest.raises(InvalidParameter, match="nextPageToken is invalid"):
            query_events(session, query=parse_event_query({"nextPageToken": token}), viewer=EVERYONE, tokens=TOKENS)
        with pytest.raises(InvalidParameter) as error:
            PageRequest(TOKENS, per_page=0)
        assert error.value.field == "perPage"
        with pytest.raises(InvalidParameter) as error:
            query_transactions(session, status="lost", page=PageRequest(TOKENS), viewer=EVERYONE)
        assert error.value.field == "status"


# ---- index use (PostgreSQL) -----------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_main_query_shapes_use_indexes_on_postgresql(ledger, events):
    """With sequential scans priced out, every main query shape must still have an index path."""
    statements: list[tuple[str, object]] = []
    capture = lambda conn, cursor, statement, parameters, context, many: statements.append((statement, parameters))  # noqa: E731
    shapes = [
        {"MATCH_epc": GTIN_A_URN + "14"},
        {"MATCH_anyEPC": "urn:epc:idpat:sgtin:0614141.207346.*"},
        {"EQ_bizStep": "shipping", "GE_eventTime": "2026-03-01T09:00:00Z", "LT_eventTime": "2026-03-01T12:00:00Z"},
        {"EQ_bizTransaction_po": PO + "1"},
        {"GT_quantity": "10", "LE_value_CEL": "8"},  # number terms: ranges on (name, value)
        {"EQ_type": "Temperature", "GE_startTime": "2026-03-01T00:00:00Z"},
        {"orderDirection": "DESC", "perPage": "5", "nextPageToken": first_token(ledger, {"orderDirection": "DESC", "perPage": "5"}, party="farm")},
    ]
    event.listen(ledger.engine, "before_cursor_execute", capture)
    try:
        for params in shapes:
            with ledger.session() as session:
                query_events(session, query=parse_event_query(params), viewer=viewer_for("farm"), tokens=TOKENS)
        with ledger.session() as session:
            query_transactions(session, sku="SKU-1", page=PageRequest(TOKENS, 5), viewer=EVERYONE)
    finally:
        event.remove(ledger.engine, "before_cursor_execute", capture)
    assert len(statements) == len(shapes) + 1  # leaves and batches are joined, not loaded apart
    with ledger.engine.connect() as connection:
        connection.execute(text("SET enable_seqscan = off"))
        for statement, parameters in statements:
            plan = connection.exec_driver_sql("EXPLAIN " + statement, parameters).scalars().all()
            assert not [line for line in plan if "Seq Scan" in line], "\n".join(plan)
