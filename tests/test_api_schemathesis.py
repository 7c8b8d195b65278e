"""Property-based tests of the whole HTTP API against its own OpenAPI schema (schemathesis, in process).

Every operation is called as a supplier, an auditor and an admin, on a SQLite ledger that already
holds the demo's anchored events and transactions. Requests come from three sources: schema-valid
data, schema-violating data (schemathesis' negative mode), and schema-valid requests naming records
that exist (so the success paths and their response models are checked too, not only the refusals).
Every response must be no 5xx, have a documented status code and media type, and match its schema.

schemathesis' own pytest loader (``from_fixture``) does not work with pytest 9 (it reads
``request.node._nodeid``), so each operation's strategy drives a plain hypothesis test here.
"""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.openapi import from_asgi
from sqlmodel import select

from service.api.app import create_app
from service.db import migrate
from service.demo.supply_chain import supply_chain
from service.access.keys import create_key
from service.runtime import Runtime
from service.models import Record, Role
from service.settings import Settings

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
MAX_EXAMPLES = 15  # per operation and role: the whole file takes about 20 s on two shared cores
DECOY_KEYS = 5  # keys 1..5 belong to nobody here, so revoking them leaves the callers' keys alive
CALLERS = {"supplier": (Role.SUPPLIER, "processor"), "auditor": (Role.AUDITOR, "auditor"), "admin": (Role.ADMIN, "admin")}
SEEDED_RUN, SUBMITTED_RUN = 7, 8  # demo runs: one stored before the test, one submitted by it


def _token(ledger: Runtime, *, role: Role, party: str) -> str:
    with ledger.session() as session:
        _, token = create_key(session, role=role, party=party)
    return token


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def seeded_ledger(tmp_path_factory) -> Iterator[Runtime]:
    """A SQLite ledger with decoy keys, then one demo run's documents and transactions, all anchored."""
    settings_ = Settings(data_dir=tmp_path_factory.mktemp("schemathesis"), batch_size=16, batch_age=3600, anchor_in_background=False)
    migrate(settings_)
    ledger = Runtime(settings_)
    for index in range(DECOY_KEYS):
        _token(ledger, role=Role.RETAILER, party=f"decoy-{index}")
    demo = supply_chain(run=SEEDED_RUN)
    with TestClient(create_app(runtime=ledger)) as client:
        for party, document in demo["documents"].items():
            headers = _bearer(_token(ledger, role=Role.SUPPLIER, party=party))
            assert client.post("/v1/events", json=document, headers=headers).status_code == 201
        for party, transactions in demo["transactions"].items():
            headers = _bearer(_token(ledger, role=Role.SUPPLIER, party=party))
            assert client.post("/v1/transactions", json=transactions, headers=headers).status_code == 201
    ledger.anchoring.anchor_now(timeout=30)
    assert not ledger.anchoring.unfinished_batches()
    yield ledger
    ledger.close()


@pytest.fixture(scope="module")
def caller_headers(seeded_ledger) -> dict[str, dict[str, str]]:
    """Authorization headers per caller; the supplier is the demo's processor, owner of some records."""
    return {name: _bearer(_token(seeded_ledger, role=role, party=party)) for name, (role, party) in CALLERS.items()}


@pytest.fixture(scope="module")
def api_schema(seeded_ledger):
    """The app's own OpenAPI document, with requests sent in process over ASGI."""
    return from_asgi("/openapi.json", create_app(runtime=seeded_ledger))


@pytest.fixture(scope="module")
def known_inputs(seeded_ledger) -> dict[tuple[str, str], list[dict]]:
    """Per operation, ``as_strategy`` arguments naming stored records or carrying real documents."""
    seeded, submitted = supply_chain(run=SEEDED_RUN), supply_chain(run=SUBMITTED_RUN)
    with seeded_ledger.session() as session:
        record_ids = list(session.exec(select(Record.id)))
    transaction_ids = [t["id"] for t in seeded["transactions"]["processor"]]
    by_record = [{"path_parameters": {"id": record_id}} for record_id in record_ids]
    by_transaction = [{"path_parameters": {"id": business_id}} for business_id in transaction_ids]
    return {
        ("POST", "/v1/events"): [{"body": submitted["documents"]["processor"], "media_type": "application/ld+json"}],
        ("GET", "/v1/events/{id}"): by_record,
        ("GET", "/v1/events/{id}/verification"): by_record,
        ("GET", "/v1/events/{id}/proof"): by_record,
        ("POST", "/v1/transactions"): [{"body": submitted["transactions"]["processor"]}],
        ("GET", "/v1/transactions/{id}"): by_transaction,
        ("GET", "/v1/transactions/{id}/verification"): by_transaction,
        ("GET", "/v1/transactions/{id}/proof"): by_transaction,
        ("GET", "/v1/provenance/{epc}"): [{"path_parameters": {"epc": seeded["bottle"]}}],
        ("DELETE", "/v1/keys/{key_id}"): [{"path_parameters": {"key_id": n}} for n in range(1, DECOY_KEYS + 1)],
    }


def _operations() -> list[tuple[str, str]]:
    """(method, path) of every operation, read from the app's OpenAPI document (no ledger needed)."""
    paths = create_app(Settings()).openapi()["paths"]
    return [(method.upper(), path) for path, methods in paths.items() for method in methods]


@pytest.mark.parametrize("caller", sorted(CALLERS))
@pytest.mark.parametrize(("method", "path"), _operations())
def test_operation_honours_its_schema(api_schema, caller_headers, known_inputs, caller, method, path):
    """Valid, invalid and record-naming requests alike: no 5xx, documented status and media type,
    a body conforming to the declared schema."""
    operation = api_schema[path][method]
    sources = [operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE)]
    if known := known_inputs.get((method, path)):
        sources.append(st.sampled_from(known).flatmap(lambda given_: operation.as_strategy(GenerationMode.POSITIVE, **given_)))
    requests = st.one_of(sources)

    @settings(max_examples=MAX_EXAMPLES, derandomize=True, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(case=requests)
    def call(case) -> None:
        case.call_and_validate(headers=caller_headers[caller], checks=CHECKS)

    call()
