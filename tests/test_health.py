"""`GET /v1/health` tells the truth: a dead or stalled anchoring loop, records waiting far past the
batch age, and a contract the node lost each make it `degraded`, with the reason; and the
anchoring loop survives whatever a pass raises."""

import logging
import threading
from datetime import datetime

import pytest
from sqlalchemy.exc import OperationalError

import service.anchor.loop
import service.runtime
from support.servers import anvil_node
from support.records import fill, payment
from loop_helpers import everything_anchored, looping_api, wait_until
from service.runtime import Runtime

LOOP_TIMEOUT = 30.0  # seconds for the loop to do what a test waits for (a pass every 0.05 s)
HEALTH_FIELDS = {"status", "reasons", "checked_at", "database", "chain", "anchoring", "pending_records"}


@pytest.fixture
def loop_ledger(settings):
    """A ledger whose loop passes every 0.05 s and closes batches after 0.05 s."""
    settings.batch_age, settings.anchor_interval = 0.05, 0.05
    ledger = Runtime(settings)
    yield ledger
    ledger.close()


def health(api) -> dict:
    response = api.client.get("/v1/health")
    assert response.status_code == 200, response.text
    body = response.json()
    assert HEALTH_FIELDS <= body.keys()
    return body


def iso_utc(value: str) -> datetime:
    """Parse a timestamp of the API, which must be ISO 8601 in UTC."""
    assert value.endswith("Z"), value
    return datetime.fromisoformat(value)


def test_health_of_a_working_ledger_is_ok_with_iso_utc_timestamps(loop_ledger):
    with looping_api(loop_ledger) as api:
        fill(loop_ledger, 3)
        wait_until(lambda: everything_anchored(loop_ledger), timeout=LOOP_TIMEOUT, what="anchoring")
        wait_until(lambda: health(api)["anchoring"]["last_pass_at"] is not None, timeout=LOOP_TIMEOUT, what="pass")
        body = health(api)
    assert body["status"] == "ok" and body["reasons"] == [], body
    assert body["pending_records"] == 0 and body["chain"]["contract_present"] is True
    anchoring = body["anchoring"]
    assert anchoring["ok"] and anchoring["loop"] == "running" and anchoring["loop_alive"] is True
    assert anchoring["oldest_pending_since"] is None and anchoring["batch_age_seconds"] == 0.05
    for moment in (body["checked_at"], body["chain"]["checked_at"], anchoring["last_pass_at"]):
        iso_utc(moment)


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")  # the thread dies on purpose
def test_health_says_degraded_when_the_anchoring_loop_thread_died(loop_ledger, monkeypatch):
    """The loop ends only by a BaseException (here SystemExit, which a thread dies of silently)."""

    def fatal(*args, **kwargs):
        raise SystemExit("killed by the test")

    with looping_api(loop_ledger) as api:
        monkeypatch.setattr(service.anchor.loop, "anchor_pass", fatal)
        wait_until(lambda: "anchoring" not in {t.name for t in threading.enumerate()}, timeout=LOOP_TIMEOUT, what="end of the loop")
        body = health(api)
    assert body["status"] == "degraded", body
    assert body["anchoring"]["loop"] == "stopped" and body["anchoring"]["loop_alive"] is False
    assert "killed by the test" in body["anchoring"]["last_error"]
    assert any("anchoring loop of this process is not running" in reason for reason in body["reasons"]), body["reasons"]


def test_the_loop_survives_any_exception_of_a_pass_and_logs_it(loop_ledger, monkeypatch, caplog):
    real_pass = service.anchor.loop.anchor_pass
    failures = [RuntimeError("an unexpected bug"), OperationalError("SELECT 1", {}, Exception("server closed the connection"))]

    def flaky(*args, **kwargs):
        if failures:
            raise failures.pop(0)
        return real_pass(*args, **kwargs)

    caplog.set_level(logging.INFO, logger="service.anchor.loop")
    fill(loop_ledger, 3)
    with looping_api(loop_ledger) as api:
        monkeypatch.setattr(service.anchor.loop, "anchor_pass", flaky)
        wait_until(lambda: not failures and everything_anchored(loop_ledger), timeout=LOOP_TIMEOUT, what="anchoring after the failures")
        body = health(api)
    assert body["status"] == "ok" and body["anchoring"]["loop_alive"] is True, body
    assert "server closed the connection" in body["anchoring"]["last_error"]
    iso_utc(body["anchoring"]["last_error_at"])
    failed = [r for r in caplog.records if r.name == "service.anchor.loop" and r.levelno == logging.ERROR]
    assert len(failed) == 2 and all(r.exc_info for r in failed), "each failure logged with its traceback"
    passes = [r.getMessage() for r in caplog.records if r.name == "service.anchor.loop" and r.levelno == logging.INFO]
    assert any("1 anchored" in message for message in passes), passes


def test_health_says_degraded_when_a_pass_hangs(loop_ledger, monkeypatch):
    loop_ledger.settings.stall_margin, loop_ledger.settings.anchor_lock_timeout = 0.3, 0.1
    release = threading.Event()

    def hang(*args, **kwargs):
        release.wait(LOOP_TIMEOUT)
        raise RuntimeError("released")

    with looping_api(loop_ledger) as api:
        try:
            monkeypatch.setattr(service.anchor.loop, "anchor_pass", hang)
            wait_until(lambda: health(api)["status"] == "degraded", timeout=LOOP_TIMEOUT, what="degraded health")
            body = health(api)
            assert any("has not finished a pass since" in reason for reason in body["reasons"]), body["reasons"]
            assert body["anchoring"]["loop_alive"] is True
        finally:
            release.set()


def test_the_loop_waits_for_a_pass_of_another_process_instead_of_failing(loop_ledger, settings):
    settings.anchor_lock_timeout = 0.2
    other = Runtime(settings)  # another process's ledger on the same database (a second engine, a second lock file handle)
    try:
        with looping_api(loop_ledger) as api:
            with other.anchoring.lock(timeout=1):
                fill(loop_ledger, 2)
                response = api.client.post("/v1/anchors", headers=api.as_("admin"))
                assert loop_ledger.anchoring.status.alive and not everything_anchored(loop_ledger)
            wait_until(lambda: everything_anchored(loop_ledger), timeout=LOOP_TIMEOUT, what="anchoring once the lock is free")
            assert health(api)["anchoring"]["last_error"] is None
    finally:
        other.close()
    assert response.status_code == 409 and response.json()["error"] == "AnchoringBusy", response.text


def test_records_pending_long_past_the_batch_age_make_health_degraded(api):
    """Anchoring stopped (no loop in this process, as for workers whose `anchor --follow` is down)."""
    api.ledger.settings.batch_age, api.ledger.settings.stall_margin = 0.2, 0.3
    assert api.client.post("/v1/transactions", json=payment(1), headers=api.as_("processor")).status_code == 201
    assert health(api)["status"] == "ok"
    wait_until(lambda: health(api)["status"] == "degraded", timeout=LOOP_TIMEOUT, what="degraded health")
    body = health(api)
    anchoring = body["anchoring"]
    assert anchoring["loop"] == "disabled" and anchoring["loop_alive"] is None
    assert anchoring["oldest_pending_seconds"] > anchoring["batch_age_seconds"] + anchoring["stall_margin_seconds"]
    iso_utc(anchoring["oldest_pending_since"])
    assert any("oldest pending record has waited" in reason for reason in body["reasons"]), body["reasons"]
    assert api.client.post("/v1/anchors", headers=api.as_("admin")).status_code == 200
    assert health(api)["status"] == "ok"


def test_a_manual_anchor_that_cannot_get_the_lock_is_a_409(api):
    api.ledger.settings.anchor_lock_timeout = 0.1
    with api.ledger.anchoring.lock(timeout=1):
        response = api.client.post("/v1/anchors", headers=api.as_("admin"))
    assert response.status_code == 409, response.text
    assert response.json()["error"] == "AnchoringBusy"
    assert api.client.post("/v1/anchors", headers=api.as_("admin")).status_code == 200


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_health_looks_at_the_chain_at_most_every_few_seconds(api, monkeypatch):
    looks = []
    real = type(api.ledger.chain).contract_present
    monkeypatch.setattr(type(api.ledger.chain), "contract_present", lambda chain: looks.append(1) or real(chain))
    for _ in range(5):
        assert health(api)["chain"]["contract_present"] is True
    assert len(looks) <= 1


@pytest.mark.anvil
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_health_reports_a_contract_lost_by_a_node_restarted_without_state(request, settings, monkeypatch):
    monkeypatch.setattr(service.runtime, "CHAIN_CHECK_SECONDS", 0.0)
    with anvil_node() as (url, node):
        settings.chain_url = url
        api = request.getfixturevalue("api")
        assert health(api)["status"] == "ok"
        node.terminate()
        node.wait(timeout=10)
    port = int(url.rsplit(":", 1)[1])
    with anvil_node(port=port):  # the same node, back without its state
        body = health(api)
        assert body["status"] == "degraded", body
        assert body["chain"]["ok"] is False and body["chain"]["contract_present"] is False
        assert any("is no longer on chain" in reason for reason in body["reasons"]), body["reasons"]
        assert api.client.post("/v1/transactions", json=payment(1), headers=api.as_("processor")).status_code == 201
