"""The command line, end to end: hash, anchor, audit, demo with exported bundles, offline verify, deploy."""

import json

import pytest

from service.cli import main


def test_hash_prints_one_hash_id_per_event_in_document_order(shared_data, capsys):
    vector = shared_data / "epcis" / "hash-vectors" / "ReferenceEventHashAlgorithm.jsonld"
    assert main(["hash", str(vector)]) == 0
    expected = vector.with_suffix(".hashes").read_text().split()
    assert capsys.readouterr().out.split() == expected


@pytest.fixture
def env(monkeypatch, tmp_path):
    monkeypatch.setenv("TRACEANCHOR_DATA_DIR", str(tmp_path / "data"))
    for name in ("TRACEANCHOR_DATABASE_URL", "TRACEANCHOR_CHAIN_URL", "TRACEANCHOR_CONTRACT_ADDRESS", "TRACEANCHOR_PRIVATE_KEY"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_demo_on_the_embedded_chain_exports_valid_bundles(env, tmp_path, capsys):
    assert main(["demo", "--export", str(tmp_path / "proofs")]) == 0
    out = capsys.readouterr().out
    assert "tampered" in out and "Demo passed" in out
    bundles = sorted((tmp_path / "proofs").glob("*.json"))
    assert len(bundles) == 10  # 8 events and 2 transactions
    assert all(json.loads(path.read_text())["proof"] is not None for path in bundles)


def test_anchor_command_anchors_pending_records(env, capsys):
    from ledger_helpers import fill
    from service.ledger import Ledger

    ledger = Ledger()
    fill(ledger, 3)
    ledger.close()
    assert main(["anchor"]) == 0
    assert "anchored batch 1" in capsys.readouterr().out


def test_anchor_follow_anchors_as_records_arrive_and_stops_on_sigterm(env, tmp_path):
    import signal
    import subprocess
    import sys
    import time

    from ledger_helpers import fill
    from service.anchoring import pending_record_count
    from service.ledger import Ledger

    env.setenv("TRACEANCHOR_BATCH_AGE", "0.1")
    env.setenv("TRACEANCHOR_ANCHOR_INTERVAL", "0.1")
    follower = subprocess.Popen([sys.executable, "-m", "service.cli", "anchor", "--follow"])
    ledger = Ledger()  # stores records only: the follower owns the embedded chain
    try:
        for round_ in range(2):
            fill(ledger, 3, start=3 * round_)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                with ledger.session() as session:
                    if pending_record_count(session) == 0 and ledger.unfinished_batches() == 0:
                        break
                time.sleep(0.1)
            else:
                pytest.fail(f"round {round_}: records not anchored within 30 s")
        follower.send_signal(signal.SIGTERM)
        assert follower.wait(timeout=10) == 0
    finally:
        follower.kill()
        ledger.close()


def test_audit_command_finds_a_deleted_record_and_exits_1(env, tmp_path, capsys):
    from sqlalchemy import text

    from ledger_helpers import fill
    from service.db import make_engine
    from service.ledger import Ledger
    from service.settings import Settings

    for start, anchor in ((0, True), (4, True), (8, False)):  # two anchored batches, one record left pending
        ledger = Ledger()
        fill(ledger, 4 if anchor else 1, start=start)
        ledger.close()
        assert not anchor or main(["anchor"]) == 0
    assert main(["audit"]) == 0
    assert "2 batches audited: 2 complete" in capsys.readouterr().out

    engine = make_engine(Settings())
    with engine.begin() as connection:
        victim = connection.execute(text("SELECT record_id FROM record_leaf WHERE batch_id = 2 AND tree_index = 4")).scalar_one()
        for table, column in (("record_term", "record_id"), ("record_leaf", "record_id"), ("record", "id")):
            connection.execute(text(f"DELETE FROM {table} WHERE {column} = :id"), {"id": victim})
    engine.dispose()
    output = tmp_path / "audits.json"
    assert main(["audit", "--output", str(output)]) == 1
    printed = capsys.readouterr().out
    assert "batch 2: incomplete: 1 anchored records are gone" in printed and "tree position 4" in printed
    assert "2 batches audited: 1 complete, 1 incomplete" in printed
    audits = json.loads(output.read_text())
    assert [a["status"] for a in audits] == ["complete", "incomplete"] and audits[1]["missing_leaves"][0]["tree_index"] == 4
    assert main(["audit", "--batch", "1"]) == 0


@pytest.mark.anvil
def test_demo_on_anvil_then_verify_offline_and_catch_a_doctored_bundle(env, anvil_url, tmp_path, capsys):
    env.setenv("TRACEANCHOR_CHAIN_URL", anvil_url)
    assert main(["demo", "--export", str(tmp_path / "proofs")]) == 0
    bundle_path = sorted((tmp_path / "proofs").glob("*.json"))[0]
    capsys.readouterr()
    assert main(["verify", str(bundle_path), "--rpc", anvil_url]) == 0
    assert capsys.readouterr().out.strip().endswith("VALID")
    bundle = json.loads(bundle_path.read_text())
    bundle["record"]["eventTime"] = "2020-01-01T00:00:00Z"
    bundle_path.write_text(json.dumps(bundle))
    assert main(["verify", str(bundle_path), "--rpc", anvil_url]) == 1
    assert capsys.readouterr().out.strip().endswith("INVALID")


@pytest.mark.anvil
def test_deploy_prints_a_contract_address(env, anvil_url, capsys):
    assert main(["deploy", "--rpc", anvil_url]) == 0
    address = capsys.readouterr().out.strip().splitlines()[-1]
    assert address.startswith("0x") and len(address) == 42


def test_forecast_all_skus_in_parallel(env, tmp_path, capsys):
    from service.ledger import Ledger
    from ledger_helpers import store_transactions

    ledger = Ledger()
    sales = [
        {"id": f"urn:x:sale-{sku}-{t}", "kind": "sale", "timestamp": f"{2024 + t // 12}-{t % 12 + 1:02d}-10T09:00:00Z",
         "seller": "shop", "buyer": "consumer", "currency": "EUR",
         "lines": [{"sku": sku, "quantity": 10 + (t * k) % 7, "unit_price": "1.00"}], "total": f"{10 + (t * k) % 7}.00",
         "references": []}
        for k, sku in enumerate(["SKU-1", "SKU-2"], start=2) for t in range(24)
    ]
    with ledger.session() as session:
        store_transactions(session, transactions=sales, party="shop")
    ledger.close()
    assert main(["anchor"]) == 0
    output = tmp_path / "forecasts.json"
    assert main(["forecast", "--all", "--freq", "M", "--horizon", "3", "--workers", "2", "--output", str(output)]) == 0
    printed = capsys.readouterr().out
    assert "SKU-1" in printed and "SKU-2" in printed
    results = json.loads(output.read_text())
    assert sorted(results) == ["SKU-1", "SKU-2"]
    assert all(r["records_used"] == 24 and len(r["forecast"]) == 3 for r in results.values())
