"""The end-to-end demo, through the HTTP API: a supply chain recorded, anchored, audited, proven, tampered.

By default the API runs in this process on the configured ledger (embedded chain and SQLite unless
``TRACEANCHOR_*`` says otherwise); with ``--url`` the demo talks to a started ``traceanchor serve``
instead, given an admin key. Either way every step is an HTTP request with the key of the party
doing it; only the tampering goes around the API, straight to the database, as an attacker would.
"""

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from sqlalchemy import text
from web3 import Web3

from service.bundle import check_bundle
from service.db import make_engine
from service.demo_chain import FORECAST_SKUS, PARTIES, monthly_sales, supply_chain
from service.settings import Settings

SUPPLIERS = ("farm", "processor", "distributor", "retailer")
ANCHOR_TIMEOUT = 120.0


def run_demo(*, export_dir: Path | None = None, url: str | None = None, admin_key: str | None = None) -> int:
    """Run every step, print what happens, return 0 only if every expectation held."""
    settings = Settings()
    with _client(settings, url=url, admin_key=admin_key) as (client, admin, w3):
        return _Demo(client=client, admin=admin, w3=w3, settings=settings).run(export_dir=export_dir)


@contextmanager
def _client(settings: Settings, *, url: str | None, admin_key: str | None) -> Iterator[tuple[httpx.Client, dict, Web3]]:
    """An HTTP client on a started server, or on the app served in process."""
    if url is not None:
        if admin_key is None:
            raise SystemExit("--url needs --admin-key (create one with: traceanchor keys create --role admin --party ops)")
        with httpx.Client(base_url=url, timeout=60) as client:
            yield client, _bearer(admin_key), Web3(Web3.HTTPProvider(settings.chain_url)) if settings.chain_url else None
        return
    from fastapi.testclient import TestClient

    from service.api.app import create_app
    from service.keys import create_key
    from service.ledger import Ledger
    from service.models import Role

    ledger = Ledger(settings)
    try:
        with ledger.session() as session:
            _, token = create_key(session, role=Role.ADMIN, party="demo-operator")
        ledger.settings.anchor_in_background = False  # the demo anchors when it wants to show it
        with TestClient(create_app(ledger=ledger), base_url="http://traceanchor.local") as client:
            yield client, _bearer(token), ledger.chain.w3
    finally:
        ledger.close()


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class _Demo:
    def __init__(self, *, client: httpx.Client, admin: dict, w3: Web3 | None, settings: Settings) -> None:
        self.client, self.admin, self.w3, self.settings = client, admin, w3, settings
        self.ok = True

    def call(self, method: str, path: str, *, who: dict, expect: int | tuple = (200, 201), **kwargs) -> dict:
        response = self.client.request(method, path, headers=who, **kwargs)
        expected = (expect,) if isinstance(expect, int) else expect
        if response.status_code not in expected:
            raise SystemExit(f"{method} {path}: HTTP {response.status_code}: {response.text}")
        return response.json()

    def check(self, condition: bool, message: str) -> None:
        self.ok &= condition
        if not condition:
            print(f"   UNEXPECTED: {message}")

    def edit_database(self, statement: str, **params) -> None:
        """Change a row behind the service's back, as someone with database access could."""
        engine = make_engine(self.settings)
        try:
            with engine.begin() as connection:
                connection.execute(text(statement), params)
        finally:
            engine.dispose()

    def run(self, *, export_dir: Path | None) -> int:
        health = self.client.get("/v1/health").json()
        chain = health["chain"]
        print(f"traceanchor at {self.client.base_url}: database {health['database']['detail']}, "
              f"chain {chain.get('chain_id')} ({chain['detail']}), TraceAnchor at {chain.get('contract')}")
        data = supply_chain(run=time.time_ns() // 1000)

        _step("1. The admin gives every party its own API key")
        keys = {}
        # the retailer's analyst ("shop") is a key of the retailer itself: analytics cover the asking party's records
        for name, role, party in [*((supplier, "supplier", supplier) for supplier in SUPPLIERS), ("auditor", "auditor", "auditor"),
                                  ("shop", "retailer", "retailer")]:
            created = self.call("POST", "/v1/keys", who=self.admin, json={"role": role, "party": party})
            keys[name] = _bearer(created["key"])
            print(f"   key {created['id']:>3}: {name:<12} role {role:<9} party {party}")

        _step("2. Suppliers submit their EPCIS events and transactions over HTTP")
        events = []
        for party in SUPPLIERS:
            captured = self.call("POST", "/v1/events", who=keys[party], json=data["documents"][party])["events"]
            events += captured
            for event in captured:
                print(f"   {PARTIES[party]:<20} event {event['id']:>4}  {event['event_hash_id'][:48]}...  {event['status']}")
        transactions = self.call("POST", "/v1/transactions", who=keys["processor"], json=data["transactions"]["processor"])["transactions"]
        for transaction in transactions:
            print(f"   {PARTIES['processor']:<20} {transaction['kind']:<7} {transaction['id']}")

        _step("3. The records are batched into a Merkle tree whose root is anchored on chain")
        self._anchor_all()
        for anchor in self.call("GET", "/v1/anchors", who=keys["auditor"], params={"perPage": 3})["anchors"][:1]:
            print(f"   batch {anchor['id']}: {anchor['leaf_count']} records, root {anchor['root']}")
            print(f"   tx {anchor['tx_hash']}, block {anchor['block_number']}, {anchor['gas_used']} gas, {anchor['status']}")

        _step("4. An auditor follows the bottle of juice back to the orchard")
        self._show_trail(keys["auditor"], data["bottle"], expect="verified")

        _step("5. Proof bundles, checked with nothing but an Ethereum node")
        bundles = {f"event-{e['id']}": self.call("GET", f"/v1/events/{e['id']}/proof", who=keys["auditor"]) for e in events}
        bundles |= {f"transaction-{t['record_id']}": self.call("GET", f"/v1/transactions/{t['id']}/proof", who=keys["auditor"]) for t in transactions}
        if export_dir is not None:
            export_dir.mkdir(parents=True, exist_ok=True)
            for name, bundle in bundles.items():
                (export_dir / f"{name}.json").write_text(json.dumps(bundle, indent=2) + "\n")
            print(f"   wrote {len(bundles)} bundles to {export_dir}")
        self._check_offline(next(iter(bundles.values())))

        _step("6. Someone edits the invoice directly in the database")
        invoice = transactions[-1]
        self.edit_database("UPDATE record SET body = replace(body, '\"14.00\"', '\"1400.00\"') WHERE id = :id", id=invoice["record_id"])
        print(f"   UPDATE record SET body = ... total 14.00 -> 1400.00 WHERE id = {invoice['record_id']}")
        result = self.call("GET", f"/v1/transactions/{invoice['id']}/verification", who=keys["auditor"])
        print(f"   invoice {invoice['id']}: {result['status']}: {result['reason']}")
        self.check(result["status"] == "tampered", "the edited invoice should be tampered")
        statuses = {self.call("GET", f"/v1/events/{e['id']}/verification", who=keys["auditor"])["status"] for e in events}
        print(f"   the {len(events)} events still verify: {statuses == {'verified'}}")
        self.check(statuses == {"verified"}, "untouched events should still verify")

        _step("7. Someone rewrites a farm event; the auditor's trail names it")
        shipped = events[2]["id"]
        self.edit_database("UPDATE record SET body = replace(body, 'in_transit', 'destroyed') WHERE id = :id", id=shipped)
        self._show_trail(keys["auditor"], data["bottle"], expect="tampered")

        _step("8. Someone deletes an event; the batch audit finds the hole it leaves")
        victim = self.call("GET", f"/v1/events/{events[5]['id']}", who=keys["auditor"])
        batch_id = victim["batch_id"]
        self.edit_database("DELETE FROM record WHERE id = :id", id=victim["id"])
        print(f"   DELETE FROM record WHERE id = {victim['id']}   ({victim['event'].get('bizStep')} by {victim['party']}; "
              "no record left to verify)")
        audit = self.call("GET", f"/v1/anchors/{batch_id}/verification", who=keys["auditor"])
        print(f"   batch {batch_id}: {audit['status']}: {audit['reason']}")
        for leaf in audit["missing_leaves"]:
            print(f"   missing: tree position {leaf['tree_index']}, leaf {leaf['leaf'][:26]}...")
        self.check(audit["status"] == "tampered" and len(audit["missing_leaves"]) == 1, "the deleted event's leaf should be missing")

        _step("9. The retailer forecasts demand from its verified sales")
        self._forecast(retailer=keys["retailer"], analyst=keys["shop"], run=data["run"])
        print("\nDemo " + ("passed: every expectation held." if self.ok else "FAILED: see above."))
        return 0 if self.ok else 1

    def _forecast(self, *, retailer: dict, analyst: dict, run: int) -> None:
        sales = monthly_sales(run=run)
        self.call("POST", "/v1/transactions", who=retailer, json=sales)
        self._anchor_all()
        print(f"   {len(sales)} monthly sales of {len(FORECAST_SKUS)} SKUs recorded and anchored")
        for sku in FORECAST_SKUS:
            result = self.call("GET", "/v1/analytics/forecast", who=analyst, params={"sku": sku, "freq": "M", "horizon": 3})
            next_month = result["forecast"][0]
            print(f"   {sku}: {result['model']:<32} next month {next_month['mean']:6.1f} "
                  f"[{next_month['lower_95']:.1f}, {next_month['upper_95']:.1f}] from {result['records_used']} verified sales")
            self.check(result["records_used"] > 0 and len(result["forecast"]) == 3, f"a forecast for {sku}")

    def _anchor_all(self) -> None:
        deadline = time.monotonic() + ANCHOR_TIMEOUT
        while time.monotonic() < deadline:
            report = self.call("POST", "/v1/anchors", who=self.admin)
            for error in report["errors"]:
                print(f"   anchoring error: {error}")
            if self.call("GET", "/v1/health", who={})["pending_records"] == 0 and not report["submitted"]:
                anchors = self.call("GET", "/v1/anchors", who=self.admin, params={"perPage": 20})["anchors"]
                if all(anchor["status"] == "anchored" for anchor in anchors):
                    return
            time.sleep(0.2)
        self.check(False, f"records not anchored within {ANCHOR_TIMEOUT:.0f} s")

    def _show_trail(self, auditor: dict, epc: str, *, expect: str) -> None:
        trail = self.call("GET", f"/v1/provenance/{epc}", who=auditor)
        print(f"   {trail['epc']}")
        for event in trail["events"]:
            step = (event["event"].get("bizStep") or "") if isinstance(event["event"], dict) else ""
            print(f"   {event['event_time'][:16]}  {event['type']:<20} {step:<14} {PARTIES.get(event['party'], event['party']):<20} "
                  f"{event['verification']['status']:<9} via {event['via']}")
        print(f"   verdict: {trail['verdict']}" + "".join(f"\n   - {problem}" for problem in trail["problems"]))
        self.check(trail["verdict"] == expect, f"the trail's verdict should be {expect}")

    def _check_offline(self, bundle: dict) -> None:
        if self.w3 is None:
            print("   (the server's chain is embedded in it: set TRACEANCHOR_CHAIN_URL to check bundles from outside)")
            return
        result = check_bundle(bundle, w3=self.w3)
        for name, passed, detail in result.checks:
            print(f"   {'ok  ' if passed else 'FAIL'} {name}: {detail}")
        self.check(result.valid, "the exported bundle should check on chain")
        if self.settings.chain_url:
            print(f"   the same from a shell: traceanchor verify BUNDLE.json --rpc {self.settings.chain_url}")


def _step(title: str) -> None:
    print(f"\n{title}")
