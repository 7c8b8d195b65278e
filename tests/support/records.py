"""Records stored straight through the library, as capture would store them: the write path of tests
and benches that need records without going through the API."""

from sqlmodel import Session

from service.ingest.candidates import prepare_events, prepare_transactions
from service.runtime import Runtime
from service.ingest.records import Stored, store_candidates


def store_events(session: Session, *, document: dict, party: str) -> list[Stored]:
    """Store every event of an EPCIS document (or a single event) as ``party``'s, as capture would."""
    return store_candidates(session, candidates=prepare_events(document), party=party)


def store_transactions(session: Session, *, transactions: list[dict], party: str) -> list[Stored]:
    """Store (already valid) transactions as ``party``'s, as capture would."""
    return store_candidates(session, candidates=prepare_transactions(transactions), party=party)


def payment(n: int, *, amount: str = "10.00") -> dict:
    """A minimal payment transaction with a unique id."""
    return {
        "id": f"urn:epcglobal:cbv:bt:0614141000031:PAY-{n}",
        "kind": "payment",
        "timestamp": "2026-01-05T10:00:00Z",
        "seller": "processor",
        "buyer": "retailer",
        "currency": "EUR",
        "lines": [],
        "total": amount,
        "location": "urn:epc:id:sgln:0614141.00004.0",
        "references": [],
    }


def fill(ledger: Runtime, count: int, *, start: int = 0) -> list[int]:
    """Store ``count`` payments and return their record ids."""
    with ledger.session() as session:
        stored = store_transactions(session, transactions=[payment(n) for n in range(start, start + count)], party="processor")
        return [s.record.id for s in stored]
