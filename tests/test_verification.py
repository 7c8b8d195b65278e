"""Verification against the chain and proof bundles checked with only a node."""

import json
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event, text
from sqlmodel import select

from support.records import fill
from service.verify.bundle import check_bundle
from service.insights.forecast import forecast_all
from service.demo.supply_chain import supply_chain
from service.errors import Conflict
from service.models import BatchTree, Record
from support.records import store_events, store_transactions
from service.access.viewer import Viewer
from service.ingest.candidates import derive
from service.timeutil import from_unix
from service.verify.verification import VerificationCache, VerificationStatus, proof_bundle, verify_record
from service.verify.selection import select_verified


def verify(ledger, record_id):
    with ledger.session() as session:
        return verify_record(session, ledger.chain, session.get(Record, record_id))


def bundle_of(ledger, record_id):
    with ledger.session() as session:
        return proof_bundle(session, ledger.chain, session.get(Record, record_id)).as_json()


def sql(ledger, statement, **params):
    with ledger.engine.begin() as connection:
        connection.execute(text(statement), params)


@contextmanager
def counted_statements(engine) -> Iterator[list[str]]:
    """Every SQL statement the engine sends while the block runs."""
    statements = []

    def record(connection, cursor, statement, *args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


@pytest.fixture
def anchored(ledger):
    """Anchored EPCIS events of the demo supply chain plus a few transactions; their record ids."""
    ids = []
    with ledger.session() as session:
        for party, document in supply_chain(run=7)["documents"].items():
            ids += [s.record.id for s in store_events(session, document=document, party=party)]
    ids += fill(ledger, 3)
    ledger.anchoring.anchor_now()
    return ids


def test_every_anchored_record_verifies(ledger, anchored):
    results = [verify(ledger, record_id) for record_id in anchored]
    assert {r.status for r in results} == {VerificationStatus.VERIFIED}
    assert all(r.anchored_at == from_unix(ledger.chain.anchored_at(bytes.fromhex(r.root[2:]))) and r.tx_hash for r in results)


def test_unbatched_record_is_pending(ledger):
    (record_id,) = fill(ledger, 1)
    assert verify(ledger, record_id).status == VerificationStatus.PENDING
    with pytest.raises(Conflict):
        bundle_of(ledger, record_id)


def test_editing_the_body_with_sql_is_tampering(ledger, anchored):
    victim = anchored[-1]
    sql(ledger, "UPDATE record SET body = replace(body, '10.00', '99.00') WHERE id = :id", id=victim)
    result = verify(ledger, victim)
    assert result.status == VerificationStatus.TAMPERED
    assert "no longer matches" in result.reason
    assert verify(ledger, anchored[0]).status == VerificationStatus.VERIFIED


def test_editing_body_and_hash_together_is_still_tampering(ledger, anchored):
    """An attacker who also rewrites content_hash and the derived columns is caught by the Merkle proof."""
    victim = anchored[0]
    with ledger.session() as session:
        record = session.get(Record, victim)
        body = json.loads(record.body)
        body["bizStep"] = "destroying"
        record.body = json.dumps(body)
        derived = derive(record.kind, body)
        record.content_hash, record.business_id, record.biz_step = derived.content_hash, derived.business_id, derived.column("biz_step")
        session.add(record)
    result = verify(ledger, victim)
    assert result.status == VerificationStatus.TAMPERED and "proof" in result.reason


@pytest.mark.parametrize("body", ["{not json", "[1, 2]", "null", '{"type": "ObjectEvent", "eventTime": 5}', '{"type": 7}'])
def test_unparsable_body_is_tampering_not_an_error(ledger, anchored, body):
    sql(ledger, "UPDATE record SET body = :body WHERE id = :id", body=body, id=anchored[1])
    result = verify(ledger, anchored[1])
    assert result.status == VerificationStatus.TAMPERED and "no longer parses" in result.reason


def test_a_root_missing_from_the_chain_is_not_on_chain(ledger):
    (record_id,) = fill(ledger, 1)
    snapshot = ledger.chain.snapshot()
    ledger.anchoring.anchor_now()
    ledger.chain.revert(snapshot)
    result = verify(ledger, record_id)
    assert result.status == VerificationStatus.NOT_ON_CHAIN


def test_proof_bundle_has_the_documented_fields_and_checks_with_the_node(ledger, anchored):
    bundle = bundle_of(ledger, anchored[0])
    for name in ("record", "content_hash", "leaf", "proof", "root", "chain_id", "contract", "tx_hash", "block_number"):
        assert name in bundle
    assert bundle["event_hash_id"].startswith("ni:///sha-256;")
    assert bundle["content_hash"] == "0x" + bundle["event_hash_id"].split(";")[1][:64]
    result = check_bundle(bundle, w3=ledger.chain.w3)
    assert result.valid, result.checks


@pytest.mark.parametrize(
    "field, change",
    [
        ("record", lambda b: b["record"].__setitem__("bizStep", "destroying")),
        ("proof", lambda b: b["proof"].__setitem__(0, "0x" + "11" * 32)),
        ("root", lambda b: b.__setitem__("root", "0x" + "22" * 32)),
        ("leaf", lambda b: b.__setitem__("leaf", "0x" + "33" * 32)),
        ("chain_id", lambda b: b.__setitem__("chain_id", 1)),
        ("tx_hash", lambda b: b.__setitem__("tx_hash", "0x" + "44" * 32)),
    ],
)
def test_a_doctored_bundle_is_invalid(ledger, anchored, field, change):
    bundle = bundle_of(ledger, anchored[2])
    change(bundle)
    result = check_bundle(bundle, w3=ledger.chain.w3)
    assert not result.valid


def test_a_garbled_stored_tree_or_leaf_position_is_tampering_not_an_error(ledger, anchored):
    with ledger.session() as session:
        record = session.get(Record, anchored[3])
        batch_id, position = record.batch_id, record.tree_index
    sql(ledger, "UPDATE record_leaf SET tree_index = 0 WHERE record_id = :id", id=anchored[3])  # the root: not a leaf
    result = verify(ledger, anchored[3])
    assert result.status == VerificationStatus.TAMPERED and "proof" in result.reason
    sql(ledger, "UPDATE record_leaf SET tree_index = :position WHERE record_id = :id", position=position, id=anchored[3])
    assert verify(ledger, anchored[3]).status == VerificationStatus.VERIFIED
    sql(ledger, "UPDATE batch_tree SET nodes = :nodes WHERE batch_id = :id", nodes=b"\x12" * 7, id=batch_id)
    result = verify(ledger, anchored[3])
    assert result.status == VerificationStatus.TAMPERED and "proof" in result.reason


def test_a_forged_sibling_in_the_stored_tree_is_tampering(ledger, anchored):
    """Replacing a node on the record's path breaks the walk to the anchored root."""
    with ledger.session() as session:
        record = session.get(Record, anchored[0])
        tree = session.get(BatchTree, record.batch_id)
        sibling = record.tree_index + 1 if record.tree_index % 2 else record.tree_index - 1
        forged = bytearray(tree.nodes)
        forged[sibling * 32 : (sibling + 1) * 32] = bytes(32)
        tree.nodes = bytes(forged)
        session.add(tree)
    result = verify(ledger, anchored[0])
    assert result.status == VerificationStatus.TAMPERED and "proof" in result.reason


def test_a_selection_reads_each_batch_tree_once_and_asks_the_chain_once_per_root(ledger, monkeypatch):
    ids = fill(ledger, 40)
    ledger.anchoring.anchor_now()
    chain_calls = []
    anchored_at = ledger.chain.anchored_at
    monkeypatch.setattr(ledger.chain, "anchored_at", lambda root, **kw: chain_calls.append(root) or anchored_at(root, **kw))
    with counted_statements(ledger.engine) as statements, ledger.session() as session:
        selection = select_verified(session, ledger.chain, statement=select(Record).where(Record.id.in_(ids)))
    assert len(selection.records) == 40 and not selection.excluded
    assert len(chain_calls) == 1
    assert sum("batch_tree" in statement for statement in statements) == 1


def test_the_tree_cache_starts_afresh_past_its_budget_and_still_verifies(ledger):
    ids = fill(ledger, 3)
    ledger.anchoring.anchor_now()
    ids += fill(ledger, 3, start=3)
    ledger.anchoring.anchor_now()
    cache = VerificationCache(max_tree_bytes=1)  # smaller than any tree: only the latest is kept
    with ledger.session() as session:
        statuses = {verify_record(session, ledger.chain, session.get(Record, i), cache=cache).status for i in ids}
        (kept,) = cache.trees.values()
    assert statuses == {VerificationStatus.VERIFIED}
    assert cache.tree_bytes == len(kept) > 0


def test_forecasting_every_sku_reads_each_batch_tree_once(ledger):
    def sale(n, sku):
        return {"id": f"urn:x:sale-{sku}-{n}", "kind": "sale", "timestamp": f"{2024 + n // 12}-{n % 12 + 1:02d}-15T12:00:00Z",
                "seller": "retailer", "buyer": "consumer", "currency": "EUR", "total": "4.00", "references": [],
                "lines": [{"sku": sku, "quantity": 2, "unit_price": "2.00"}], "location": "urn:epc:id:sgln:0614141.00004.0"}

    with ledger.session() as session:
        store_transactions(session, transactions=[sale(n, sku) for sku in ("A", "B", "C") for n in range(24)], party="retailer")
    ledger.anchoring.anchor_now()
    with counted_statements(ledger.engine) as statements, ledger.session() as session:
        results = forecast_all(session, ledger.chain, viewer=Viewer(party="auditor", everything=True), skus=None,
                               location=None, freq="M", horizon=2, workers=1)
    assert {sku: result.records_used for sku, result in results.items()} == {"A": 24, "B": 24, "C": 24}
    assert sum("batch_tree" in statement for statement in statements) == 1
