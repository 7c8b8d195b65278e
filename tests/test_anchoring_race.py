"""Manual anchoring racing the background loop: one anchoring writer at a time, whoever asks.

The race as users met it: admins call ``POST /v1/anchors`` from several threads while the
background loop anchors and records keep arriving. Before the anchoring lock, two passes signed
transactions with the same nonce: requests failed with 500, batches needed retries ("nonce too
low"), and on the embedded chain the loop's thread died, after which nothing was anchored.
"""

import threading
import time

import pytest
from sqlmodel import select

from support.records import payment
from loop_helpers import everything_anchored, looping_api, wait_until
from service.anchor.loop import AnchoringLoop
from service.runtime import Runtime
from service.models import Batch, BatchStatus

RACE_SECONDS = 4.0
ANCHORING_THREADS = 4
ANCHORED_TIMEOUT = 60.0  # seconds for the loop to anchor what the race left pending


@pytest.mark.slow
@pytest.mark.parametrize("chain", ["embedded", pytest.param("anvil", marks=pytest.mark.anvil)])
def test_manual_anchors_racing_the_background_loop_never_fail(request, settings, chain):
    settings.chain_url = request.getfixturevalue("anvil_url") if chain == "anvil" else None
    settings.batch_age, settings.anchor_interval = 0.05, 0.01
    ledger = Runtime(settings)
    try:
        with looping_api(ledger) as api:
            answers: list[int] = []
            stored: list[int] = []
            refused: list[str] = []
            race_ends = time.monotonic() + RACE_SECONDS

            def anchor() -> None:
                while time.monotonic() < race_ends:
                    response = api.client.post("/v1/anchors", headers=api.as_("admin"))
                    answers.append(response.status_code)

            def submit() -> None:
                while time.monotonic() < race_ends:
                    response = api.client.post("/v1/transactions", json=payment(len(stored)), headers=api.as_("processor"))
                    if response.status_code != 201:
                        refused.append(response.text)
                        return
                    stored.append(response.json()["transactions"][0]["record_id"])

            threads = [threading.Thread(target=anchor) for _ in range(ANCHORING_THREADS)] + [threading.Thread(target=submit)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=RACE_SECONDS + 60)
            assert not any(thread.is_alive() for thread in threads), "a request hung"
            assert not refused and stored and answers.count(200) > 0, (refused, len(stored), answers)
            assert set(answers) <= {200, 409}, f"answers: {sorted(set(answers))}"
            assert "anchoring" in {thread.name for thread in threading.enumerate()}, "the anchoring loop died"

            wait_until(lambda: everything_anchored(ledger), timeout=ANCHORED_TIMEOUT, what="anchoring of every record")
            with ledger.session() as session:
                batches = session.exec(select(Batch)).all()
            assert sum(batch.leaf_count for batch in batches) == len(stored)
            assert {(batch.status, batch.attempts, batch.last_error) for batch in batches} == {(BatchStatus.ANCHORED, 0, None)}, (
                "no pass ever collided with another one"
            )
            roots = [event["args"]["root"] for event in ledger.chain.contract.events.Anchored.get_logs(from_block=0)]
            assert sorted(roots) == sorted(bytes.fromhex(batch.root[2:]) for batch in batches), "each root anchored once"
            health = api.client.get("/v1/health").json()
            assert health["status"] == "ok" and health["anchoring"]["loop"] == "running", health
            request.node.user_properties.append(("manual_anchors", len(answers)))
            print(f"{len(answers)} manual anchors ({answers.count(409)} busy) and {len(stored)} records in {RACE_SECONDS} s")
    finally:
        ledger.close()


def test_traceanchor_anchor_waits_for_the_pass_of_another_process(settings, monkeypatch, capsys):
    from support.records import fill
    from service.cli import main

    monkeypatch.setenv("TRACEANCHOR_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("TRACEANCHOR_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("TRACEANCHOR_BATCH_SIZE", "16")
    for name in ("TRACEANCHOR_CHAIN_URL", "TRACEANCHOR_CONTRACT_ADDRESS", "TRACEANCHOR_PRIVATE_KEY"):
        monkeypatch.delenv(name, raising=False)
    other = Runtime(settings)  # another process's pass (its own engine, lock connection or lock file handle)
    try:
        fill(other, 3)
        with other.anchoring.lock(timeout=1):
            assert main(["anchor", "--timeout", "0.3"]) == 2
            assert "another process ran an anchoring pass" in capsys.readouterr().err
        trying, real_lock = threading.Event(), AnchoringLoop.lock
        with other.anchoring.lock(timeout=1):
            monkeypatch.setattr(AnchoringLoop, "lock", lambda anchoring, **kwargs: trying.set() or real_lock(anchoring, **kwargs))
            outcome: list[int] = []
            waiter = threading.Thread(target=lambda: outcome.append(main(["anchor"])))
            waiter.start()
            assert trying.wait(timeout=120), "the command never tried to anchor"
        waiter.join(timeout=120)  # the other pass ended while the command waited for it
        assert outcome == [0] and "anchored batch 1" in capsys.readouterr().out
    finally:
        other.close()
