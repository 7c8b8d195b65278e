"""The end-to-end demo: record a supply chain, anchor it, verify it, prove it, catch tampering."""

import json
import time
from pathlib import Path

from sqlalchemy import text
from sqlmodel import select

from service.bundle import check_bundle
from service.demo_chain import PARTIES, supply_chain
from service.ledger import Ledger
from service.models import Batch, Record
from service.records import store_events, store_transactions
from service.verification import VerificationStatus, proof_bundle, verify_record


def run_demo(*, export_dir: Path | None = None) -> int:
    """Run every step, print what happens, return 0 only if every expectation held."""
    ledger = Ledger()
    try:
        return _run(ledger, export_dir=export_dir)
    finally:
        ledger.close()


def _run(ledger: Ledger, *, export_dir: Path | None) -> int:
    chain = ledger.chain
    where = ledger.settings.chain_url or f"embedded chain in {ledger.settings.chain_state_path}"
    _step(f"Chain {chain.chain_id} ({where}), TraceAnchor at {chain.address}")
    data = supply_chain(run=time.time_ns() // 1000)

    _step("1. Suppliers record their EPCIS events and transactions")
    record_ids = []
    with ledger.session() as session:
        for party, document in data["documents"].items():
            for stored in store_events(session, document=document, party=party):
                record = stored.record
                record_ids.append(record.id)
                print(f"   {PARTIES[party]:<20} {record.record_type:<20} {record.business_id[:40]}...")
        for party, transactions in data["transactions"].items():
            for stored in store_transactions(session, transactions=transactions, party=party):
                record_ids.append(stored.record.id)
                print(f"   {PARTIES[party]:<20} {stored.record.record_type:<20} {stored.record.business_id}")

    _step("2. Anchor: pending records become a Merkle batch whose root goes on chain")
    ledger.anchor_now()
    with ledger.session() as session:
        batch_ids = {session.get(Record, record_id).batch_id for record_id in record_ids}
        for batch in session.exec(select(Batch).where(Batch.id.in_(batch_ids))):
            print(f"   batch {batch.id}: {batch.leaf_count} records, root {batch.root}")
            print(f"   tx {batch.tx_hash} in block {batch.block_number}, {batch.gas_used} gas, {batch.status}")

    _step("3. An auditor verifies every record against the chain")
    ok = _verify_all(ledger, record_ids, expect=VerificationStatus.VERIFIED)

    _step("4. Export a proof bundle and check it with nothing but an Ethereum node")
    with ledger.session() as session:
        bundles = [proof_bundle(session, chain, session.get(Record, record_id)) for record_id in record_ids]
    if export_dir is not None:
        export_dir.mkdir(parents=True, exist_ok=True)
        for record_id, bundle in zip(record_ids, bundles, strict=True):
            (export_dir / f"record-{record_id}.json").write_text(json.dumps(bundle, indent=2) + "\n")
        print(f"   wrote {len(bundles)} bundles to {export_dir}")
    check = check_bundle(bundles[0], w3=chain.w3)
    for name, passed, detail in check.checks:
        print(f"   {'ok  ' if passed else 'FAIL'} {name}: {detail}")
    ok &= check.valid
    if ledger.settings.chain_url:
        print(f"   the same from a shell: traceanchor verify BUNDLE.json --rpc {ledger.settings.chain_url}")

    _step("5. Someone edits a stored record directly in the database")
    victim = record_ids[-1]
    with ledger.engine.begin() as connection:
        connection.execute(text("UPDATE record SET body = replace(body, '\"14.00\"', '\"1400.00\"') WHERE id = :id"), {"id": victim})
    print(f"   UPDATE record SET body = ... '14.00' -> '1400.00' WHERE id = {victim}")
    ok &= _verify_all(ledger, [victim], expect=VerificationStatus.TAMPERED)
    ok &= _verify_all(ledger, record_ids[:-1], expect=VerificationStatus.VERIFIED, quiet=True)
    print("\nDemo " + ("passed: every expectation held." if ok else "FAILED: see above."))
    return 0 if ok else 1


def _verify_all(ledger: Ledger, record_ids: list[int], *, expect: VerificationStatus, quiet: bool = False) -> bool:
    ok = True
    with ledger.session() as session:
        for record_id in record_ids:
            result = verify_record(session, ledger.chain, session.get(Record, record_id))
            ok &= result.status == expect
            if not quiet or result.status != expect:
                print(f"   record {record_id:>4}: {result.status:<12} {result.reason}")
    if quiet and ok:
        print(f"   the other {len(record_ids)} records still verify")
    return ok


def _step(title: str) -> None:
    print(f"\n{title}")
