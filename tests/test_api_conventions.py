"""Conventions every endpoint keeps, checked over the app's own routes so that none is forgotten:
one timestamp format (ISO 8601, UTC, ``Z``) in every answer, unknown query parameters refused, and
an OpenAPI document that lets people use the API without reading the code."""

import re
from collections.abc import Iterator

import pytest
from eth_account import Account
from fastapi.routing import iter_route_contexts

from service.api.app import create_app
from service.demo.supply_chain import supply_chain
from service.hashing.typed_data import signing_key
from support.finance import generate_book
from service.read.parameters import EVENT_PARAMETERS
from service.settings import Settings
from service.timeutil import from_unix, iso_utc
from service.ingest.validation.transactions import Transaction, TransactionLine
from test_api_forecast import sale as monthly_sale
from test_api_fraud import label, submit
from signing import ledger_domain, sign

ISO_UTC = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z")
LOOKS_LIKE_A_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
TIMESTAMP_KEY = re.compile(r"(_at|_time|^timestamp)$")
SUBMITTED = {"id",  # business ids are opaque (a label's embeds its time)
            "event", "transaction", "record"}  # records as their suppliers sent them, hashed as sent
NOT_JSON = {("GET", "/v1/analytics/forecast/chart"), ("GET", "/v1/events/{id}/source")}  # a PNG; the XML a supplier sent


def v1_operations() -> set[tuple[str, str]]:
    """(method, path) of every operation of the app, from its routes (not from its OpenAPI document)."""
    routes = iter_route_contexts(create_app(Settings()).routes)
    return {(method, route.path) for route in routes if route.path.startswith("/v1") for method in route.methods}


def timestamps(value, path: str = "$") -> Iterator[tuple[str, object]]:
    """Every (path, value) of a JSON answer that is, or looks like, a moment; records as submitted are skipped."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key in SUBMITTED:
                continue
            if TIMESTAMP_KEY.search(key) and not isinstance(item, dict | list):
                yield f"{path}.{key}", item
            else:
                yield from timestamps(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from timestamps(item, f"{path}[{index}]")
    elif isinstance(value, str) and LOOKS_LIKE_A_MOMENT.search(value):
        yield path, value


@pytest.fixture
def everything(api):
    """Records of every kind, anchored: events of the demo chain, a generated trading book with labels
    and a fraud model, three years of monthly sales; ids to call every endpoint with."""
    demo = supply_chain(run=61)
    events = []
    for party, document in demo["documents"].items():
        events += api.client.post("/v1/events", json=document, headers=api.as_(party)).json()["events"]
    order, invoice = demo["transactions"]["processor"]
    assert api.client.post("/v1/transactions", json=[order, invoice], headers=api.as_("processor")).status_code == 201
    months = [f"{2023 + t // 12}-{t % 12 + 1:02d}" for t in range(36)]
    sales = [monthly_sale(t, month=month, quantity=10 + t % 7) for t, month in enumerate(months)]
    assert api.client.post("/v1/transactions", json=sales, headers=api.as_("retailer")).status_code == 201
    book = generate_book(n_trades=40, fraud_rate=0.1, seed=5)
    submit(api, book)  # anchors everything so far
    labelled = list(book.labels.index[:12])
    for invoice_id in labelled:
        assert label(api, invoice_id, bool(book.labels[invoice_id])).status_code == 201
    assert api.client.post("/v1/anchors", headers=api.as_("admin")).status_code == 200
    batch = api.client.get("/v1/anchors", headers=api.as_("admin")).json()["anchors"][-1]["id"]
    return {"event": events[0]["id"], "order": order["id"], "invoice": labelled[0], "bottle": demo["bottle"], "batch": batch,
            "demo": demo}


def calls(api, ids: dict) -> Iterator[tuple[str, str, object]]:
    """(method, route path, response) of a successful call of every operation."""
    admin, auditor, bank, shop = (api.as_(who) for who in ("admin", "auditor", "bank", "shop"))
    get = lambda path, headers, **params: api.client.get(path, params=params, headers=headers)  # noqa: E731
    event, order, invoice, batch = ids["event"], ids["order"], ids["invoice"], ids["batch"]
    yield "GET", "/v1/health", get("/v1/health", {})
    yield "POST", "/v1/events", api.client.post("/v1/events", json=supply_chain(run=62)["documents"]["farm"], headers=api.as_("farm"))
    yield "GET", "/v1/events", get("/v1/events", auditor, perPage=5)
    yield "GET", "/v1/events/{id}", get(f"/v1/events/{event}", auditor)
    yield "GET", "/v1/events/{id}/verification", get(f"/v1/events/{event}/verification", auditor)
    yield "GET", "/v1/events/{id}/proof", get(f"/v1/events/{event}/proof", auditor)
    again = supply_chain(run=62)["transactions"]["processor"]
    yield "POST", "/v1/transactions", api.client.post("/v1/transactions", json=again, headers=api.as_("processor"))
    yield "GET", "/v1/transactions", get("/v1/transactions", auditor, perPage=5)
    yield "GET", "/v1/transactions/{id}", get(f"/v1/transactions/{order}", auditor)
    yield "GET", "/v1/transactions/{id}/verification", get(f"/v1/transactions/{order}/verification", auditor)
    yield "GET", "/v1/transactions/{id}/proof", get(f"/v1/transactions/{order}/proof", auditor)
    yield "GET", "/v1/provenance/{epc:path}", get(f"/v1/provenance/{ids['bottle']}", auditor)
    yield "GET", "/v1/anchors", get("/v1/anchors", admin)
    yield "GET", "/v1/anchors/{batch_id}/verification", get(f"/v1/anchors/{batch}/verification", auditor)
    yield "POST", "/v1/anchors", api.client.post("/v1/anchors", headers=admin)
    created = api.client.post("/v1/keys", json={"role": "auditor", "party": "temp"}, headers=admin)
    yield "POST", "/v1/keys", created
    yield "GET", "/v1/keys", get("/v1/keys", admin)
    yield "DELETE", "/v1/keys/{key_id}", api.client.delete(f"/v1/keys/{created.json()['id']}", headers=admin)
    yield "GET", "/v1/analytics/forecast", get("/v1/analytics/forecast", shop, sku="SKU-A", freq="M", horizon=3)
    yield "GET", "/v1/analytics/baskets/rules", get("/v1/analytics/baskets/rules", shop, min_support=0.02, min_confidence=0.1)
    yield "GET", "/v1/analytics/baskets/itemsets", get("/v1/analytics/baskets/itemsets", shop, min_support=0.02)
    yield "POST", "/v1/transactions/{id}/labels", api.client.post(f"/v1/transactions/{invoice}/labels", json={"fraud": True}, headers=bank)
    model = api.client.post("/v1/analytics/fraud/models", headers=bank)
    yield "POST", "/v1/analytics/fraud/models", model
    yield "GET", "/v1/analytics/fraud/models/{version}", get(f"/v1/analytics/fraud/models/{model.json()['version']}", bank)
    yield "GET", "/v1/transactions/{id}/fraud-score", get(f"/v1/transactions/{invoice}/fraud-score", bank)
    yield "POST", "/v1/analytics/fraud/scores", api.client.post("/v1/analytics/fraud/scores", json={"ids": [invoice]}, headers=bank)
    yield "POST", "/v1/analytics/fraud/labels", api.client.post(
        "/v1/analytics/fraud/labels", json={"labels": [{"transaction": invoice, "fraud": False}]}, headers=bank)
    yield "GET", "/v1/analytics/fraud/labels", get("/v1/analytics/fraud/labels", bank)
    yield "GET", "/v1/analytics/fraud/models", get("/v1/analytics/fraud/models", auditor)
    yield "GET", "/v1/analytics/fraud/models/active", get("/v1/analytics/fraud/models/active", auditor)
    farm = api.as_("farm")
    granted = api.client.post("/v1/grants", json={"grantee": "someone"}, headers=farm)
    yield "POST", "/v1/grants", granted
    yield "GET", "/v1/grants", get("/v1/grants", farm)
    yield "DELETE", "/v1/grants/{id}", api.client.delete(f"/v1/grants/{granted.json()['id']}", headers=farm)
    key = Account.create()
    proof = sign(key, signing_key(ledger_domain(api), party="farm", key=key.address))
    yield "POST", "/v1/parties/{party}/signing-keys", api.client.post(
        "/v1/parties/farm/signing-keys", json={"address": key.address, "signature": proof}, headers=farm)
    yield "GET", "/v1/parties/{party}/signing-keys", get("/v1/parties/farm/signing-keys", farm)
    yield "DELETE", "/v1/parties/{party}/signing-keys/{address}", api.client.delete(
        f"/v1/parties/farm/signing-keys/{key.address}", headers=farm)
    yield "PUT", "/v1/parties/{party}/signature-policy", api.client.put(
        "/v1/parties/farm/signature-policy", json={"signatures": "optional"}, headers=admin)
    yield "GET", "/v1/parties/{party}/signature-policy", get("/v1/parties/farm/signature-policy", farm)


def test_every_timestamp_of_every_answer_is_iso_8601_utc(api, everything):
    walked, seen = set(), set()
    for method, path, response in calls(api, everything):
        assert response.status_code < 300, (method, path, response.text)
        walked.add((method, path))
        for where, value in timestamps(response.json()):
            assert value is None or (isinstance(value, str) and ISO_UTC.fullmatch(value)), (method, path, where, value)
            if value is not None:
                seen.add(where.rsplit(".", 1)[-1])
    assert walked == v1_operations() - NOT_JSON, "walk every operation: it is how a new one gets checked too"
    assert {"anchored_at", "created_at", "revoked_at", "recorded_at", "event_time", "timestamp", "labelled_at"} <= seen, seen


def test_anchoring_times_are_the_chains_in_utc(api, everything):
    auditor = api.as_("auditor")
    batch = api.client.get("/v1/anchors", headers=api.as_("admin")).json()["anchors"][0]
    root_time = api.ledger.chain.anchored_at(bytes.fromhex(batch["root"][2:]))
    expected = iso_utc(from_unix(root_time))
    assert batch["anchored_at"] == expected
    assert api.client.get(f"/v1/anchors/{batch['id']}/verification", headers=auditor).json()["anchored_at"] == expected
    trail = api.client.get(f"/v1/provenance/{everything['bottle']}", headers=auditor).json()
    assert all(ISO_UTC.fullmatch(event["verification"]["anchored_at"]) for event in trail["events"])


def path_of(route_path: str) -> str:
    """A concrete path for a route: any syntactically valid value of each path parameter."""
    return re.sub(r"\{(\w+)(:path)?\}", lambda match: "1" if match.group(1).endswith("id") else "x", route_path)


def test_an_unknown_query_parameter_is_refused_naming_it_everywhere(api):
    for method, route_path in sorted(v1_operations()):
        for headers in ({}, api.as_("admin"), api.as_("auditor")):
            response = api.client.request(method, path_of(route_path), params={"limt": "10"}, headers=headers)
            assert response.status_code == 422, (method, route_path, response.text)
            assert response.json()["field"] == "limt" and "unknown query parameter" in response.json()["detail"]


def test_known_parameters_and_the_biz_transaction_family_still_pass(api):
    auditor, shop = api.as_("auditor"), api.as_("shop")
    assert api.client.get("/v1/events", params={"EQ_bizTransaction_po": "urn:x:po-1"}, headers=auditor).status_code == 200
    typo = api.client.get("/v1/events", params={"EQ_bizTransactio_po": "urn:x:po-1"}, headers=auditor)
    assert typo.status_code == 422 and typo.json()["field"] == "EQ_bizTransactio_po"
    basket_typo = api.client.get("/v1/analytics/baskets/rules", params={"min_suport": 0.5}, headers=shop)
    assert basket_typo.status_code == 422 and basket_typo.json()["field"] == "min_suport"
    assert api.client.get("/v1/analytics/baskets/rules", params={"min_support": 0.5, "perPage": 5}, headers=shop).status_code == 200


@pytest.fixture(scope="module")
def openapi() -> dict:
    return create_app(Settings()).openapi()


def test_event_query_parameters_are_documented_with_examples_and_each_example_works(api, openapi):
    operation = openapi["paths"]["/v1/events"]["get"]
    parameters = {p["name"]: p for p in operation["parameters"] if p["in"] == "query"}
    assert set(parameters) == {
        "EQ_bizStep", "EQ_disposition", "GE_eventTime", "LT_eventTime", "MATCH_epc", "MATCH_anyEPC", "EQ_bizLocation",
        "EQ_readPoint", "eventType", "status", "orderBy", "orderDirection", "perPage", "nextPageToken",
        "GE_recordTime", "LT_recordTime", "MATCH_parentID", "MATCH_inputEPC", "MATCH_outputEPC", "MATCH_anyEPCClass", "EQ_eventID",
        "eventCountLimit", "maxEventCount", "EQ_action", "EXISTS_errorDeclaration", "GE_errorDeclarationTime", "LT_errorDeclarationTime",
        "EQ_errorReason", "EQ_correctiveEventID", "WD_bizLocation", "WD_readPoint",
        "MATCH_epcClass", "MATCH_inputEPCClass", "MATCH_outputEPCClass", "EQ_quantity", "GT_quantity", "GE_quantity",
        "LT_quantity", "LE_quantity", "EQ_transformationID", "EQ_persistentDisposition_set", "EQ_persistentDisposition_unset",
        "EQ_type", "EQ_deviceID", "EQ_dataProcessingMethod", "EQ_bizRules", "EQ_microorganism", "EQ_chemicalSubstance",
        "EQ_stringValue", "EQ_hexBinaryValue", "EQ_uriValue", "EQ_booleanValue", "GE_startTime", "LT_startTime", "GE_endTime",
        "LT_endTime", "GE_time", "LT_time", "GT_percRank", "GE_percRank", "LT_percRank", "LE_percRank",
    }
    assert all(p["description"] for p in parameters.values())
    assert "EQ_bizTransaction_<type>" in operation["description"] and operation["x-query-parameter-prefixes"][:3] == ["EQ_bizTransaction_", "EQ_source_", "EQ_destination_"]
    assert {"GT_value_", "LE_quantity_"} <= set(operation["x-query-parameter-prefixes"]) and "<uom>" in operation["description"]
    for name, parameter in parameters.items():
        if name == "nextPageToken":
            continue
        assert parameter["schema"]["examples"], name
        for example in parameter["schema"]["examples"]:  # what /docs offers to try is what the parser accepts
            response = api.client.get("/v1/events", params={name: example}, headers=api.as_("auditor"))
            assert response.status_code == 200, (name, example, response.text)
    assert set(EVENT_PARAMETERS) == set(parameters)


def test_the_transaction_format_is_published_from_its_model_with_examples(api, openapi):
    body = openapi["paths"]["/v1/transactions"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"]["oneOf"][0] == {"$ref": "#/components/schemas/Transaction"}
    assert body["schema"]["oneOf"][1]["items"] == {"$ref": "#/components/schemas/Transaction"}
    schemas = openapi["components"]["schemas"]
    for model in (Transaction, TransactionLine):
        published = schemas[model.__name__]["properties"]
        assert set(published) == set(model.model_fields), model
        assert all(field.get("description") for field in published.values()), model
    examples = schemas["Transaction"]["examples"]
    assert [example["kind"] for example in examples] == ["order", "invoice", "payment"]
    assert examples[1]["references"] == [examples[0]["id"]] and examples[2]["references"] == [examples[1]["id"]]
    whole = body["examples"]["list"]["value"]
    response = api.client.post("/v1/transactions", json=whole, headers=api.as_("processor"))
    assert response.status_code == 201, response.text
    assert [t["kind"] for t in response.json()["transactions"]] == ["order", "invoice", "payment"]


def test_every_request_body_has_examples_and_every_answer_a_typed_model(api, openapi):
    schemas = openapi["components"]["schemas"]
    for path, methods in openapi["paths"].items():
        for method, operation in methods.items():
            for media, content in operation.get("requestBody", {}).get("content", {}).items():
                schema = content["schema"]
                named = schemas.get(schema.get("$ref", "").rsplit("/", 1)[-1], {})
                assert content.get("examples") or named.get("examples"), (method, path, media)
            for status, response in operation["responses"].items():
                for media, content in response.get("content", {}).items():
                    if media == "application/json":
                        assert "$ref" in content["schema"], (method, path, status)


def test_the_documented_request_examples_are_accepted(api, openapi):
    paths = openapi["paths"]
    epcis = paths["/v1/events"]["post"]["requestBody"]["content"]["application/ld+json"]["examples"]["document"]["value"]
    assert api.client.post("/v1/events", json=epcis, headers=api.as_("farm")).status_code == 201
    for example in openapi["components"]["schemas"]["KeyCreate"]["examples"]:
        assert api.client.post("/v1/keys", json=example, headers=api.as_("admin")).status_code == 201
    for name in ("LabelCreate", "FraudScoreQuery"):
        assert openapi["components"]["schemas"][name]["examples"]
