"""Hostile input (issue 12): whatever the bytes of a request, the server neither crashes nor answers
5xx; every refusal is a 4xx naming the field at fault, and nothing of a refused body is stored.

The JSON rules (service/ingest/validation/json_limits.py) hold for every body parser, the parameter rules
(service/api/deps.py) for every path and query parameter; a body is read only after the caller's
key and role are checked, and only in a media type the endpoint reads.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func
from sqlmodel import select
from test_serve import _bearer, _cli, serving

from service.ingest import capture
from service.verify.bundle import check_bundle
from service.demo.supply_chain import supply_chain
from service.errors import InvalidRecord
from service.models import ApiKey, Record
from support.records import store_events
from service.ingest.validation.json_limits import MAX_DEPTH, RECURSION_LIMIT, field_name, parse_json

ROOT = Path(__file__).resolve().parents[1]
CONTEXT = ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"]
JSON = "application/json"
NUL = "\0"
HUGE_INTEGER = "9" * 5000  # Python refuses to turn more than 4,300 digits into an int


def nested(depth: int, leaf: object = 1) -> object:
    for _ in range(depth):
        leaf = [leaf]
    return leaf


def event(run: int = 1, **changes) -> dict:
    """A valid bare ObjectEvent (the farm's commissioning event of demo run ``run``)."""
    base = supply_chain(run=run)["documents"]["farm"]["epcisBody"]["eventList"][0]
    return {"@context": CONTEXT, **base, **changes}


def transaction(n: int = 1, **changes) -> dict:
    """A valid order the processor may submit."""
    base = supply_chain(run=31)["transactions"]["processor"][0]
    return {**base, "id": f"urn:epcglobal:cbv:bt:0614141000041:PO-H{n}", **changes}


def encode(body: object) -> bytes:
    return body if isinstance(body, bytes) else json.dumps(body).encode()


def post(api, who: str | None, path: str, body: object, content_type: str | None = JSON):
    headers = dict(api.as_(who)) if who else {}
    if content_type is not None:
        headers["Content-Type"] = content_type
    return api.client.post(path, content=encode(body), headers=headers)


def stored(api) -> tuple[int, int]:
    """Rows that a submission could add: records and keys."""
    with api.ledger.session() as session:
        return (session.exec(select(func.count()).select_from(Record)).one(),
                session.exec(select(func.count()).select_from(ApiKey)).one())


def assert_refused(api, response, status: int, field: str, before: tuple[int, int]) -> None:
    assert response.status_code == status, response.text
    assert response.json()["field"] == field, response.json()
    assert stored(api) == before


# ---- bodies: every rule, every endpoint, the field named, nothing stored --------------------------

EVENT_CASES = {
    "extension nested too deep": (event(**{"example:ext": nested(260)}), "example:ext" + "[0]" * (MAX_DEPTH - 1)),
    "ilmd nested too deep": (event(ilmd={"example:lot": nested(100)}), "ilmd.example:lot" + "[0]" * (MAX_DEPTH - 2)),
    "10 KB readPoint": (event(readPoint={"id": "urn:example:loc:" + "x" * 10_000}), "readPoint.id"),
    "10 KB bizLocation": (event(bizLocation={"id": "urn:example:loc:" + "x" * 10_000}), "bizLocation.id"),
    "10 KB EPC": (event(epcList=["urn:example:epc:" + "x" * 10_000]), "epcList[0]"),
    "10 KB bizTransaction": (event(bizTransactionList=[{"type": "po", "bizTransaction": "urn:x:" + "x" * 10_000}]),
                             "bizTransactionList[0].bizTransaction"),
    "NUL in an extension": (event(**{"example:note": f"a{NUL}b"}), "example:note"),
    "NUL in a key": (event(**{f"example:n{NUL}": "x"}), f"example:n{NUL}"),
    "NUL in bizStep": (event(bizStep=f"shipping{NUL}"), "bizStep"),
    "lone surrogate": (event(**{"example:note": "\ud800"}), "example:note"),
    "NaN": (event(**{"example:v": float("nan")}), "example:v"),
    "Infinity": (event(quantityList=[{"epcClass": "urn:epc:class:lgtin:0614141.011111.L", "quantity": float("inf")}]),
                 "quantityList[0].quantity"),
    "2^53": (event(**{"example:v": 2**53}), "example:v"),
}
TRANSACTION_CASES = {
    "NUL in a SKU": (transaction(lines=[{"sku": f"A{NUL}", "quantity": "1", "unit_price": "1"}], total="1.00"), "lines[0].sku"),
    "lone surrogate in seller": (transaction(seller="\udc00"), "seller"),
    "extensions nested too deep": (transaction(extensions={"a": nested(300)}), "extensions.a" + "[0]" * (MAX_DEPTH - 2)),
    "10 KB id": (transaction(id="urn:x:" + "x" * 10_000), "id"),
    "10 KB location": (transaction(location="urn:x:" + "x" * 10_000), "location"),
    "10 KB reference": (transaction(references=["urn:x:" + "x" * 10_000]), "references[0]"),
    "amount over 28 digits": (transaction(lines=[{"sku": "A", "quantity": "1", "unit_price": "1" + "0" * 30}],
                                          total="1" + "0" * 30 + ".00"), "lines[0].unit_price"),
    "amount 1e300": (transaction(total=1e300), "total"),
    "year 1 in UTC": (transaction(timestamp="0001-01-01T00:00:00+01:00"), "timestamp"),
    "after year 9999 in UTC": (transaction(timestamp="9999-12-31T23:59:59-01:00"), "timestamp"),
    "NaN in extensions": (transaction(extensions={"x": float("nan")}), "extensions.x"),
    "2^60 in extensions": (transaction(extensions={"x": 2**60}), "extensions.x"),
    "a bad one after a good one": ([transaction(2), transaction(3, seller=f"p{NUL}")], "[1].seller"),
}
KEY_CASES = {
    "unknown field": ({"role": "auditor", "party": "p", "admin": True}, "admin"),
    "NUL in party": ({"role": "auditor", "party": f"p{NUL}"}, "party"),
    "role as a number": ({"role": 1, "party": "p"}, "role"),
    "party as a number": ({"role": "auditor", "party": 7}, "party"),
    "nested too deep": ({"role": "auditor", "party": nested(100)}, "party" + "[0]" * (MAX_DEPTH - 1)),
}
LABEL_CASES = {
    '"yes" is not a boolean': ({"fraud": "yes"}, "fraud"),
    "1 is not a boolean": ({"fraud": 1}, "fraud"),
    "unknown field": ({"fraud": True, "reason": "x"}, "reason"),
    "lone surrogate": ({"fraud": True, "\udfff": 1}, "\\udfff"),
}
SCORE_CASES = {
    "NUL in an id": ({"ids": [f"x{NUL}"]}, "ids[0]"),
    "10 KB id": ({"ids": ["x" * 10_000]}, "ids.0"),
    "ids as a string": ({"ids": "x"}, "ids"),
    "unknown field": ({"ids": ["x"], "all": True}, "all"),
}
ENDPOINTS = {  # path, caller, cases
    "events": ("/v1/events", "farm", EVENT_CASES),
    "transactions": ("/v1/transactions", "processor", TRANSACTION_CASES),
    "keys": ("/v1/keys", "admin", KEY_CASES),
    "labels": ("/v1/transactions/urn:x:1/labels", "bank", LABEL_CASES),
    "scores": ("/v1/analytics/fraud/scores", "bank", SCORE_CASES),
}
BODY_CASES = [
    pytest.param(endpoint, name, id=f"{endpoint}: {name}") for endpoint, (_, _, cases) in ENDPOINTS.items() for name in cases
]


@pytest.mark.parametrize(("endpoint", "case"), BODY_CASES)
def test_each_rule_is_a_422_naming_the_field_and_stores_nothing(api, endpoint, case):
    path, who, cases = ENDPOINTS[endpoint]
    body, field = cases[case]
    before = stored(api)
    assert_refused(api, post(api, who, path, body), 422, field, before)


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b'{"type": "ObjectEvent", "example:v": ' + HUGE_INTEGER.encode() + b"}", "example:v"),
        (b'{"type": "ObjectEvent", "example:v": 1e400}', "example:v"),
        (b'{"type": "ObjectEvent", "example:v": -Infinity}', "example:v"),
        (b'{"type": "ObjectEvent", "example:v": "\xff"}', "body"),
        (b"[" * 99_000, "[0]" * MAX_DEPTH),
    ],
    ids=["4,300+ digits", "1e400", "-Infinity", "not UTF-8", "99,000 brackets"],
)
@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_bodies_that_python_cannot_even_build_are_refused_too(api, endpoint, raw, field):
    path, who, _ = ENDPOINTS[endpoint]
    before = stored(api)
    assert_refused(api, post(api, who, path, raw), 422, field, before)


def test_the_depth_limit_is_exact(api):
    at_limit = event(run=2, **{"example:ext": nested(MAX_DEPTH - 1)})  # the event itself is the first level
    assert post(api, "farm", "/v1/events", at_limit).status_code == 201
    over = event(run=3, **{"example:ext": nested(MAX_DEPTH)})
    assert post(api, "farm", "/v1/events", over).json()["field"] == "example:ext" + "[0]" * (MAX_DEPTH - 1)
    brackets = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    assert post(api, "farm", "/v1/events", event(run=4, **{"example:s": brackets})).status_code == 201, "strings do not count"


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_event_times_outside_utc_are_refused(api, moment):
    before = stored(api)
    response = post(api, "farm", "/v1/events", event(eventTime=moment))
    assert response.status_code == 422 and "eventTime" in response.json()["detail"]
    assert stored(api) == before


TRICKY_TEXT = st.text(alphabet=st.sampled_from('[]{}"\\,:ab\u00e9\U0001f600'), max_size=6)
LEAVES = st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.floats(allow_nan=False, allow_infinity=False) | TRICKY_TEXT
VALUES = st.recursive(LEAVES, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TRICKY_TEXT, inner, max_size=3),
                      max_leaves=12)
LEVELS = st.lists(st.tuples(st.booleans(), TRICKY_TEXT, st.lists(LEAVES, max_size=2)), min_size=MAX_DEPTH - 8, max_size=MAX_DEPTH + 8)


def _first_too_deep(value: object, path: tuple = (), depth: int = 1) -> tuple | None:
    """The path to the first array or object, in document order, nested deeper than MAX_DEPTH."""
    if not isinstance(value, dict | list):
        return None
    if depth > MAX_DEPTH:
        return path
    for key, item in value.items() if isinstance(value, dict) else enumerate(value):
        found = _first_too_deep(item, (*path, key), depth + 1)
        if found is not None:
            return found
    return None


@settings(max_examples=200, deadline=None)
@given(levels=LEVELS, core=VALUES, ascii_only=st.booleans())
def test_the_depth_bound_is_exact_and_names_the_first_value_too_deep(levels, core, ascii_only):
    """Around any value, a random nest of arrays and objects whose siblings are strings full of
    brackets, quotes and backslashes: refused exactly when deeper than the limit, naming the first
    array or object too deep; otherwise parsed as json.loads parses it."""
    value = core
    for as_object, key, siblings in reversed(levels):
        value = {**{f"s{i}": sibling for i, sibling in enumerate(siblings)}, key: value} if as_object else [*siblings, value]
    raw = json.dumps(value, ensure_ascii=ascii_only).encode()
    too_deep = _first_too_deep(value)
    if too_deep is None:
        assert parse_json(raw) == json.loads(raw)
    else:
        with pytest.raises(InvalidRecord) as refused:
            parse_json(raw)
        assert refused.value.field == field_name(too_deep)


# ---- media types, and the order of the checks -----------------------------------------------------

VALID_BODIES = {
    "events": event(run=6), "transactions": transaction(6), "keys": {"role": "auditor", "party": "p"},
    "labels": {"fraud": True}, "scores": {"ids": ["urn:x:1"]},
}


@pytest.mark.parametrize(
    ("endpoint", "content_type"),
    [(endpoint, content_type) for endpoint in ENDPOINTS
     for content_type in ("text/plain", "application/x-www-form-urlencoded", None, "application/ld+json")
     if (endpoint, content_type) != ("events", "application/ld+json")],  # events read JSON-LD
)
def test_a_media_type_the_endpoint_does_not_read_is_a_415(api, endpoint, content_type):
    path, who, _ = ENDPOINTS[endpoint]
    before = stored(api)
    response = post(api, who, path, VALID_BODIES[endpoint], content_type=content_type)
    assert_refused(api, response, 415, "Content-Type", before)
    assert "application/json" in response.json()["detail"]


WRONG_ROLE = {"events": "auditor", "transactions": "bank", "keys": "farm", "labels": "auditor", "scores": "shop"}


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_the_key_and_its_role_are_checked_before_the_body_is_read(api, endpoint):
    path, _, _ = ENDPOINTS[endpoint]
    deep = b"[" * 99_000
    assert post(api, None, path, deep).status_code == 401
    assert post(api, WRONG_ROLE[endpoint], path, deep, content_type="text/plain").status_code == 403


# ---- path and query parameters --------------------------------------------------------------------

TOO_BIG = str(2**31)
PARAMETER_CASES = [  # caller, method, path, query, field
    ("auditor", "GET", f"/v1/events/{TOO_BIG}", {}, "id"),
    ("auditor", "GET", f"/v1/events/{TOO_BIG}/verification", {}, "id"),
    ("auditor", "GET", f"/v1/events/{TOO_BIG}/proof", {}, "id"),
    ("admin", "DELETE", f"/v1/keys/{TOO_BIG}", {}, "key_id"),
    ("auditor", "GET", f"/v1/anchors/{TOO_BIG}/verification", {}, "batch_id"),
    ("auditor", "GET", "/v1/anchors", {"before": TOO_BIG}, "before"),
    ("auditor", "GET", "/v1/transactions/a%00b", {}, "id"),
    ("auditor", "GET", "/v1/transactions/a%00b/verification", {}, "id"),
    ("auditor", "GET", "/v1/transactions/a%00b/proof", {}, "id"),
    ("bank", "GET", "/v1/transactions/a%00b/fraud-score", {}, "id"),
    ("auditor", "GET", "/v1/transactions/" + "x" * 10_000, {}, "id"),
    ("auditor", "GET", "/v1/provenance/urn:x%00", {}, "epc"),
    ("auditor", "GET", "/v1/events", {"MATCH_epc": f"urn:x{NUL}"}, "MATCH_epc"),
    ("auditor", "GET", "/v1/events", {"EQ_bizStep": f"shipping{NUL}"}, "EQ_bizStep"),
    ("auditor", "GET", "/v1/events", {f"EQ_bizTransaction_po{NUL}": "x"}, f"EQ_bizTransaction_po{NUL}"),
    ("auditor", "GET", "/v1/events", {"nextPageToken": f"x{NUL}"}, "nextPageToken"),
    ("auditor", "GET", "/v1/events", {"GE_eventTime": "0001-01-01T00:00:00+01:00"}, "GE_eventTime"),
    ("auditor", "GET", "/v1/events", {"LT_eventTime": "9999-12-31T23:59:59-01:00"}, "LT_eventTime"),
    ("auditor", "GET", "/v1/transactions", {"since": "0001-01-01T00:00:00+01:00"}, "since"),
    ("auditor", "GET", "/v1/transactions", {"until": "9999-12-31T23:59:59-01:00"}, "until"),
    ("auditor", "GET", "/v1/transactions", {"sku": f"A{NUL}"}, "sku"),
    ("auditor", "GET", "/v1/transactions", {"party": f"p{NUL}"}, "party"),
    ("shop", "GET", "/v1/analytics/forecast", {"sku": f"A{NUL}"}, "sku"),
    ("shop", "GET", "/v1/analytics/baskets/rules", {"sku": f"A{NUL}"}, "sku"),
]


@pytest.mark.parametrize(("who", "method", "path", "query", "field"), PARAMETER_CASES,
                         ids=[f"{case[1]} {case[2][:40]} {sorted(case[3])}" for case in PARAMETER_CASES])
def test_each_parameter_rule_is_a_422_naming_the_parameter(api, who, method, path, query, field):
    response = api.client.request(method, path, params=query, headers=api.as_(who))
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field


def test_the_largest_id_a_column_holds_is_a_plain_404(api):
    assert api.client.get(f"/v1/events/{2**31 - 1}", headers=api.as_("auditor")).status_code == 404


# ---- reads of whatever is already stored ----------------------------------------------------------


def test_an_event_stored_too_deep_to_serialise_still_reads_back_everywhere(api):
    """As if captured before depth was bounded: 260 levels, beyond what pydantic serialises."""
    deep = event(run=7, **{"example:ext": nested(260)})
    with api.ledger.session() as session:
        [stored_event] = store_events(session, document=deep, party="farm")
    api.ledger.anchoring.anchor_now(timeout=60)
    record_id, epc = stored_event.record.id, deep["epcList"][0]
    with api.ledger.session() as session:
        text = session.get(Record, record_id).body
    reads = {
        "list": ("farm", "/v1/events", {}), "match": ("auditor", "/v1/events", {"MATCH_epc": epc}),
        "one": ("auditor", f"/v1/events/{record_id}", {}), "verification": ("auditor", f"/v1/events/{record_id}/verification", {}),
        "proof": ("auditor", f"/v1/events/{record_id}/proof", {}), "provenance": ("auditor", f"/v1/provenance/{epc}", {}),
    }
    answers = {name: api.client.get(path, params=query, headers=api.as_(who)) for name, (who, path, query) in reads.items()}
    assert {name: answer.status_code for name, answer in answers.items()} == dict.fromkeys(reads, 200)
    assert answers["list"].json()["events"][0]["event"] == text
    assert answers["match"].json()["events"][0]["event"] == text
    assert answers["one"].json()["event"] == text
    assert answers["verification"].json()["status"] == "verified"
    assert answers["provenance"].json()["events"][0]["event"] == text
    bundle = answers["proof"].json()
    assert bundle["record"] == text and check_bundle(bundle, w3=api.ledger.chain.w3).valid


# ---- any hostile fragment anywhere ----------------------------------------------------------------

HUGE = "__huge integer__"  # json.dumps cannot write it: put in the text afterwards
FRAGMENTS = st.one_of(
    st.integers(MAX_DEPTH - 2, 400).map(nested),
    st.text(max_size=5).map(lambda text: text + NUL),
    st.sampled_from(["\ud800", "x\udbff", "\udc00y"]),
    st.sampled_from([float("nan"), float("inf"), -float("inf"), HUGE]),
    st.integers(2**53, 10**300) | st.integers(-(10**300), -(2**53)),
    st.integers(251, 20_000).map(lambda n: "urn:x:" + "x" * n),
)


def _paths(value: object, path: tuple = ()) -> list[tuple]:
    """Every place in ``value`` a fragment can go: each member and item, and a new member of each object."""
    places = [path] if path else []
    if isinstance(value, dict):
        places.append((*path, "example:new"))
        for key, member in value.items():
            places += _paths(member, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            places += _paths(item, (*path, index))
    return places


def _put(body: object, path: tuple, fragment: object) -> object:
    body = json.loads(json.dumps(body))
    node = body
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = fragment
    return body


@st.composite
def hostile_bodies(draw, base: object) -> bytes:
    body = _put(base, draw(st.sampled_from(_paths(base))), draw(FRAGMENTS))
    return json.dumps(body).replace(json.dumps(HUGE), HUGE_INTEGER).encode()


@pytest.mark.slow
@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_no_hostile_fragment_anywhere_gets_a_5xx_or_stores_part_of_a_body(api, endpoint):
    path, who, _ = ENDPOINTS[endpoint]
    base = {"events": {"@context": CONTEXT, "type": "EPCISDocument", "schemaVersion": "2.0",
                       "creationDate": "2026-09-01T00:00:00Z", "epcisBody": {"eventList": [event(run=8), event(run=9)]}},
            "transactions": [transaction(8), transaction(9)]}.get(endpoint, VALID_BODIES[endpoint])

    @settings(max_examples=25, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(raw=hostile_bodies(base))
    def check(raw: bytes) -> None:
        before = stored(api)
        response = post(api, who, path, raw)
        assert response.status_code < 500, response.text
        if response.status_code >= 400:
            assert stored(api) == before, response.text
        if response.status_code == 422:
            assert response.json()["field"], response.text

    check()


# ---- the process itself ----------------------------------------------------------------------------


def test_the_recursion_limit_stays_sane_in_the_api_its_workers_and_the_cli(api, tmp_path):
    assert {"eth", "py_ecc"} <= set(sys.modules), "the libraries that raise it were imported"
    assert sys.getrecursionlimit() == RECURSION_LIMIT
    workers = capture.CapturePool(1)
    try:
        assert workers.workers().submit(sys.getrecursionlimit).result(timeout=120) == RECURSION_LIMIT
    finally:
        workers.stop()
    bundle = tmp_path / "deep.json"
    bundle.write_text("[" * 99_000)
    done = subprocess.run([sys.executable, "-m", "service.cli", "verify", str(bundle), "--rpc", "http://127.0.0.1:9"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode >= 0, f"the CLI died of signal {-done.returncode} reading a deep file"


def test_a_capture_worker_bounds_depth_before_parsing():
    workers = capture.CapturePool(1)
    try:
        with pytest.raises(InvalidRecord) as refused:
            workers.workers().submit(capture.prepare_body, b"[" * 99_000, max_events=10).result(timeout=120)
    finally:
        workers.stop()
    assert refused.value.field == "[0]" * MAX_DEPTH


@pytest.mark.slow
def test_99000_brackets_do_not_kill_a_real_server(tmp_path):
    """The report: one 198 KB request of ``[`` to any of these endpoints, with or without a key,
    killed ``traceanchor serve`` (exit 139) on the default configuration."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("TRACEANCHOR_")}
    env.update(PYTHONPATH=str(ROOT), TRACEANCHOR_DATA_DIR=str(tmp_path / "data"))
    _cli(env, "migrate")
    keys = {role: _bearer(env, role=role, party=role) for role in ("admin", "supplier", "lender", "auditor")}
    deep = b"[" * 99_000
    targets = {  # path: (a role that may post there, one that may not)
        "/v1/keys": ("admin", "auditor"), "/v1/transactions": ("supplier", "auditor"),
        "/v1/analytics/fraud/scores": ("lender", "supplier"), "/v1/transactions/x/labels": ("lender", "auditor"),
        "/v1/events": ("supplier", "auditor"),
    }
    with serving(env, log=tmp_path / "serve.log") as (process, client):
        for path, (allowed, refused) in targets.items():
            answers = [client.post(path, content=deep, headers={**headers, "Content-Type": JSON})
                       for headers in ({}, keys[refused], keys[allowed])]
            assert [answer.status_code for answer in answers] == [401, 403, 422], (path, [a.text for a in answers])
            assert answers[2].json()["field"] == "[0]" * MAX_DEPTH
            assert process.poll() is None, f"server died after {path}: exit {process.returncode}"
        assert client.get("/v1/health").status_code == 200
