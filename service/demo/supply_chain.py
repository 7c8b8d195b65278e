"""A small, realistic supply chain for the demo: apples from a farm to a supermarket shelf.

Farm (GLN 0614141.00001.0) harvests and packs apples onto a pallet, ships them to a juice
processor (0614141.00002.0), which presses them into bottles of juice; a distributor
(0614141.00003.0) carries a case of bottles to a retailer (0614141.00004.0), who sells them.
A purchase order and an invoice tie the commercial side to the shipments.

Serial numbers embed a run number, so every run records new events. The retailer's monthly sales
do not: sent again (a second demo against the same server), they are the records already there, so
its forecasts never count them twice.
"""

import math
from datetime import UTC, datetime, timedelta

CONTEXT = ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"]
FARM, PROCESSOR, DISTRIBUTOR, RETAILER = (f"urn:epc:id:sgln:0614141.0000{n}.0" for n in range(1, 5))
PARTIES = {"farm": "Orchard Hill Farm", "processor": "Valley Juice Co", "distributor": "FreshWay Logistics", "retailer": "CornerMart"}
FORECAST_SKUS = ("0614141022222", "0614141033333", "0614141044444")


def supply_chain(run: int, start: datetime | None = None) -> dict:
    """The demo's EPCIS documents (one per supplier) and transactions, for run number ``run``."""
    start = start or datetime(2026, 9, 1, 6, 0, tzinfo=UTC)
    at = lambda hours: (start + timedelta(hours=hours)).isoformat().replace("+00:00", "Z")  # noqa: E731
    crates = [f"urn:epc:id:sgtin:0614141.011111.{run}{n:03d}" for n in range(3)]
    pallet = f"urn:epc:id:sscc:0614141.{run % 10**9:010d}"
    apples_lot = f"urn:epc:class:lgtin:0614141.011111.LOT{run}"
    bottles = [f"urn:epc:id:sgtin:0614141.022222.{run}{n:03d}" for n in range(4)]
    order_id = f"urn:epcglobal:cbv:bt:0614141000041:PO-{run}"
    invoice_id = f"urn:epcglobal:cbv:bt:0614141000031:INV-{run}"

    def event(kind: str, hours: float, **fields) -> dict:
        return {"type": kind, "eventTime": at(hours), "eventTimeZoneOffset": "+00:00", **fields}

    farm = [
        event("ObjectEvent", 0, epcList=crates, action="ADD", bizStep="commissioning", disposition="active",
              readPoint={"id": FARM}, bizLocation={"id": FARM}, quantityList=[{"epcClass": apples_lot, "quantity": 540.0, "uom": "KGM"}]),
        event("AggregationEvent", 1, parentID=pallet, childEPCs=crates, action="ADD", bizStep="packing",
              disposition="in_progress", readPoint={"id": FARM}, bizLocation={"id": FARM}),
        event("ObjectEvent", 2, epcList=[pallet], action="OBSERVE", bizStep="shipping", disposition="in_transit",
              readPoint={"id": FARM}, sourceList=[{"type": "owning_party", "source": FARM}],
              destinationList=[{"type": "owning_party", "destination": PROCESSOR}]),
    ]
    processor = [
        event("ObjectEvent", 8, epcList=[pallet], action="OBSERVE", bizStep="receiving", disposition="in_progress",
              readPoint={"id": PROCESSOR}, bizLocation={"id": PROCESSOR}),
        event("TransformationEvent", 10, inputEPCList=crates, outputEPCList=bottles, bizStep="commissioning",
              disposition="active", readPoint={"id": PROCESSOR}, bizLocation={"id": PROCESSOR}),
    ]
    distributor = [
        event("ObjectEvent", 20, epcList=bottles, action="OBSERVE", bizStep="shipping", disposition="in_transit",
              readPoint={"id": PROCESSOR}, bizTransactionList=[{"type": "po", "bizTransaction": order_id}]),
        event("ObjectEvent", 26, epcList=bottles, action="OBSERVE", bizStep="receiving", disposition="in_progress",
              readPoint={"id": RETAILER}, bizLocation={"id": RETAILER},
              bizTransactionList=[{"type": "po", "bizTransaction": order_id}]),
    ]
    retailer = [
        event("ObjectEvent", 50, epcList=bottles[:1], action="DELETE", bizStep="retail_selling",
              disposition="retail_sold", readPoint={"id": RETAILER}, bizLocation={"id": RETAILER}),
    ]
    order = {
        "id": order_id, "kind": "order", "timestamp": at(12), "seller": "processor", "buyer": "retailer",
        "currency": "EUR", "lines": [{"sku": "0614141022222", "quantity": 4, "unit_price": "3.50"}],
        "total": "14.00", "location": RETAILER, "references": [],
    }
    invoice = {
        "id": invoice_id, "kind": "invoice", "timestamp": at(27), "seller": "processor", "buyer": "retailer",
        "currency": "EUR", "lines": [{"sku": "0614141022222", "quantity": 4, "unit_price": "3.50"}],
        "total": "14.00", "location": RETAILER, "references": [order_id],
    }
    documents = {
        name: {"@context": CONTEXT, "type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": at(hours),
               "epcisBody": {"eventList": events}}
        for name, hours, events in [("farm", 2, farm), ("processor", 10, processor),
                                    ("distributor", 26, distributor), ("retailer", 50, retailer)]
    }
    # two bottles were sold, not one: the retailer declares its sale event erroneous and records the correct one
    corrective_id = f"urn:uuid:00000000-0000-4000-8000-{run % 10**12:012d}"
    correction = [
        {**retailer[0], "errorDeclaration": {"declarationTime": at(60), "reason": "incorrect_data",
                                             "correctiveEventIDs": [corrective_id]}},
        {**retailer[0], "eventID": corrective_id, "epcList": bottles[:2]},
    ]
    # the retailer's next delivery, captured by its own EPCIS software through the standard binding
    delivered = [f"urn:epc:id:sgtin:0614141.022222.{run}{n:03d}" for n in range(4, 10)]
    receiving = {"@context": CONTEXT, "type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": at(70),
                 "epcisBody": {"eventList": [event("ObjectEvent", 70, epcList=delivered, action="OBSERVE", bizStep="receiving",
                                                   disposition="in_progress", readPoint={"id": RETAILER}, bizLocation={"id": RETAILER})]}}
    return {"documents": documents, "transactions": {"processor": [order, invoice]}, "bottle": bottles[0], "run": run,
            "receiving": receiving,
            "correction": {"@context": CONTEXT, "type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": at(60),
                           "epcisBody": {"eventList": correction}}, "corrective_id": corrective_id}


def monthly_sales() -> list[dict]:
    """Three years of the retailer's monthly sales of three juices: trend, summer peak, some noise."""
    sales = []
    for month in range(36):
        for n, sku in enumerate(FORECAST_SKUS):
            quantity = round(40 + 10 * n + 0.8 * month + (12 - 4 * n) * math.sin(2 * math.pi * (month - 3) / 12)
                             + 3 * math.sin(7.3 * month + n))
            sales.append({
                "id": f"urn:epcglobal:cbv:bt:0614141000041:SALE-{sku}-{month}", "kind": "sale",
                "timestamp": f"{2023 + month // 12}-{month % 12 + 1:02d}-28T18:00:00Z", "seller": "retailer",
                "buyer": "walk-in customers", "currency": "EUR",
                "lines": [{"sku": sku, "quantity": quantity, "unit_price": "3.50", "category": "juice"}],
                "total": f"{quantity * 3.5:.2f}", "location": RETAILER, "references": [],
            })
    return sales
