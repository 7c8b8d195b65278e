"""Columns and terms that no hash protects are checked against the verified body.

Each case edits one stored column (or search term) of an anchored record straight in the database,
as someone with database access would, and expects what the issue asked for: the record verifies as
``tampered`` with the column named, the batch audit lists it, and the analytics that selected by the
column do not move. On SQLite and PostgreSQL.
"""

import math

import pytest
from sqlalchemy import text

from service.demo.supply_chain import supply_chain
from service.models import Record
from service.verify.verification import verify_record

SHOP = "urn:epc:id:sgln:0614141.00004.0"
GTIN = "00614141222223"  # the retail_selling events' GTIN (company prefix 0614141, item 022222)


def sale(n: int, *, month: str, quantity: int, kind: str = "sale") -> dict:
    seller, buyer = ("retailer", "consumer") if kind == "sale" else ("retailer", "wholesale-buyer")
    return {"id": f"urn:x:{kind}-{n}", "kind": kind, "timestamp": f"{month}-15T12:00:00Z", "seller": seller, "buyer": buyer,
            "currency": "EUR", "lines": [{"sku": "SKU-A", "quantity": quantity, "unit_price": "2.00"}],
            "total": f"{2 * quantity:.2f}", "location": SHOP, "references": []}


def demand(t: int) -> int:
    return round(50 + 10 * math.sin(2 * math.pi * t / 12) + t % 3)


def selling(day: int) -> dict:
    return {"type": "ObjectEvent", "eventTime": f"2026-02-{day:02d}T10:00:00Z", "eventTimeZoneOffset": "+00:00",
            "epcList": [f"urn:epc:id:sgtin:0614141.022222.{day}{n}" for n in range(2)], "action": "DELETE",
            "bizStep": "retail_selling", "disposition": "retail_sold", "readPoint": {"id": SHOP}, "bizLocation": {"id": SHOP}}


def document(events: list[dict]) -> dict:
    return {"@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"], "type": "EPCISDocument",
            "schemaVersion": "2.0", "creationDate": "2026-03-01T00:00:00Z", "epcisBody": {"eventList": events}}


@pytest.fixture
def world(api) -> dict:
    """36 monthly sales and a big order of the retailer, 28 days of retail_selling events plus a shipment
    of the same GTIN, the demo's events and transactions; all anchored."""
    months = [f"{2023 + t // 12}-{t % 12 + 1:02d}" for t in range(36)]
    sales = [sale(t, month=month, quantity=demand(t)) for t, month in enumerate(months)]
    order = sale(99, month="2025-06", quantity=5000, kind="order")
    assert api.client.post("/v1/transactions", json=[*sales, order], headers=api.as_("retailer")).status_code == 201
    shipment = {**selling(1), "eventTime": "2026-02-10T09:00:00Z", "bizStep": "shipping", "disposition": "in_transit",
                "action": "OBSERVE", "epcList": [f"urn:epc:id:sgtin:0614141.022222.9{n:03d}" for n in range(500)]}
    captured = api.client.post("/v1/events", json=document([*map(selling, range(1, 29)), shipment]), headers=api.as_("retailer"))
    assert captured.status_code == 201
    chain = supply_chain(run=61)
    farm = api.client.post("/v1/events", json=chain["documents"]["farm"], headers=api.as_("farm")).json()["events"]
    processor = api.client.post("/v1/transactions", json=chain["transactions"]["processor"], headers=api.as_("processor"))
    assert processor.status_code == 201
    assert api.client.post("/v1/anchors", headers=api.as_("admin")).json()["anchored"]
    return {"sales": sales, "order": order, "events": captured.json()["events"], "farm": farm, "chain": chain,
            "invoice": chain["transactions"]["processor"][1]}


def sql(api, statement: str, **params) -> None:
    with api.ledger.engine.begin() as connection:
        assert connection.execute(text(statement), params).rowcount >= 1, statement


def record_id(api, business_id: str, party: str) -> int:
    with api.ledger.engine.begin() as connection:
        return connection.execute(text("SELECT id FROM record WHERE business_id = :b AND party = :p"),
                                  {"b": business_id, "p": party}).scalar_one()


def forecast(api, **params) -> dict:
    response = api.client.get("/v1/analytics/forecast", params={"sku": "SKU-A", "freq": "M", "horizon": 3} | params,
                              headers=api.as_("shop"))
    assert response.status_code == 200, response.text
    return response.json()


def verdicts(api, path: str, record: int) -> tuple[dict, dict]:
    """The auditor's verification at ``path`` and the audit of the batch holding ``record``."""
    verification = api.client.get(path, headers=api.as_("auditor")).json()
    with api.ledger.engine.begin() as connection:
        batch = connection.execute(text("SELECT batch_id FROM record_leaf WHERE record_id = :id"), {"id": record}).scalar_one()
    return verification, api.client.get(f"/v1/anchors/{batch}/verification", headers=api.as_("auditor")).json()


def test_a_sale_moved_to_2019_stays_out_of_the_forecast(api, world):
    before = forecast(api)
    victim = world["sales"][0]
    sql(api, "UPDATE record SET occurred_at = :at WHERE business_id = :id", at="2019-01-15 12:00:00", id=victim["id"])
    after = forecast(api)
    assert len(after["history"]) == len(before["history"]) - 1, "the history must not grow back to 2019"
    assert after["history"][0]["period"] == "2023-02" and after["records_excluded"]["by_status"] == {"tampered": 1}
    victim_id = record_id(api, victim["id"], "retailer")
    verification, audit = verdicts(api, f"/v1/transactions/{victim['id']}/verification", victim_id)
    assert verification["status"] == "tampered" and "occurred_at" in verification["reason"]
    assert audit["status"] == "tampered" and victim_id in audit["tampered_records"]


def test_an_order_relabelled_as_a_sale_adds_no_demand(api, world):
    before = forecast(api)
    sql(api, "UPDATE record SET record_type = 'sale' WHERE business_id = :id", id=world["order"]["id"])
    after = forecast(api)
    assert [row["quantity"] for row in after["history"]] == [row["quantity"] for row in before["history"]]
    assert after["records_used"] == before["records_used"] == 36 and after["records_excluded"]["by_status"] == {"tampered": 1}
    order = world["order"]["id"]
    verification, audit = verdicts(api, f"/v1/transactions/{order}/verification", record_id(api, order, "retailer"))
    assert verification["status"] == "tampered" and "record_type" in verification["reason"]
    assert audit["status"] == "tampered"


def test_a_shipment_relabelled_as_a_retail_sale_adds_no_demand(api, world):
    params = {"sku": GTIN, "freq": "D", "horizon": 3}
    before = forecast(api, **params)
    shipment = world["events"][-1]
    sql(api, "UPDATE record SET biz_step = 'https://ref.gs1.org/cbv/BizStep-retail_selling' WHERE id = :id", id=shipment["id"])
    after = forecast(api, **params)
    assert sum(row["quantity"] for row in after["history"]) == sum(row["quantity"] for row in before["history"]) == 56
    assert after["records_excluded"]["by_status"] == {"tampered": 1}
    verification, audit = verdicts(api, f"/v1/events/{shipment['id']}/verification", shipment["id"])
    assert verification["status"] == "tampered" and "biz_step" in verification["reason"]
    assert audit["status"] == "tampered" and shipment["id"] in audit["tampered_records"]


EVENT_EDITS = {  # column -> (SQL SET clause, word the reason names); on the farm's first event (commissioning, ADD)
    "record_type": ("record_type = 'AggregationEvent'", "record_type"),
    "business_id": ("business_id = 'ni:///sha-256;" + "0" * 64 + "?ver=CBV2.0'", "business_id"),
    "occurred_at": ("occurred_at = '2020-01-01 00:00:00'", "occurred_at"),
    "biz_step": ("biz_step = 'https://ref.gs1.org/cbv/BizStep-destroying'", "biz_step"),
    "disposition": ("disposition = 'https://ref.gs1.org/cbv/Disp-destroyed'", "disposition"),
    "biz_location": ("biz_location = 'https://id.gs1.org/414/0614141000099'", "biz_location"),
    "read_point": ("read_point = NULL", "read_point"),
    "content_hash": ("content_hash = '0x" + "ab" * 32 + "'", "hash"),
    "salt": ("salt = '0x" + "cd" * 32 + "'", "Merkle proof"),
}


@pytest.mark.parametrize("column", EVENT_EDITS)
def test_every_stored_column_of_an_event_is_checked(api, world, column):
    event = world["farm"][0]["id"]
    assignment, named = EVENT_EDITS[column]
    sql(api, f"UPDATE record SET {assignment} WHERE id = :id", id=event)
    verification, audit = verdicts(api, f"/v1/events/{event}/verification", event)
    assert verification["status"] == "tampered" and named in verification["reason"], verification
    assert audit["status"] == "tampered" and event in audit["tampered_records"]
    assert {e["verification"]["status"] for e in trail(api, world)} >= {"tampered"}


def trail(api, world) -> list[dict]:
    crate = world["chain"]["documents"]["farm"]["epcisBody"]["eventList"][0]["epcList"][0]
    return api.client.get(f"/v1/provenance/{crate}", headers=api.as_("auditor")).json()["events"]


TERM_EDITS = {  # a search term of the farm's first event added, removed or changed
    "added": "INSERT INTO record_term (name, value, record_id) VALUES ('epc', 'https://id.gs1.org/01/00614141999996/21/1', :id)",
    "removed": "DELETE FROM record_term WHERE record_id = :id AND name = 'epc_class'",
    "changed": "UPDATE record_term SET value = 'https://id.gs1.org/01/00614141999996/21/2' WHERE record_id = :id AND name = 'epc' "
               "AND value = (SELECT min(value) FROM record_term WHERE record_id = :id AND name = 'epc')",
}


@pytest.mark.parametrize("edit", TERM_EDITS)
def test_search_terms_are_checked_too(api, world, edit):
    event = world["farm"][0]["id"]
    sql(api, TERM_EDITS[edit], id=event)
    verification, audit = verdicts(api, f"/v1/events/{event}/verification", event)
    assert verification["status"] == "tampered" and "search term" in verification["reason"]
    assert audit["status"] == "tampered" and event in audit["tampered_records"]


TRANSACTION_EDITS = {
    "party": ("party = 'distributor'", "party"),
    "business_id": ("business_id = 'urn:x:forged'", "business_id"),
    "record_type": ("record_type = 'payment'", "record_type"),
    "kind": ("kind = 'LABEL'", "no longer parses"),
}


@pytest.mark.parametrize("column", TRANSACTION_EDITS)
def test_every_stored_column_of_a_transaction_is_checked(api, world, column):
    invoice = world["invoice"]["id"]
    victim = record_id(api, invoice, "processor")
    assignment, named = TRANSACTION_EDITS[column]
    sql(api, f"UPDATE record SET {assignment} WHERE id = :id", id=victim)
    _, audit = verdicts(api, "/v1/health", victim)
    assert audit["status"] == "tampered" and victim in audit["tampered_records"]
    with api.ledger.session() as session:  # by record id: the edited row may no longer answer to its business id
        result = verify_record(session, api.ledger.chain, session.get(Record, victim))
    assert result.status == "tampered" and named in result.reason, result


def test_untouched_records_still_verify_and_audit_complete(api, world):
    anchors = api.client.get("/v1/anchors", headers=api.as_("auditor")).json()["anchors"]
    assert {api.client.get(f"/v1/anchors/{a['id']}/verification", headers=api.as_("auditor")).json()["status"]
            for a in anchors} == {"complete"}
    assert {e["verification"]["status"] for e in trail(api, world)} == {"verified"}
