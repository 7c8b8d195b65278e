"""Builders for the HTTP API tests: an app on a test ledger, and a key per party."""

from dataclasses import dataclass

from fastapi.testclient import TestClient

from service.keys import create_key
from service.ledger import Ledger
from service.models import Role


@dataclass
class Api:
    """A TestClient plus bearer headers per named party."""

    client: TestClient
    ledger: Ledger
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


STANDARD_KEYS = {
    "admin": Role.ADMIN,
    "farm": Role.SUPPLIER,
    "processor": Role.SUPPLIER,
    "distributor": Role.SUPPLIER,
    "retailer": Role.SUPPLIER,
    "auditor": Role.AUDITOR,
    "shop": Role.RETAILER,
    "bank": Role.LENDER,
}
