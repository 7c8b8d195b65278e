"""Generated supply-chain finance books as the records the service accepts.

:mod:`support.synthetic_fraud` produces the fraud model's input frames with planted fraud; the
HTTP tests and ``bench/fraud_service.py`` submit the same trades through the API, so the frames
are turned back into transaction bodies and an EPCIS document here, once. The service then
rebuilds the frames from its verified records (``service.insights.fraud.load_inputs``), and the tests check
that the round trip gives the generator's features.
"""

from decimal import ROUND_HALF_UP, Decimal

import pandas as pd

from .synthetic_fraud import SyntheticData, generate

EPCIS_CONTEXT = ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"]
LOT = "urn:epc:class:lgtin:0614141.011111.LOT1"
READ_POINT = "urn:epc:id:sgln:0614141.00002.0"
BIZ_TRANSACTION = "urn:epcglobal:cbv:bt:0614141000041:"
"""Prefix making the generator's ids CBV business transaction URIs (EPCIS requires URIs)."""
SKU = "0614141011111"


def generate_book(*, n_trades: int, fraud_rate: float = 0.03, tamper_rate: float = 0.0,
                  seed: int = 0) -> SyntheticData:
    """Generator output as records carry it: ids as business transaction URIs and times cut to
    whole seconds (what the stored ISO timestamps keep), truth re-indexed to match."""
    data = generate(n_trades=n_trades, fraud_rate=fraud_rate, tamper_rate=tamper_rate, seed=seed)

    def uri(ids):
        return [BIZ_TRANSACTION + i for i in ids]

    transactions = data.transactions.assign(
        id=uri(data.transactions["id"]), references=data.transactions["references"].map(uri),
        timestamp=data.transactions["timestamp"].dt.floor("s"))
    shipments = data.shipments.assign(order_ids=data.shipments["order_ids"].map(uri),
                                      event_time=data.shipments["event_time"].dt.floor("s"))
    return SyntheticData(transactions=transactions, shipments=shipments,
                         labels=data.labels.rename(index=BIZ_TRANSACTION.__add__),
                         patterns=data.patterns.rename(index=BIZ_TRANSACTION.__add__))


def transaction_json(row) -> dict:
    """A transactions-frame row (``itertuples``) as a transaction body: one line whose unit price
    gives the total (payments carry no lines)."""
    total = Decimal(f"{row.total:.2f}")
    body = {"id": row.id, "kind": row.kind, "timestamp": row.timestamp.isoformat(), "seller": row.seller,
            "buyer": row.buyer, "currency": row.currency, "total": str(total), "references": list(row.references)}
    if row.kind != "payment":
        quantity = int(row.quantity)
        unit_price = (total / quantity).quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP)
        body["lines"] = [{"sku": SKU, "quantity": quantity, "unit_price": str(unit_price)}]
    return body


def event_json(row) -> dict:
    """A shipments-frame row as an EPCIS ObjectEvent citing its orders as ``po`` business transactions."""
    return {"type": "ObjectEvent", "eventTime": row.event_time.isoformat(), "eventTimeZoneOffset": "+00:00",
            "action": "OBSERVE", "bizStep": row.biz_step, "readPoint": {"id": READ_POINT},
            "quantityList": [{"epcClass": LOT, "quantity": float(row.quantity)}],
            "bizTransactionList": [{"type": "po", "bizTransaction": order} for order in row.order_ids]}


def epcis_document(shipments: pd.DataFrame) -> dict:
    """Every shipment event of the frame in one EPCIS 2.0 document (event order kept)."""
    return {"@context": EPCIS_CONTEXT, "type": "EPCISDocument", "schemaVersion": "2.0",
            "creationDate": "2025-01-01T00:00:00Z",
            "epcisBody": {"eventList": [event_json(row) for row in shipments.itertuples()]}}
