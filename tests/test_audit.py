"""Batch audits: deleted, edited and misplaced records, a doctored tree, an unanchored root."""

import pytest
from support.records import fill
from sqlalchemy import text
from sqlmodel import select

from service.anchor.anchoring import close_batches
from service.verify.audit import BatchAuditStatus, MissingLeaf, audit_batch
from service.demo.supply_chain import supply_chain
from service.errors import NotFound
from service.verify.integrity import record_leaf
from service.hashing.merkle import SALTED
from service.models import Batch, Record, RecordLeaf
from service.timeutil import from_unix


def audit(ledger, batch_id):
    with ledger.session() as session:
        return audit_batch(session, ledger.chain, batch_id=batch_id)


def sql(ledger, statement, **params):
    with ledger.engine.begin() as connection:
        connection.execute(text(statement), params)


@pytest.fixture
def batch(ledger):
    """One anchored batch of six payments: (batch id, record ids)."""
    ids = fill(ledger, 6)
    ledger.anchoring.anchor_now()
    with ledger.session() as session:
        (batch_id,) = session.exec(select(Batch.id)).all()
    return batch_id, ids


def test_an_untouched_anchored_batch_is_complete(ledger, batch):
    result = audit(ledger, batch[0])
    assert result.status == BatchAuditStatus.COMPLETE, result.reason
    assert (result.records, result.leaf_count, result.tampered_records, result.missing_leaves) == (6, 6, [], [])
    assert result.anchored_at == from_unix(ledger.chain.anchored_at(bytes.fromhex(result.root[2:])))


def test_a_deleted_record_leaves_its_leaf_unclaimed(ledger, batch):
    batch_id, ids = batch
    with ledger.session() as session:
        victim = session.get(Record, ids[2])
        leaf = record_leaf(victim, bytes.fromhex(victim.content_hash[2:]), encoding=SALTED)
        expected = MissingLeaf(victim.tree_index, "0x" + leaf.hex())
    sql(ledger, "DELETE FROM record_term WHERE record_id = :id", id=ids[2])
    sql(ledger, "DELETE FROM record_leaf WHERE record_id = :id", id=ids[2])  # SQLite may run without cascades
    sql(ledger, "DELETE FROM record WHERE id = :id", id=ids[2])
    result = audit(ledger, batch_id)
    assert result.status == BatchAuditStatus.INCOMPLETE
    assert result.missing_leaves == [expected] and result.records == 5 and result.tampered_records == []


@pytest.mark.parametrize("edit", ["replace(body, '10.00', '99.00')", "'{not json'", "'[]'"])
def test_an_edited_record_is_named(ledger, batch, edit):
    batch_id, ids = batch
    sql(ledger, f"UPDATE record SET body = {edit} WHERE id = :id", id=ids[4])
    result = audit(ledger, batch_id)
    assert (result.status, result.tampered_records, result.missing_leaves) == (BatchAuditStatus.TAMPERED, [ids[4]], [])


def test_a_record_moved_onto_another_leaf_is_tampering_and_its_own_leaf_is_missing(ledger, batch):
    batch_id, ids = batch
    with ledger.session() as session:
        positions = {r.record_id: r.tree_index for r in session.exec(select(RecordLeaf))}
    sql(ledger, "UPDATE record_leaf SET tree_index = :other WHERE record_id = :id", other=positions[ids[1]], id=ids[0])
    result = audit(ledger, batch_id)
    assert result.status == BatchAuditStatus.TAMPERED
    assert set(result.tampered_records) & {ids[0], ids[1]}, "one of the two claims on the leaf is false"
    assert [leaf.tree_index for leaf in result.missing_leaves] == [positions[ids[0]]]


@pytest.mark.parametrize("change", ["drop a leaf", "swap a leaf", "garble"])
def test_a_doctored_tree_no_longer_hashes_to_the_root(ledger, batch, change):
    batch_id, _ = batch
    with ledger.session() as session:
        nodes = session.exec(text("SELECT nodes FROM batch_tree WHERE batch_id = :id").bindparams(id=batch_id)).scalar_one()
    doctored = {"drop a leaf": nodes[:-64], "swap a leaf": nodes[:-32] + bytes(32), "garble": b"\x00" * 7}[change]
    sql(ledger, "UPDATE batch_tree SET nodes = :nodes WHERE batch_id = :id", nodes=doctored, id=batch_id)
    result = audit(ledger, batch_id)
    assert result.status == BatchAuditStatus.TAMPERED and "does not hash to the batch root" in result.reason


def test_a_batch_not_yet_anchored_is_pending_and_one_the_chain_forgot_is_not_on_chain(ledger):
    fill(ledger, 3)
    with ledger.session() as session:
        (closed,) = close_batches(session, batch_size=16, batch_age=0, force=True)
    assert audit(ledger, closed.id).status == BatchAuditStatus.PENDING
    snapshot = ledger.chain.snapshot()
    ledger.anchoring.anchor_now()
    assert audit(ledger, closed.id).status == BatchAuditStatus.COMPLETE
    ledger.chain.revert(snapshot)
    assert audit(ledger, closed.id).status == BatchAuditStatus.NOT_ON_CHAIN


def test_an_unknown_batch_is_not_found(ledger):
    with pytest.raises(NotFound):
        audit(ledger, 12345)


def test_through_the_api_an_auditor_sees_a_deleted_event(api):
    document = supply_chain(run=12)["documents"]["farm"]
    events = api.client.post("/v1/events", json=document, headers=api.as_("farm")).json()["events"]
    api.client.post("/v1/anchors", headers=api.as_("admin"))
    (anchor,) = api.client.get("/v1/anchors", headers=api.as_("auditor")).json()["anchors"]
    url = f"/v1/anchors/{anchor['id']}/verification"
    assert api.client.get(url, headers=api.as_("auditor")).json()["status"] == "complete"
    sql(api.ledger, "DELETE FROM record_term WHERE record_id = :id", id=events[1]["id"])
    sql(api.ledger, "DELETE FROM record_leaf WHERE record_id = :id", id=events[1]["id"])
    sql(api.ledger, "DELETE FROM record WHERE id = :id", id=events[1]["id"])
    audited = api.client.get(url, headers=api.as_("auditor")).json()
    assert (audited["status"], audited["records"], len(audited["missing_leaves"])) == ("incomplete", 2, 1)
    assert api.client.get(f"/v1/anchors/{anchor['id'] + 1}/verification", headers=api.as_("auditor")).status_code == 404
