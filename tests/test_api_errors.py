"""One shape for every refusal of bad input, whichever layer finds it: request parsing, the EPCIS
schema, the meaning of a transaction, query parameters (service.errors.ErrorItem, service.api.errors)."""

import pytest

from service.api.schemas.errors import ErrorItemPublic, ErrorPublic
from service.demo.supply_chain import supply_chain

ITEM_FIELDS = set(ErrorItemPublic.model_fields)


def bad_event(api):
    document = supply_chain(run=91)["documents"]["farm"]
    document["epcisBody"]["eventList"][1]["action"] = "MAYBE"
    return api.client.post("/v1/events", json=document, headers=api.as_("farm"))


def bad_transactions(api):
    order, invoice = supply_chain(run=92)["transactions"]["processor"]
    return api.client.post("/v1/transactions", json=[order, invoice | {"total": "1.00"}], headers=api.as_("processor"))


LAYERS = {  # name: (call, expected error, expected field of the first item, expected index)
    "request body model": (lambda api: api.client.post("/v1/keys", json={"role": "wizard", "party": "x"}, headers=api.as_("admin")),
                           "InvalidRequest", "role", None),
    "EPCIS schema": (bad_event, "SchemaViolation", "epcisBody.eventList[1].action", 1),
    "transaction meaning": (bad_transactions, "TransactionInvalid", "[1].total", 1),
    "declared query parameter": (lambda api: api.client.get("/v1/anchors", params={"perPage": 0}, headers=api.as_("admin")),
                                 "InvalidParameter", "perPage", None),
    "EPCIS query parameter": (lambda api: api.client.get("/v1/events", params={"orderDirection": "UP"}, headers=api.as_("auditor")),
                              "InvalidParameter", "orderDirection", None),
    "unknown query parameter": (lambda api: api.client.get("/v1/keys", params={"limt": 3}, headers=api.as_("admin")),
                                "InvalidParameter", "limt", None),
    "page token": (lambda api: api.client.get("/v1/keys", params={"nextPageToken": "forged"}, headers=api.as_("admin")),
                   "InvalidParameter", "nextPageToken", None),
}


@pytest.mark.parametrize("layer", LAYERS)
def test_every_layer_lists_its_problems_as_the_same_items(api, layer):
    call, error, field, index = LAYERS[layer]
    response = call(api)
    assert response.status_code == 422, response.text
    body = ErrorPublic.model_validate(response.json())
    assert body.error == error and body.field == field, body
    assert body.errors and all(set(item) == ITEM_FIELDS for item in response.json()["errors"])
    first = body.errors[0]
    assert (first.field, first.index) == (field, index) and first.message


def test_the_error_schema_is_published_with_typed_items(api):
    schemas = api.client.get("/openapi.json").json()["components"]["schemas"]
    items = schemas["ErrorPublic"]["properties"]["errors"]["anyOf"][0]["items"]
    assert items == {"$ref": "#/components/schemas/ErrorItemPublic"}
    assert set(schemas["ErrorItemPublic"]["properties"]) == ITEM_FIELDS
