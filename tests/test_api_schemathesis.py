"""Property-based tests of the whole HTTP API against its own OpenAPI schema (schemathesis, in process).

Every operation is called with every role's key (admin, supplier, auditor, retailer, lender) and with
no key at all, on a SQLite ledger that already holds the demo's anchored events and transactions and
the supplier's grant of its records to the lender (so the lender's success paths run too). Requests
come from three sources: schema-valid data, schema-violating data (schemathesis' negative mode), and
schema-valid requests naming records that exist (so the success paths and their response models are
checked too, not only the refusals).
Every response must be no 5xx, have a documented status code and media type, and match its schema.

schemathesis' own pytest loader (``from_fixture``) does not work with pytest 9 (it reads
``request.node._nodeid``), so each operation's strategy drives a plain hypothesis test here.
"""

from collections.abc import Iterator

import pytest
from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import get_dependant
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from sqlmodel import select

from service.api.app import ROUTERS, create_app
from service.api.epcis import binding
from service.api.deps import _Allow
from service.demo.supply_chain import supply_chain
from service.access.keys import create_key
from service.db import migrate
from service.runtime import Runtime
from service.models import Record, RecordKind, Role
from service.settings import Settings
from schema_helpers import CHECKS, api_schema_of, bearer

# Examples per operation: callers the operation admits reach its handler, the others mostly stop at
# the role check (403) or the key check (401), so they need fewer: the file's runtime stays bounded.
MAX_EXAMPLES, MAX_EXAMPLES_REFUSED = 20, 6
DECOY_KEYS = 5  # keys 1..5 belong to nobody here, so revoking them leaves the callers' keys alive
DECOY_GRANTS = 3  # grants to nobody here, so revoking them leaves the lender's grant alive
LENDER = "bank"
CALLERS = {
    "supplier": (Role.SUPPLIER, "processor"), "auditor": (Role.AUDITOR, "auditor"), "admin": (Role.ADMIN, "admin"),
    "retailer": (Role.RETAILER, "retailer"), "lender": (Role.LENDER, LENDER), "anonymous": None,
}
SEEDED_RUN, SUBMITTED_RUN = 7, 8
NOT_SERVED = {("DELETE", "/epcis/nextPageToken/{token}")}  # the standard's optional operation, answered 501 as it documents  # demo runs: one stored before the test, one submitted by it


def _token(ledger: Runtime, *, role: Role, party: str) -> str:
    with ledger.session() as session:
        _, token = create_key(session, role=role, party=party)
    return token


@pytest.fixture(scope="module")
def seeded_ledger(tmp_path_factory) -> Iterator[Runtime]:
    """A SQLite ledger with decoy keys, then one demo run's documents and transactions, all anchored,
    and the processor's grants: to the lender, and to parties nobody here is."""
    settings_ = Settings(data_dir=tmp_path_factory.mktemp("schemathesis"), batch_size=16, batch_age=3600, anchor_in_background=False)
    migrate(settings_)
    ledger = Runtime(settings_)
    for index in range(DECOY_KEYS):
        _token(ledger, role=Role.RETAILER, party=f"decoy-{index}")
    demo = supply_chain(run=SEEDED_RUN)
    with TestClient(create_app(runtime=ledger)) as client:
        for party, document in demo["documents"].items():
            headers = bearer(_token(ledger, role=Role.SUPPLIER, party=party))
            assert client.post("/v1/events", json=document, headers=headers).status_code == 201
        for party, transactions in demo["transactions"].items():
            headers = bearer(_token(ledger, role=Role.SUPPLIER, party=party))
            assert client.post("/v1/transactions", json=transactions, headers=headers).status_code == 201
        headers = bearer(_token(ledger, role=Role.SUPPLIER, party="processor"))
        for grantee in [f"decoy-{index}" for index in range(DECOY_GRANTS)] + [LENDER]:
            assert client.post("/v1/grants", json={"grantee": grantee}, headers=headers).status_code == 201
    ledger.anchoring.anchor_now(timeout=30)
    assert not ledger.anchoring.unfinished_batches()
    yield ledger
    ledger.close()


@pytest.fixture(scope="module")
def caller_headers(seeded_ledger) -> dict[str, dict[str, str]]:
    """Authorization headers per caller (none for the anonymous one); the supplier is the demo's
    processor, owner of some records, and the lender the grantee of the processor's."""
    return {name: bearer(_token(seeded_ledger, role=caller[0], party=caller[1])) if caller else {}
            for name, caller in CALLERS.items()}


@pytest.fixture(scope="module")
def api_schema(seeded_ledger):
    with api_schema_of(seeded_ledger) as schema:
        yield schema


@pytest.fixture(scope="module")
def known_inputs(seeded_ledger) -> dict[tuple[str, str], list[dict]]:
    """Per operation, ``as_strategy`` arguments naming stored records or carrying real documents."""
    seeded, submitted = supply_chain(run=SEEDED_RUN), supply_chain(run=SUBMITTED_RUN)
    with seeded_ledger.session() as session:
        record_ids = list(session.exec(select(Record.id)))
        decoy_grants = list(session.exec(select(Record.id).where(Record.kind == RecordKind.GRANT).order_by(Record.id)))[:DECOY_GRANTS]
    transaction_ids = [t["id"] for t in seeded["transactions"]["processor"]]
    invoice = seeded["transactions"]["processor"][1]["id"]
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
        ("GET", "/v1/transactions/{id}/fraud-score"): by_transaction,
        ("POST", "/v1/transactions/{id}/labels"): by_transaction,
        ("POST", "/v1/analytics/fraud/labels"): [{"body": {"labels": [{"transaction": invoice, "fraud": False}]}}],
        ("POST", "/v1/analytics/fraud/scores"): [{"body": {"ids": transaction_ids}}],
        ("GET", "/v1/provenance/{epc}"): [{"path_parameters": {"epc": seeded["bottle"]}}],
        ("DELETE", "/v1/grants/{id}"): [{"path_parameters": {"id": grant_id}} for grant_id in decoy_grants],
        ("DELETE", "/v1/keys/{key_id}"): [{"path_parameters": {"key_id": n}} for n in range(1, DECOY_KEYS + 1)],
    }


def _operations() -> list:
    """(method, path, roles admitted or None for all) of every operation, read from the app's OpenAPI
    document and its routers (no ledger needed)."""
    routes = [("/v1", route) for module in ROUTERS for route in module.router.routes]
    routes += [("/epcis", route) for module in binding.RESOURCE_ROUTERS for route in module.router.routes]
    roles = {(method, f"{prefix}{route.path_format}"): _admitted(route.dependant) for prefix, route in routes for method in route.methods}
    roles[("GET", "/epcis/")] = _admitted(get_dependant(path="/", call=binding.index))
    paths = create_app(Settings()).openapi()["paths"]
    return [pytest.param(method.upper(), path, roles[(method.upper(), path)], id=f"{method.upper()}-{path}")
            for path, methods in paths.items() for method in methods]


def _admitted(dependant: Dependant) -> frozenset[Role] | None:
    """The roles a route's dependencies admit (the innermost role check), None if it checks none."""
    for dependency in dependant.dependencies:
        if isinstance(dependency.call, _Allow):
            return dependency.call.roles
        if (roles := _admitted(dependency)) is not None:
            return roles
    return None


@pytest.mark.parametrize("caller", sorted(CALLERS))
@pytest.mark.parametrize(("method", "path", "admitted"), _operations())
def test_operation_honours_its_schema(api_schema, caller_headers, known_inputs, caller, method, path, admitted):
    """Valid, invalid and record-naming requests alike: no 5xx, documented status and media type,
    a body conforming to the declared schema."""
    operation = api_schema[path][method]
    sources = [operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE)]
    if known := known_inputs.get((method, path)):
        sources.append(st.sampled_from(known).flatmap(lambda given_: operation.as_strategy(GenerationMode.POSITIVE, **given_)))
    requests = st.one_of(sources)
    checks = [check for check in CHECKS if (method, path) not in NOT_SERVED or check is not not_a_server_error]
    admits = admitted is None or (CALLERS[caller] is not None and CALLERS[caller][0] in admitted)

    @settings(max_examples=MAX_EXAMPLES if admits else MAX_EXAMPLES_REFUSED, derandomize=True, deadline=None,
              database=None, suppress_health_check=list(HealthCheck))
    @given(case=requests)
    def call(case) -> None:
        case.call_and_validate(headers=caller_headers[caller], checks=checks)

    call()
