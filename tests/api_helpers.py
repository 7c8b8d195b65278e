"""Builders for the HTTP API tests: an app on a test ledger, and a key per party."""

from dataclasses import dataclass

from fastapi.testclient import TestClient

from service.access.keys import create_key
from service.runtime import Runtime
from service.models import Role


@dataclass
class Api:
    """A TestClient plus bearer headers per named party."""

    client: TestClient
    ledger: Runtime
    headers: dict[str, dict[str, str]]

    def as_(self, who: str) -> dict[str, str]:
        """Authorization headers of ``who`` (a key created with :meth:`key`)."""
        return self.headers[who]

    def key(self, who: str, *, role: Role, party: str | None = None) -> dict[str, str]:
        """Create a key named ``who`` for ``role`` and ``party`` (default: ``who``)."""
        with self.ledger.session() as session:
            _, token = create_key(session, role=role, party=party or who)
        self.headers[who] = {"Authorization": f"Bearer {token}"}
        return self.headers[who]


STANDARD_KEYS = {  # name: (role, party); "shop" is the retailer's analyst, reading the retailer's own records
    "admin": (Role.ADMIN, "admin"),
    "farm": (Role.SUPPLIER, "farm"),
    "processor": (Role.SUPPLIER, "processor"),
    "distributor": (Role.SUPPLIER, "distributor"),
    "retailer": (Role.SUPPLIER, "retailer"),
    "auditor": (Role.AUDITOR, "auditor"),
    "shop": (Role.RETAILER, "retailer"),
    "bank": (Role.LENDER, "bank"),
}


def large_document(run: int, *, events: int = 300) -> dict:
    """A document well above service.ingest.capture.INLINE_BYTES, so that a worker process prepares it."""
    return {
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": "2026-09-01T00:00:00Z",
        "epcisBody": {"eventList": [
            {"type": "ObjectEvent", "eventTime": f"2026-09-01T10:{n // 60:02d}:{n % 60:02d}Z", "eventTimeZoneOffset": "+00:00",
             "epcList": [f"urn:epc:id:sgtin:0614141.011111.{run}{n:06d}"], "action": "OBSERVE", "bizStep": "shipping",
             "disposition": "in_transit", "readPoint": {"id": "urn:epc:id:sgln:0614141.00001.0"}}
            for n in range(events)
        ]},
    }
