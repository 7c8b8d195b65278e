"""Who may do what: the whole role matrix, missing and revoked keys, and party isolation."""

import time

import pytest

from service.demo.supply_chain import supply_chain
from service.access.keys import revoke_key

ROLES = ("admin", "farm", "auditor", "shop", "bank")  # farm is a supplier, shop a retailer, bank a lender
S, A, R, L, ADM = "farm", "auditor", "shop", "bank", "admin"


@pytest.fixture
def world(api):
    """One farm document and one order/invoice from the processor, anchored, both shared with the
    retailer (whose analyst "shop" is) and the bank."""
    data = supply_chain(run=11)
    for owner in ("farm", "processor"):
        for grantee in ("retailer", "bank"):
            assert api.client.post("/v1/grants", json={"grantee": grantee}, headers=api.as_(owner)).status_code == 201
    events = api.client.post("/v1/events", json=data["documents"]["farm"], headers=api.as_("farm")).json()["events"]
    api.client.post("/v1/transactions", json=data["transactions"]["processor"], headers=api.as_("processor"))
    assert api.client.post("/v1/anchors", headers=api.as_("admin")).status_code == 200
    order_id = data["transactions"]["processor"][0]["id"]
    batch = api.client.get("/v1/anchors", headers=api.as_("admin")).json()["anchors"][0]["id"]
    return {"event": events[0]["id"], "order": order_id, "batch": batch, "epc": data["documents"]["farm"]["epcisBody"]["eventList"][0]["epcList"][0], "data": data}


def matrix(world):
    """(method, path, body, roles allowed); the body of writers is made fresh per call."""
    event, order, epc = world["event"], world["order"], world["epc"]
    fresh_event = world["data"]["documents"]["retailer"]
    farm_sale = {**world["data"]["transactions"]["processor"][0], "id": "urn:x:sale-1", "kind": "sale", "seller": "farm", "references": []}
    return [
        ("POST", "/v1/events", fresh_event, {S}),
        ("GET", "/v1/events", None, {S, A}),
        ("GET", f"/v1/events/{event}", None, {S, A}),
        ("GET", f"/v1/events/{event}/verification", None, {S, A, R, L}),
        ("GET", f"/v1/events/{event}/proof", None, {S, A}),
        ("POST", "/v1/transactions", farm_sale, {S}),
        ("GET", "/v1/transactions", None, {S, A}),
        ("GET", f"/v1/transactions/{order}/verification", None, {A, R, L}),
        ("GET", f"/v1/transactions/{order}", None, {A}),
        ("GET", f"/v1/provenance/{epc}", None, {A}),
        ("GET", "/v1/anchors", None, {A, ADM}),
        ("POST", "/v1/anchors", None, {ADM}),
        ("GET", f"/v1/anchors/{world['batch']}/verification", None, {A}),
        ("GET", "/v1/keys", None, {ADM}),
        ("POST", "/v1/keys", {"role": "auditor", "party": "audit-co"}, {ADM}),
        ("POST", "/v1/grants", {"grantee": "audit-co"}, {S}),
        ("GET", "/v1/grants", None, {S}),
    ]


def test_every_endpoint_admits_exactly_its_roles(api, world):
    for method, path, body, allowed in matrix(world):
        for who in ROLES:
            response = api.client.request(method, path, json=body, headers=api.as_(who))
            if who in allowed:
                assert response.status_code < 400, (method, path, who, response.json())
            elif who == S and path.startswith("/v1/transactions/"):
                assert response.status_code == 404, (method, path, who)  # the farm is no party to the order
            else:
                assert response.status_code == 403, (method, path, who, response.status_code)
                assert "may not" in response.json()["detail"]


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer ta_not-a-key"}, {"Authorization": "Basic Zm9vOmJhcg=="}])
def test_without_a_valid_key_everything_but_health_is_401(api, world, headers):
    for method, path, body, _ in matrix(world):
        response = api.client.request(method, path, json=body, headers=headers)
        assert response.status_code == 401, (method, path)
        assert response.headers["www-authenticate"] == "Bearer"
    assert api.client.get("/v1/health").status_code == 200


def test_a_revoked_key_stops_working_at_once(api, world):
    key = api.client.post("/v1/keys", json={"role": "auditor", "party": "temp"}, headers=api.as_("admin")).json()
    headers = {"Authorization": f"Bearer {key['key']}"}
    assert api.client.get("/v1/events", headers=headers).status_code == 200
    assert api.client.delete(f"/v1/keys/{key['id']}", headers=api.as_("admin")).json()["revoked_at"]
    assert api.client.get("/v1/events", headers=headers).status_code == 401


def test_a_key_revoked_by_another_process_stops_working_within_the_cache_time(api, world):
    api.ledger.keys.ttl = 0.3
    key = api.client.post("/v1/keys", json={"role": "auditor", "party": "temp"}, headers=api.as_("admin")).json()
    headers = {"Authorization": f"Bearer {key['key']}"}
    assert api.client.get("/v1/events", headers=headers).status_code == 200
    with api.ledger.session() as session:  # as `traceanchor keys revoke` or another worker would
        revoke_key(session, key_id=key["id"])
    revoked = time.monotonic()
    while api.client.get("/v1/events", headers=headers).status_code == 200:
        assert time.monotonic() - revoked < 5, "the revoked key still works"
        time.sleep(0.05)
    # the cache time plus a generous allowance for one slow request on a busy machine
    assert time.monotonic() - revoked < 0.3 + 2


def test_suppliers_see_only_their_own_records(api, world):
    assert api.client.get(f"/v1/events/{world['event']}", headers=api.as_("processor")).status_code == 404
    assert api.client.get("/v1/events", headers=api.as_("processor")).json()["events"] == []
    assert len(api.client.get("/v1/events", headers=api.as_("farm")).json()["events"]) == 3
    assert api.client.get(f"/v1/transactions/{world['order']}", headers=api.as_("processor")).status_code == 200


def test_suppliers_submit_only_as_a_party_of_the_transaction(api, world):
    order = {**world["data"]["transactions"]["processor"][0], "id": "urn:x:po-other", "references": []}
    response = api.client.post("/v1/transactions", json=order, headers=api.as_("farm"))
    assert response.status_code == 403 and response.json()["field"] == "[0].seller"


def test_the_submitting_party_comes_from_the_key_not_the_body(api, world):
    stored = api.client.get(f"/v1/events/{world['event']}", headers=api.as_("auditor")).json()
    assert stored["party"] == "farm"
