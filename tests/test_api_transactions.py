"""Commercial transactions through HTTP: meaning checks, all-or-nothing lists, filters, tampering."""

from sqlalchemy import text

from service.demo.supply_chain import supply_chain


def order(n: int, **changes) -> dict:
    base = supply_chain(run=31)["transactions"]["processor"][0]
    return {**base, "id": f"urn:epcglobal:cbv:bt:0614141000041:PO-T{n}", **changes}


def test_an_order_and_its_invoice_in_one_list(api):
    data = supply_chain(run=32)["transactions"]["processor"]
    response = api.client.post("/v1/transactions", json=data, headers=api.as_("processor"))
    assert response.status_code == 201
    assert [t["kind"] for t in response.json()["transactions"]] == ["order", "invoice"]
    again = api.client.post("/v1/transactions", json=data, headers=api.as_("processor"))
    assert again.status_code == 200 and not any(t["created"] for t in again.json()["transactions"])


def test_a_list_with_one_bad_total_stores_nothing(api):
    bad = order(2, total="15.00")
    response = api.client.post("/v1/transactions", json=[order(1), bad], headers=api.as_("processor"))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"].startswith("[1].total")
    listing = api.client.get("/v1/transactions", headers=api.as_("auditor")).json()
    assert listing["transactions"] == []


def test_references_must_name_stored_records(api):
    invoice = {**order(3), "kind": "invoice", "references": ["urn:nowhere:PO-0"]}
    response = api.client.post("/v1/transactions", json=invoice, headers=api.as_("processor"))
    assert response.status_code == 422 and "urn:nowhere:PO-0" in response.json()["detail"]
    assert api.client.post("/v1/transactions", json=order(4), headers=api.as_("processor")).status_code == 201
    invoice["references"] = [order(4)["id"]]
    assert api.client.post("/v1/transactions", json=invoice, headers=api.as_("processor")).status_code == 201


def test_reusing_an_id_for_other_content_is_a_conflict(api):
    assert api.client.post("/v1/transactions", json=order(5), headers=api.as_("processor")).status_code == 201
    changed = {**order(5), "lines": [{"sku": "0614141022222", "quantity": 5, "unit_price": "3.50"}], "total": "17.50"}
    assert api.client.post("/v1/transactions", json=changed, headers=api.as_("processor")).status_code == 409


def test_filters_by_kind_sku_party_time_and_status(api):
    data = supply_chain(run=33)["transactions"]["processor"]
    api.client.post("/v1/transactions", json=data, headers=api.as_("processor"))
    get = lambda **params: [t["id"] for t in api.client.get("/v1/transactions", params=params, headers=api.as_("auditor")).json()["transactions"]]  # noqa: E731
    assert get(kind="invoice") == [data[1]["id"]]
    assert get(sku="0614141022222") == [data[0]["id"], data[1]["id"]]
    assert get(sku="nothing") == []
    assert get(party="retailer") == [data[0]["id"], data[1]["id"]]
    assert get(since=data[1]["timestamp"]) == [data[1]["id"]]
    assert get(until=data[1]["timestamp"]) == [data[0]["id"]]
    assert get(status="anchored") == []
    api.client.post("/v1/anchors", headers=api.as_("admin"))
    assert len(get(status="anchored")) == 2
    assert api.client.get("/v1/transactions", params={"kind": "gift"}, headers=api.as_("auditor")).status_code == 422


def test_a_transaction_edited_in_the_database_is_reported_tampered(api):
    data = supply_chain(run=34)["transactions"]["processor"]
    api.client.post("/v1/grants", json={"grantee": "bank"}, headers=api.as_("processor"))
    api.client.post("/v1/transactions", json=data, headers=api.as_("processor"))
    api.client.post("/v1/anchors", headers=api.as_("admin"))
    invoice_id = data[1]["id"]
    assert api.client.get(f"/v1/transactions/{invoice_id}/verification", headers=api.as_("bank")).json()["status"] == "verified"
    with api.ledger.engine.begin() as connection:
        connection.execute(text("UPDATE record SET body = replace(body, '14.00', '1400.00') WHERE business_id = :id"), {"id": invoice_id})
    result = api.client.get(f"/v1/transactions/{invoice_id}/verification", headers=api.as_("bank")).json()
    assert result["status"] == "tampered"
    assert api.client.get(f"/v1/transactions/{invoice_id}/proof", headers=api.as_("auditor")).status_code == 409
