"""A real node outage, absorbed by the background loop: anvil stops while records keep arriving and
comes back with its state (the backlog is anchored), then dies without saving its latest blocks and
comes back with the older state (the anchors it lost are detected and anchored again, and the
account's nonce, lower again on that node, is taken from it)."""

import logging

import pytest
from sqlmodel import select

import service.anchor.loop
import service.runtime
from support.servers import anvil_node, free_loopback_port
from support.records import payment
from loop_helpers import everything_anchored, looping_api, wait_until
from service.runtime import Runtime
from service.models import Batch, Record
from service.verify.verification import VerificationStatus, verify_record

pytestmark = [pytest.mark.slow, pytest.mark.anvil]
BACK_TIMEOUT = 60.0  # seconds to anchor the backlog once the node is back (the loop's backoff is at most twice the outage)


def submit(api, numbers: range) -> None:
    for number in numbers:
        response = api.client.post("/v1/transactions", json=payment(number), headers=api.as_("processor"))
        assert response.status_code == 201, response.text


def all_verified(ledger: Runtime) -> bool:
    """Every record anchored and verified against the node as it is now, every root on chain once."""
    if not everything_anchored(ledger):
        return False
    chain = ledger.chain
    with ledger.session() as session:
        statuses = {verify_record(session, chain, record).status for record in session.exec(select(Record))}
        roots = sorted(bytes.fromhex(batch.root[2:]) for batch in session.exec(select(Batch)))
    anchored = sorted(event["args"]["root"] for event in chain.contract.events.Anchored.get_logs(from_block=0))
    return statuses == {VerificationStatus.VERIFIED} and anchored == roots


def test_a_node_outage_is_absorbed_and_anchors_the_node_lost_are_made_again(settings, tmp_path, monkeypatch, caplog):
    caplog.set_level(logging.WARNING, logger="service.anchor.anchoring")
    monkeypatch.setattr(service.anchor.loop, "REORG_CHECK_INTERVAL", 0.2)  # the loop re-checks recent roots this often
    monkeypatch.setattr(service.runtime, "CHAIN_CHECK_SECONDS", 0.0)
    settings.batch_age, settings.anchor_interval = 0.1, 0.05
    state, port = tmp_path / "anvil-state.json", free_loopback_port()
    settings.chain_url = f"http://127.0.0.1:{port}"
    ledger = Runtime(settings)
    try:
        with anvil_node(port=port, state=state) as (_, node):
            with looping_api(ledger) as api:
                submit(api, range(10))
                wait_until(lambda: all_verified(ledger), timeout=BACK_TIMEOUT, what="anchoring before the outage")
                node.terminate()  # a clean stop: anvil writes its state
                node.wait(timeout=30)
                submit(api, range(10, 30))  # capture goes on without the node
                wait_until(lambda: not api.client.get("/v1/health").json()["chain"]["ok"], timeout=30, what="health seeing the node down")
                with anvil_node(port=port, state=state) as (_, node):
                    wait_until(lambda: all_verified(ledger), timeout=BACK_TIMEOUT, what="the backlog anchored after the outage")
                    submit(api, range(30, 35))
                    wait_until(lambda: all_verified(ledger), timeout=BACK_TIMEOUT, what="anchoring after the outage")
                    node.kill()  # dies without writing its state: every block since the first stop is lost
                    node.wait(timeout=30)
                with anvil_node(port=port, state=state):
                    submit(api, range(35, 40))  # records arriving before the loop notices what the node lost
                    wait_until(lambda: all_verified(ledger), timeout=BACK_TIMEOUT, what="the lost anchors made again")
                    assert any("vanished from the chain" in record.getMessage() for record in caplog.records)
                    assert api.client.get("/v1/health").json()["status"] == "ok"
                    assert ledger.anchoring.status.alive
    finally:
        ledger.close()
