"""The end-to-end demo, through the HTTP API: a supply chain recorded, anchored, audited, proven, tampered.

By default the API runs in this process, served by uvicorn on a free loopback port, on a ledger of
its own: a fresh data directory ``TRACEANCHOR_DATA_DIR/demo``, emptied at every run so that a second
run shows the same as the first (the embedded chain, or ``TRACEANCHOR_CHAIN_URL``). With ``--url`` the
demo talks to a started ``traceanchor serve`` instead, given an admin key. Either way every step is an
HTTP request with the key of the party doing it; only the tampering goes around the API, straight to
the database, as an attacker would: so with ``--url`` the database these settings name must be the
server's, which is checked before anything is changed.
"""

import hashlib
import hmac
import json
import secrets
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlmodel import Session
from web3 import Web3

from service.verify.bundle import check_bundle
from service.db import make_engine, migrate
from service.demo.signing import sign_and_receipt
from service.demo.supply_chain import FORECAST_SKUS, PARTIES, monthly_sales, supply_chain
from service.errors import TraceAnchorError
from service.access.keys import authenticate
from service.models import Role
from service.settings import Settings

SUPPLIERS = ("farm", "processor", "distributor", "retailer")
ANCHOR_TIMEOUT = 120.0
DELIVERY_TIMEOUT = 30.0  # seconds for a capture job to finish, and for the webhook to be called
START_TIMEOUT = 60.0  # seconds for the in-process server to listen (the embedded chain deploys first)
DEMO_DIR = "demo"
DEMO_MARKER = ".traceanchor-demo"  # only a directory holding this file is ever emptied


class DemoAborted(TraceAnchorError):
    """The demo cannot go on: a server that cannot be reached or used, or a refused request."""


def run_demo(*, export_dir: Path | None = None, url: str | None = None, admin_key: str | None = None) -> int:
    """Run every step, print what happens, return 0 only if every expectation held."""
    configured = Settings()
    setup = _in_process(configured) if url is None else _against(url, settings=configured, admin_key=admin_key)
    try:
        with setup as (client, admin, w3, settings):
            demo = _Demo(client=client, admin=admin, w3=w3, settings=settings)
            return demo.run(export_dir=export_dir, own_data=url is None)
    except httpx.TransportError as error:
        raise DemoAborted(f"{url or 'the in-process server'}: {error}") from None


@contextmanager
def _against(url: str, *, settings: Settings, admin_key: str | None) -> Iterator[tuple[httpx.Client, dict, Web3 | None, Settings]]:
    """A client of a started server, once its database is known to be the one the demo edits."""
    if admin_key is None:
        raise DemoAborted("--url needs --admin-key (create one with: traceanchor keys create --role admin --party ops)")
    _check_same_database(settings, admin_key=admin_key)
    w3 = Web3(Web3.HTTPProvider(settings.chain_url)) if settings.chain_url else None
    with httpx.Client(base_url=url, timeout=60) as client:
        yield client, _bearer(admin_key), w3, settings


def _check_same_database(settings: Settings, *, admin_key: str) -> None:
    """The demo's edits go to the database its own settings name; unless the server's admin key is
    in it (so it is the server's), refuse before any request changes anything."""
    url = make_url(settings.resolved_database_url)
    key = None
    if url.get_backend_name() != "sqlite" or Path(url.database or "").is_file():  # never create a SQLite file here
        engine = create_engine(url)
        try:
            if inspect(engine).has_table("api_key"):
                with Session(engine) as session:
                    key = authenticate(session, token=admin_key)
        finally:
            engine.dispose()
    if key is None or key.role != Role.ADMIN:
        raise DemoAborted(
            f"the admin key is not an admin key of {url.render_as_string(hide_password=True)}, the database this demo "
            "would edit: set TRACEANCHOR_DATABASE_URL (or TRACEANCHOR_DATA_DIR) as the server has it, so that the "
            "demo's direct edits reach the server's database"
        )


@contextmanager
def _in_process(settings: Settings) -> Iterator[tuple[httpx.Client, dict, Web3, Settings]]:
    """The app served by uvicorn in this process, on a ledger in a fresh demo data directory."""
    from service.api.app import create_app
    from service.access.keys import create_key
    from service.runtime import Runtime

    demo_settings = Settings(data_dir=_fresh_directory(settings.data_dir / DEMO_DIR), database_url=None,
                             anchor_in_background=False,  # the demo anchors when it wants to show it
                             batch_age=2.0, receipt_margin=0.0,  # receipts promise anchoring within 2 s: step 12 waits that out
                             webhook_allow_hosts="127.0.0.1")  # its own webhook receiver, on loopback
    migrate(demo_settings)  # a fresh database of its own, made like `traceanchor migrate` makes one
    ledger = Runtime(demo_settings)
    try:
        with ledger.session() as session:
            _, token = create_key(session, role=Role.ADMIN, party="demo-operator")
        with _served(create_app(runtime=ledger)) as base_url, httpx.Client(base_url=base_url, timeout=60) as client:
            yield client, _bearer(token), ledger.chain.w3, demo_settings
    finally:
        ledger.close()


def _fresh_directory(directory: Path) -> Path:
    """``directory`` emptied, if the demo made it; refuse to empty anything else."""
    if directory.exists():
        if not (directory / DEMO_MARKER).is_file():
            raise DemoAborted(f"{directory} exists and was not made by the demo, which empties its directory at every run: move it away")
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    (directory / DEMO_MARKER).write_text("made by `traceanchor demo`, which empties this directory at every run\n")
    return directory


@contextmanager
def _served(app) -> Iterator[str]:
    """``app`` under uvicorn on a free loopback port, in a thread; yields its base URL."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, access_log=False, log_level="warning"))
    thread = threading.Thread(target=server.run, name="demo-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise DemoAborted("the demo's in-process server did not start")
        time.sleep(0.05)
    host, port = server.servers[0].sockets[0].getsockname()[:2]
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _count(n: int, noun: str, plural: str | None = None) -> str:
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


class _Demo:
    def __init__(self, *, client: httpx.Client, admin: dict, w3: Web3 | None, settings: Settings) -> None:
        self.client, self.admin, self.w3, self.settings = client, admin, w3, settings
        self.ok = True

    def call(self, method: str, path: str, *, who: dict, expect: int | tuple = (200, 201), **kwargs) -> dict:
        response = self.client.request(method, path, headers=who, **kwargs)
        expected = (expect,) if isinstance(expect, int) else expect
        if response.status_code not in expected:
            raise DemoAborted(f"{method} {path}: HTTP {response.status_code}: {response.text}")
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

    def run(self, *, export_dir: Path | None, own_data: bool) -> int:
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
        events, lines = [], []
        for party in SUPPLIERS:
            captured = self.call("POST", "/v1/events", who=keys[party], json=data["documents"][party])["events"]
            events += captured
            lines += [(event["id"], f"{PARTIES[party]:<20} event       {event['event_hash_id'][:48]}...  {event['status']}")
                      for event in captured]
        transactions = self.call("POST", "/v1/transactions", who=keys["processor"], json=data["transactions"]["processor"])["transactions"]
        lines += [(t["record_id"], f"{PARTIES['processor']:<20} {t['kind']:<11} {t['id']}") for t in transactions]
        for record_id, line in sorted(lines):
            print(f"   record {record_id:>4}  {line}")

        _step("3. The records are batched into a Merkle tree whose root is anchored on chain")
        self.anchor_all()
        for anchor in self.call("GET", "/v1/anchors", who=keys["auditor"], params={"perPage": 3})["anchors"][:1]:
            print(f"   batch {anchor['id']}: {_count(anchor['leaf_count'], 'record')}, root {anchor['root']}")
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
            print(f"   wrote {_count(len(bundles), 'bundle')} to {export_dir}")
        self._check_offline(next(iter(bundles.values())))

        _step("6. Someone edits the invoice directly in the database")
        invoice = transactions[-1]
        self.edit_database("UPDATE record SET body = replace(body, '\"14.00\"', '\"1400.00\"') WHERE id = :id", id=invoice["record_id"])
        print(f"   UPDATE record SET body = ... total 14.00 -> 1400.00 WHERE id = {invoice['record_id']}")
        result = self.call("GET", f"/v1/transactions/{invoice['id']}/verification", who=keys["auditor"])
        print(f"   invoice {invoice['id']}: {result['status']}: {result['reason']}")
        self.check(result["status"] == "tampered", "the edited invoice should be tampered")
        statuses = {self.call("GET", f"/v1/events/{e['id']}/verification", who=keys["auditor"])["status"] for e in events}
        print(f"   the {_count(len(events), 'event')} still verify: {statuses == {'verified'}}")
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
        self._forecast(retailer=keys["retailer"], analyst=keys["shop"])

        _step("10. The retailer declares its sale event erroneous (EPCIS errorDeclaration) and records the correct one")
        self._correct(keys, sale=events[-1], data=data)

        _step("11. The retailer's EPCIS software captures through the standard binding; its webhook hears of it")
        self._capture_and_subscribe(keys["retailer"], document=data["receiving"])

        _step("12. The farm signs its submissions; receipts prove what the operator received, anchored or dropped")
        sign_and_receipt(self, farm=keys["farm"], auditor=keys["auditor"],
                         document=supply_chain(run=time.time_ns() // 1000)["documents"]["farm"],
                         dropped=supply_chain(run=time.time_ns() // 1000 + 1)["documents"]["farm"])
        print("\nDemo " + ("passed: every expectation held." if self.ok else "FAILED: see above."))
        if own_data:
            print(f"Its data stays in {self.settings.data_dir} until the next run; the batch audit finds the deleted event "
                  f"from a shell too:\n   TRACEANCHOR_DATA_DIR={self.settings.data_dir} traceanchor audit")
        return 0 if self.ok else 1

    def _forecast(self, *, retailer: dict, analyst: dict) -> None:
        sales = monthly_sales()
        self.call("POST", "/v1/transactions", who=retailer, json=sales)
        self.anchor_all()
        print(f"   {_count(len(sales), 'monthly sale')} of {_count(len(FORECAST_SKUS), 'SKU')} recorded and anchored")
        print(f"   {'SKU':<13}  {'model':<32} {'next month':>10}  {'80 % interval':<14} {'95 % interval':<14} input")
        for sku in FORECAST_SKUS:
            result = self.call("GET", "/v1/analytics/forecast", who=analyst, params={"sku": sku, "freq": "M", "horizon": 3})
            month = result["forecast"][0]
            print(f"   {sku:<13}  {result['model']:<32} {month['mean']:>10.1f}  {_interval(month, 80):<14} {_interval(month, 95):<14} "
                  f"{_count(result['records_used'], 'verified sale')}")
            self.check(result["records_used"] > 0 and len(result["forecast"]) == 3, f"a forecast for {sku}")

    def _correct(self, keys: dict, *, sale: dict, data: dict) -> None:
        declaration, corrective = self.call("POST", "/v1/events", who=keys["retailer"], json=data["correction"])["events"]
        self.anchor_all()
        original = self.call("GET", f"/v1/events/{sale['id']}", who=keys["auditor"])["declared_erroneous"]
        status = self.call("GET", f"/v1/events/{declaration['id']}/verification", who=keys["auditor"])["status"]
        print(f"   record {declaration['id']}: the declaration (same event hash ID as record {sale['id']}, a record of its own, {status})")
        print(f"   record {corrective['id']}: the corrective event {data['corrective_id']}")
        if original is not None:
            print(f"   record {sale['id']} reads declared erroneous: reason {original['reason']}, "
                  f"corrective events {', '.join(original['corrective_event_ids'])}")
        self.check(status == "verified" and original is not None and original["record_id"] == declaration["id"],
                   "the declaration should verify and the sale read declared erroneous")
        found = self.call("GET", "/epcis/events", who={**keys["auditor"], "GS1-EPC-Format": "Never_Translates"},
                          params={"EQ_correctiveEventID": data["corrective_id"]})
        listed = found["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
        print(f"   GET /epcis/events?EQ_correctiveEventID=...: {_count(len(listed), 'event')}, "
              f"declared {listed[0]['errorDeclaration']['declarationTime'] if listed else '-'}")
        self.check(len(listed) == 1 and "errorDeclaration" in listed[0], "the binding should find the declaration")

    def _capture_and_subscribe(self, retailer: dict, *, document: dict) -> None:
        with _receiver() as (dest, received):
            token = secrets.token_hex(16)
            self.call("POST", "/epcis/queries", who=retailer, json={"name": "deliveries", "query": {"EQ_bizStep": ["receiving"]}})
            made = self.client.post("/epcis/queries/deliveries/subscriptions", headers=retailer,
                                    json={"dest": dest, "signatureToken": token, "stream": True})
            if made.status_code == 400:  # a server of its own that keeps webhooks off loopback, as it should
                print(f"   the server refuses {dest} ({made.json()['detail']}); set TRACEANCHOR_WEBHOOK_ALLOW_HOSTS=127.0.0.1 there")
                return
            self.check(made.status_code == 201, f"the subscription should be made: {made.text}")
            print(f"   query 'deliveries' (EQ_bizStep=receiving), subscribed: {dest}, stream")
            accepted = self.client.post("/epcis/capture", headers=retailer, json=document)
            self.check(accepted.status_code == 202, f"the capture job should be accepted: {accepted.text}")
            job = self._finished(accepted.headers["Location"], who=retailer)
            print(f"   POST /epcis/capture: 202, {accepted.headers['Location']}: success {job.get('success')}")
            deadline = time.monotonic() + DELIVERY_TIMEOUT
            while not received and time.monotonic() < deadline:
                time.sleep(0.2)
            self.check(bool(received), f"the webhook should be called within {DELIVERY_TIMEOUT:.0f} s")
            for headers, body in received[:1]:
                signed = hmac.compare_digest(hmac.new(token.encode(), body, hashlib.sha256).hexdigest(), headers.get("GS1-Signature", ""))
                listed = json.loads(body)["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
                print(f"   the webhook got an EPCISQueryDocument: {_count(len(listed), 'event')}, "
                      f"{listed[0]['bizStep'] if listed else '-'}, GS1-Signature checks: {signed}")
                self.check(signed and len(listed) == 1, "the delivery should be signed and carry the captured event")

    def _finished(self, location: str, *, who: dict) -> dict:
        deadline = time.monotonic() + DELIVERY_TIMEOUT
        while time.monotonic() < deadline:
            job = self.call("GET", location, who=who)
            if not job.get("running") and job.get("finishedAt"):
                self.check(bool(job.get("success")), f"the capture job should succeed: {job}")
                return job
            time.sleep(0.2)
        self.check(False, f"the capture job did not finish within {DELIVERY_TIMEOUT:.0f} s")
        return {}

    def anchor_all(self) -> None:
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
        for line in result.lines():
            print(f"   {line}")
        self.check(result.valid, "the exported bundle should check on chain")
        if self.settings.chain_url:
            print(f"   the same from a shell: traceanchor verify BUNDLE.json --rpc {self.settings.chain_url}")


@contextmanager
def _receiver() -> Iterator[tuple[str, list[tuple[dict, bytes]]]]:
    """A webhook receiver on a free loopback port, as a subscriber would run one; yields its URL and
    what it received (headers, body), answering 204 to every POST."""
    received: list[tuple[dict, bytes]] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            received.append((dict(self.headers), self.rfile.read(int(self.headers.get("Content-Length", 0)))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.serve_forever, name="demo-webhook", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/deliveries", received
    finally:
        server.shutdown()
        server.server_close()


def _step(title: str) -> None:
    print(f"\n{title}")


def _interval(point: dict, level: int) -> str:
    return f"[{point[f'lower_{level}']:.1f}, {point[f'upper_{level}']:.1f}]"
