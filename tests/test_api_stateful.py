"""A stateful run over the HTTP API: sequences of real calls by every role, each response checked.

A hypothesis state machine plays the demo's parties against one app: suppliers submit the demo's
events and transactions and documents derived from them (drawn times, quantities, amounts, currencies,
extension values), the counterparty confirms or disputes the invoice, an admin anchors, suppliers,
auditors, retailers and lenders read, verify and fetch proofs, listings are followed page by page,
the retailer declares an event erroneous, the processor grants its records to a lender and revokes that, the lender labels, trains and scores,
an admin creates and revokes keys, and retailers and lenders query their analytics; generated
requests, valid or not, to any operation by any role run amid all this. Every response passes
schemathesis' checks (no 5xx, documented status and media type, body matching its schema), and the
machine also checks what the sequence so far implies: a record read back as sent, a proof only once
anchored, a verification pending then verified, a lender seeing the processor's records only while
its grant is live, a confirmation or dispute as recorded, a revoked key refused.

The app has no OpenAPI links, which schemathesis' own state machine needs, so the rules are written
here. Each example is a new demo run, with new keys, on the same ledger; it starts with the
processor's grant to the lender live (created, or the one a previous example left), and the lender's
labels of earlier examples' invoices count towards its models.
"""

import itertools
from collections.abc import Iterator
from datetime import timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)
from schemathesis import GenerationMode

from schema_helpers import CHECKS, api_schema_of, bearer
from service.access.keys import create_key
from service.api.app import create_app
from service.demo.supply_chain import CONTEXT, FORECAST_SKUS, monthly_sales, supply_chain
from service.db import migrate
from service.runtime import Runtime
from service.models import Role
from service.settings import Settings

SUPPLIERS = ("farm", "processor", "distributor", "retailer")
ANALYTICS = {  # operations queried with generated requests, by the roles that use them
    Role.RETAILER: [("GET", "/v1/analytics/baskets/rules"), ("GET", "/v1/analytics/baskets/itemsets"),
                    ("GET", "/v1/analytics/forecast"), ("GET", "/v1/analytics/forecast/chart")],
    Role.LENDER: [("GET", "/v1/analytics/fraud/models"), ("GET", "/v1/analytics/fraud/models/active"),
                  ("GET", "/v1/analytics/fraud/labels"), ("POST", "/v1/analytics/fraud/scores")],
}
FUZZED = [(method.upper(), path) for path, methods in create_app(Settings()).openapi()["paths"].items()
          for method in methods if method != "delete"]
LENDER = "bank"  # one lender across examples, so its labels add up to enough to train a model
RUNS = itertools.count(100)  # a demo run per example: new serials and business ids on the shared ledger


EXTENSION_NS = "https://ns.example.com/epcis/"


def json_values(integers: st.SearchStrategy[int] = st.integers(), text: st.SearchStrategy[str] = st.text(max_size=20)):
    """Any JSON value, small."""
    return st.recursive(
        st.none() | st.booleans() | integers | st.floats(allow_nan=False, allow_infinity=False) | text,
        lambda children: st.lists(children, max_size=3) | st.dictionaries(text, children, max_size=3),
        max_leaves=8,
    )


JSON_VALUES = json_values()  # with integers beyond 2^53 and NUL characters: refused (422), never hashed
PLAIN_TEXT = st.text(st.characters(exclude_characters="\0"), max_size=20)
HASHABLE_JSON_VALUES = json_values(st.integers(-(2**53 - 1), 2**53 - 1), PLAIN_TEXT)


@st.composite
def changed(draw, event: dict) -> dict:
    """``event`` at a drawn time and offset, with a drawn quantity and a drawn value in an extension field."""
    event = dict(event)
    offset = timedelta(minutes=draw(st.integers(-14 * 60, 14 * 60)))
    moment = draw(st.datetimes()).replace(tzinfo=timezone(offset))
    minutes = int(offset.total_seconds()) // 60
    event["eventTime"] = moment.isoformat()
    event["eventTimeZoneOffset"] = f"{'-' if minutes < 0 else '+'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    event["quantityList"] = [{**event["quantityList"][0], "quantity": draw(st.floats(allow_nan=False, allow_infinity=False))}]
    event["example:note"] = draw(JSON_VALUES)
    return event


CURRENCIES = {"EUR": 2, "JPY": 0, "BHD": 3}  # ISO 4217 minor units
DECIMALS = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal(10**6), places=4)


@st.composite
def orders_of(draw, order_id: str) -> dict:
    """A processor's order to the retailer: drawn lines (decimal strings or JSON numbers), currency and
    extensions; the total is the lines' sum rounded half up to the currency's minor unit."""
    currency = draw(st.sampled_from(sorted(CURRENCIES)))
    lines = draw(st.lists(st.fixed_dictionaries({"sku": st.sampled_from(FORECAST_SKUS), "quantity": DECIMALS,
                                                 "unit_price": DECIMALS}), min_size=1, max_size=3))
    exact = sum((line["quantity"] * line["unit_price"] for line in lines), Decimal(0))
    total = exact.quantize(Decimal(1).scaleb(-CURRENCIES[currency]), rounding=ROUND_HALF_UP)
    as_number = draw(st.booleans())
    lines = [{**line, "quantity": float(line["quantity"]) if as_number else str(line["quantity"]),
              "unit_price": str(line["unit_price"])} for line in lines]
    return {"id": order_id, "kind": "order", "timestamp": "2026-09-01T12:00:00Z", "seller": "processor",
            "buyer": "retailer", "currency": currency, "lines": lines, "total": str(total),
            "extensions": draw(st.dictionaries(PLAIN_TEXT, HASHABLE_JSON_VALUES, max_size=3))}


@pytest.fixture(scope="module")
def ledger(tmp_path_factory) -> Iterator[Runtime]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("stateful"), batch_size=16, batch_age=3600, anchor_in_background=False)
    migrate(settings)
    ledger = Runtime(settings)
    yield ledger
    ledger.close()


class Parties(RuleBasedStateMachine):
    """The demo's parties using the API; ``schema`` and ``admin`` are set by the test."""

    schema = None
    admin: dict[str, str] = {}
    events = Bundle("events")
    keys = Bundle("keys")
    orders = Bundle("orders")

    def call(self, method: str, path: str, who: dict[str, str], *, expect: set[int] | None = None, **request):
        """Send one request as ``who``; schemathesis checks the response, then ``expect`` its status."""
        case = self.schema[path][method].Case(**request)
        response = case.call_and_validate(headers=who, checks=CHECKS)
        if expect is not None and response.status_code not in expect:
            # printed too: replaying a failure on the shared ledger can go differently and hide the assertion
            print("unexpected:", method, path, request, response.status_code, response.text)
            raise AssertionError(f"{method} {path}: {response.status_code} not in {expect}: {response.text}")
        return response

    def new_key(self, role: Role, party: str) -> tuple[int, dict[str, str]]:
        created = self.call("POST", "/v1/keys", self.admin, expect={201}, body={"role": role, "party": party},
                            media_type="application/json").json()
        return created["id"], bearer(created["key"])

    @initialize()
    def parties(self) -> None:
        self.demo = supply_chain(run=next(RUNS))
        self.supplier = {party: self.new_key(Role.SUPPLIER, party)[1] for party in SUPPLIERS}
        self.auditor = self.new_key(Role.AUDITOR, "auditor")[1]
        self.shop = self.new_key(Role.RETAILER, "retailer")[1]
        self.lender = self.new_key(Role.LENDER, LENDER)[1]
        self.submitted: set[str] = set()  # parties whose document is stored
        self.first_event: dict[str, int] = {}  # record id of each party's first stored event
        self.declared: dict[str, int] = {}  # the retailer's error declarations: declarationTime -> record id
        self.transactions: set[str] = set()  # parties that recorded the order and invoice
        self.orders_sent = 0
        self.disputed = False  # the retailer recorded the invoice with other content
        self.pending: set = set()  # stored, not anchored yet: event record ids, order ids, (what, party)
        # the processor's live grant to the lender (None once revoked)
        self.grant: int | None = self.call("POST", "/v1/grants", self.supplier["processor"], expect={200, 201},
                                           body={"grantee": LENDER}, media_type="application/json").json()["id"]

    # -- suppliers --------------------------------------------------------------------------------

    @rule(target=events, party=st.sampled_from(SUPPLIERS))
    def submit_events(self, party: str):
        again = party in self.submitted
        response = self.call("POST", "/v1/events", self.supplier[party], expect={200} if again else {201},
                             body=self.demo["documents"][party], media_type="application/ld+json")
        self.submitted.add(party)
        self.first_event[party] = response.json()["events"][0]["id"]
        return self.stored_events(party, response)

    @precondition(lambda self: "retailer" in self.submitted)
    @rule(target=events, hour=st.integers(0, 2))
    def declare_error(self, hour: int):
        """The retailer declares its first event erroneous (at one of three times): a new record the first
        time, the same one again after; the original then reads declared erroneous by the last one stored."""
        original = self.demo["documents"]["retailer"]["epcisBody"]["eventList"][0]
        at = f"2026-12-01T{hour:02d}:00:00Z"
        document = {**self.demo["documents"]["retailer"], "epcisBody": {"eventList": [
            {**original, "errorDeclaration": {"declarationTime": at, "reason": "incorrect_data"}}]}}
        response = self.call("POST", "/v1/events", self.supplier["retailer"], expect={200} if at in self.declared else {201},
                             body=document, media_type="application/ld+json")
        self.declared[at] = response.json()["events"][0]["id"]
        shown = self.call("GET", "/v1/events/{id}", self.auditor, expect={200},
                          path_parameters={"id": self.first_event["retailer"]}).json()
        assert shown["declared_erroneous"]["record_id"] == max(self.declared.values())
        return self.stored_events("retailer", response)

    @rule(target=events, data=st.data())
    def submit_derived_event(self, data):
        """The farm's commissioning event with drawn time, offset, quantity and extension value: stored
        (and later read back, verified and proven like any) or refused with a 422, never a 5xx."""
        event = data.draw(changed(self.demo["documents"]["farm"]["epcisBody"]["eventList"][0]))
        document = {**self.demo["documents"]["farm"], "@context": [*CONTEXT, {"example": EXTENSION_NS}],
                    "epcisBody": {"eventList": [event]}}
        response = self.call("POST", "/v1/events", self.supplier["farm"], expect={200, 201, 422}, body=document,
                             media_type="application/ld+json")
        return self.stored_events("farm", response) if response.status_code != 422 else multiple()

    def stored_events(self, party: str, response):
        """The bundle's entry for a capture's events; new ones are pending until the next anchoring."""
        stored = response.json()["events"]
        self.pending.update(event["id"] for event in stored if event["created"])
        return [(party, event["id"]) for event in stored]

    @rule(party=st.sampled_from(["processor", "retailer"]))
    def submit_transactions(self, party: str) -> None:
        """The processor (seller) records the order and invoice; the retailer (buyer) sending the same
        content confirms them."""
        again = party in self.transactions
        refused = party == "retailer" and self.disputed  # all or nothing: its own invoice says otherwise
        self.call("POST", "/v1/transactions", self.supplier[party], expect={409} if refused else {200} if again else {201},
                  body=self.demo["transactions"]["processor"], media_type="application/json")
        if not (again or refused):
            self.transactions.add(party)
            self.pending.add(("transactions", party))

    @precondition(lambda self: "retailer" not in self.transactions)
    @rule()
    def dispute(self) -> None:
        """The retailer records the processor's invoice id with another total: a dispute."""
        invoice = self.demo["transactions"]["processor"][1]
        other = {**invoice, "lines": [{**invoice["lines"][0], "unit_price": "3.75"}], "total": "15.00", "references": []}
        self.call("POST", "/v1/transactions", self.supplier["retailer"], expect={200} if self.disputed else {201},
                  body=other, media_type="application/json")
        self.disputed = True

    @rule()
    def record_sales(self) -> None:
        """The retailer's three years of monthly sales, which its forecasts read (the same records in
        every example: stored by the first, 200 after)."""
        created = self.call("POST", "/v1/transactions", self.supplier["retailer"], expect={200, 201},
                            body=monthly_sales(), media_type="application/json").status_code == 201
        if created:
            self.pending.add(("sales", "retailer"))

    @rule(target=orders, data=st.data())
    def submit_derived_order(self, data):
        """An order of the processor's with drawn lines, currency and extensions, its total computed as
        the API defines it: stored, then read back unchanged."""
        self.orders_sent += 1
        order = data.draw(orders_of(f"{self.demo['transactions']['processor'][0]['id']}-{self.orders_sent}"))
        self.call("POST", "/v1/transactions", self.supplier["processor"], expect={201}, body=order,
                  media_type="application/json")
        stored = self.call("GET", "/v1/transactions/{id}", self.supplier["processor"], expect={200},
                           path_parameters={"id": order["id"]}).json()
        assert stored["transaction"] == order
        self.pending.add(order["id"])
        return order["id"]

    @rule(order=orders, reader=st.sampled_from(["processor", "auditor", "retailer", "lender"]))
    def verify_order(self, order: str, reader: str) -> None:
        who = {"processor": self.supplier["processor"], "auditor": self.auditor, "retailer": self.supplier["retailer"],
               "lender": self.lender}[reader]
        sees = reader != "lender" or self.grant is not None
        response = self.call("GET", "/v1/transactions/{id}/verification", who, expect={200} if sees else {404},
                             path_parameters={"id": order}, query={"submitter": "processor"})
        if sees:
            assert response.json()["status"] == ("pending" if order in self.pending else "verified")

    @precondition(lambda self: "processor" in self.transactions)
    @rule(reader=st.sampled_from(["processor", "auditor", "retailer", "farm"]))
    def read_transaction(self, reader: str) -> None:
        who = self.auditor if reader == "auditor" else self.supplier[reader]
        sees = reader != "farm"  # the buyer sees what names it, recorded by itself or not
        invoice = self.demo["transactions"]["processor"][1]["id"]
        query = {"submitter": "processor"} if reader != "farm" else {}
        response = self.call("GET", "/v1/transactions/{id}", who, expect={200} if sees else {404},
                             path_parameters={"id": invoice}, query=query)
        if sees:
            expected = "disputed" if self.disputed else "confirmed" if "retailer" in self.transactions else "unconfirmed"
            assert response.json()["confirmation"] == expected
        self.call("GET", "/v1/transactions/{id}/proof", who, path_parameters={"id": invoice}, query=query,
                  expect=({409} if ("transactions", "processor") in self.pending else {200}) if sees else {404})

    @rule(events=events, reader=st.sampled_from(["owner", "auditor", "other"]))
    def read_event(self, events, reader: str) -> None:
        party, record_id = events[0]
        other = next(p for p in SUPPLIERS if p != party)
        who = {"owner": self.supplier[party], "auditor": self.auditor, "other": self.supplier[other]}[reader]
        sees = reader != "other"
        self.call("GET", "/v1/events/{id}", who, expect={200} if sees else {404}, path_parameters={"id": record_id})
        anchored = record_id not in self.pending
        self.call("GET", "/v1/events/{id}/proof", who, path_parameters={"id": record_id},
                  expect=({200} if anchored else {409}) if sees else {404})
        verification = self.call("GET", "/v1/events/{id}/verification", who, expect={200} if sees else {404},
                                 path_parameters={"id": record_id})
        if sees:
            assert verification.json()["status"] == ("verified" if anchored else "pending")

    @rule(events=events)
    def lender_verifies(self, events) -> None:
        """The lender sees the processor's records while its grant is live, nobody else's."""
        party, record_id = events[0]
        sees = party == "processor" and self.grant is not None
        self.call("GET", "/v1/events/{id}/verification", self.lender, expect={200} if sees else {404},
                  path_parameters={"id": record_id})

    @rule(listing=st.sampled_from([("/v1/events", "events", "processor"), ("/v1/transactions", "transactions", "auditor"),
                                   ("/v1/grants", "grants", "processor"), ("/v1/keys", "keys", "admin"),
                                   ("/v1/anchors", "anchors", "auditor"), ("/v1/analytics/fraud/labels", "labels", "lender")]))
    def list_pages(self, listing) -> None:
        """Three pages of a listing, each following the previous page's token: no item twice."""
        path, items, reader = listing
        who = {"processor": self.supplier["processor"], "auditor": self.auditor, "admin": self.admin,
               "lender": self.lender}[reader]
        query, seen = {"perPage": 2}, []
        for _ in range(3):
            page = self.call("GET", path, who, expect={200}, query=query).json()
            seen += [item.get("record_id", item.get("id")) for item in page[items]]
            if not page["nextPageToken"]:
                break
            query = {"perPage": 2, "nextPageToken": page["nextPageToken"]}
        assert len(seen) == len(set(seen)), (path, seen)

    # -- operators --------------------------------------------------------------------------------

    @rule()
    def anchor(self) -> None:
        self.call("POST", "/v1/anchors", self.admin, expect={200})
        self.pending.clear()
        anchors = self.call("GET", "/v1/anchors", self.auditor, expect={200}).json()["anchors"]
        if anchors:
            self.call("GET", "/v1/anchors/{batch_id}/verification", self.auditor, expect={200},
                      path_parameters={"batch_id": anchors[0]["id"]})

    @rule(target=keys, role=st.sampled_from(Role))
    def create_key(self, role: Role):
        key_id, headers = self.new_key(role, f"extra-{self.demo['run']}")
        self.call("GET", "/v1/keys", self.admin, expect={200})
        return key_id, headers

    @rule(key=consumes(keys))
    def revoke_key(self, key) -> None:
        key_id, headers = key
        self.call("DELETE", "/v1/keys/{key_id}", self.admin, expect={200}, path_parameters={"key_id": key_id})
        self.call("GET", "/v1/grants", headers, expect={401})

    # -- grants and the lender ----------------------------------------------------------------------

    @rule()
    def grant_to_lender(self) -> None:
        response = self.call("POST", "/v1/grants", self.supplier["processor"], expect={200} if self.grant else {201},
                             body={"grantee": LENDER}, media_type="application/json")
        self.grant = response.json()["id"]
        grants = self.call("GET", "/v1/grants", self.supplier["processor"], expect={200}).json()["grants"]
        assert grants  # the processor's grants, across examples: at least this one (paged oldest first)

    @precondition(lambda self: self.grant is not None)
    @rule()
    def revoke_grant(self) -> None:
        response = self.call("DELETE", "/v1/grants/{id}", self.supplier["processor"], expect={200},
                             path_parameters={"id": self.grant})
        assert response.json()["revoked_at"] is not None
        self.grant = None

    @precondition(lambda self: "processor" in self.transactions)
    @rule(fraud=st.booleans())
    def label(self, fraud: bool) -> None:
        invoice = self.demo["transactions"]["processor"][1]["id"]
        sees = self.grant is not None
        self.call("POST", "/v1/transactions/{id}/labels", self.lender, expect={200, 201} if sees else {404},
                  path_parameters={"id": invoice}, query={"submitter": "processor"}, body={"fraud": fraud},
                  media_type="application/json")

    @rule()
    def train_and_score(self) -> None:
        trained = self.call("POST", "/v1/analytics/fraud/models", self.lender)
        if trained.status_code in (200, 201):
            self.call("GET", "/v1/analytics/fraud/models/active", self.lender, expect={200})
        if "processor" in self.transactions:
            invoice = self.demo["transactions"]["processor"][1]["id"]
            self.call("GET", "/v1/transactions/{id}/fraud-score", self.lender, path_parameters={"id": invoice},
                      query={"submitter": "processor"})

    @rule(data=st.data(), caller=st.sampled_from(["processor", "auditor", "shop", "lender", "admin", "anonymous"]),
          mode=st.sampled_from(GenerationMode))
    def any_operation(self, data, caller: str, mode: GenerationMode) -> None:
        """A generated request, valid or not, to any operation but the revocations (which would
        withdraw what the machine's expectations rest on), amid the state built so far."""
        method, path = data.draw(st.sampled_from(FUZZED))
        case = data.draw(self.schema[path][method].as_strategy(mode))
        who = {"processor": self.supplier["processor"], "auditor": self.auditor, "shop": self.shop,
               "lender": self.lender, "admin": self.admin, "anonymous": {}}[caller]
        case.call_and_validate(headers=who, checks=CHECKS)

    @rule(data=st.data(), role=st.sampled_from(sorted(ANALYTICS)))
    def analytics(self, data, role: Role) -> None:
        """A generated request to one of the role's analytics operations (forecasts of a SKU the
        retailer sells)."""
        method, path = data.draw(st.sampled_from(ANALYTICS[role]))
        known = {"query": {"sku": data.draw(st.sampled_from(FORECAST_SKUS))}} if "forecast" in path else {}
        case = data.draw(self.schema[path][method].as_strategy(GenerationMode.POSITIVE, **known))
        response = case.call_and_validate(headers=self.shop if role == Role.RETAILER else self.lender, checks=CHECKS)
        assert response.status_code not in (401, 403), (method, path, response.text)


def test_parties_using_the_api(ledger) -> None:
    """Bounded: a fixed number of sequences of a fixed length, the same ones every run."""
    with ledger.session() as session:
        _, token = create_key(session, role=Role.ADMIN, party="admin")
    with api_schema_of(ledger) as schema:
        machine = type("PartiesOfThisLedger", (Parties,), {"schema": schema, "admin": bearer(token)})
        run_state_machine_as_test(machine, settings=settings(
            max_examples=20, stateful_step_count=30, deadline=None, derandomize=True, database=None,
            phases=[Phase.explicit, Phase.generate],  # no shrinking: a failure prints its whole sequence at once
            suppress_health_check=list(HealthCheck)))
