"""The anchoring state machine on the embedded chain: batching, confirmations, reorgs, outages."""


import pytest
from eth_account import Account
from sqlmodel import select

from support.records import fill
from service.anchor.anchoring import anchor_pass, close_batches
from service.anchor.chain import Chain
from service.db import migrate
from service.errors import ChainUnavailable
from service.runtime import Runtime
from service.hashing.merkle import SALTED, MerkleTree, proof_from_nodes
from service.models import Batch, BatchStatus, BatchTree, Record, RecordLeaf, RecordStatus
from service.settings import Settings


def statuses(ledger, model):
    with ledger.session() as session:
        return [row.status for row in session.exec(select(model).order_by(model.id))]


def test_batches_close_by_size_and_leave_the_remainder_pending(ledger):
    fill(ledger, 40)  # batch_size is 16 in the test settings
    with ledger.session() as session:
        batches = close_batches(session, batch_size=16, batch_age=3600)
        assert [b.leaf_count for b in batches] == [16, 16]
        unbatched = session.exec(select(RecordLeaf).where(RecordLeaf.batch_id.is_(None))).all()
        assert len(unbatched) == 8


def test_under_a_backlog_one_batch_takes_every_pending_record_up_to_the_maximum(ledger):
    fill(ledger, 40)
    with ledger.session() as session:
        assert [b.leaf_count for b in close_batches(session, batch_size=16, batch_age=3600, max_batch_size=24)] == [24, 16]
    fill(ledger, 10, start=40)
    with ledger.session() as session:
        assert close_batches(session, batch_size=16, batch_age=3600, max_batch_size=24) == [], "below batch_size: waits"
    fill(ledger, 30, start=50)
    with ledger.session() as session:
        assert [b.leaf_count for b in close_batches(session, batch_size=16, batch_age=3600, max_batch_size=1000)] == [40]


def test_batches_close_by_age(ledger):
    fill(ledger, 3)
    with ledger.session() as session:
        assert close_batches(session, batch_size=16, batch_age=3600) == []
        assert [b.leaf_count for b in close_batches(session, batch_size=16, batch_age=1e-9)] == [3]


def test_batch_root_tree_and_leaf_positions_match_the_merkle_tree_of_its_records(ledger):
    fill(ledger, 5)
    with ledger.session() as session:
        (batch,) = close_batches(session, batch_size=16, batch_age=3600, force=True)
        records = session.exec(select(Record).order_by(Record.id)).all()
        stored = session.get(BatchTree, batch.id).nodes
    tree = MerkleTree.build([bytes.fromhex(r.content_hash[2:] + r.salt[2:]) for r in records], encoding=SALTED)
    assert batch.leaf_encoding == SALTED and len({r.salt for r in records}) == 5
    assert batch.root == "0x" + tree.root.hex()
    assert stored == tree.nodes
    assert [r.tree_index for r in records] == tree.tree_indexes
    assert [proof_from_nodes(stored, r.tree_index) for r in records] == [tree.proof(i) for i in range(5)]


def test_closing_and_anchoring_never_rewrite_the_record_rows(ledger):
    """Anchoring state lives in record_leaf and batch: on PostgreSQL the wide record rows (body,
    nine indexes) keep their row version (xmin, ctid) through closing, anchoring and a status read."""
    if ledger.engine.dialect.name != "postgresql":
        pytest.skip("row versions are a PostgreSQL notion")
    fill(ledger, 20)
    versions = "SELECT id, xmin::text, ctid::text FROM record ORDER BY id"
    with ledger.engine.connect() as connection:
        before = connection.exec_driver_sql(versions).all()
    report = ledger.anchoring.anchor_once(force=True)
    assert report.closed and report.anchored
    assert statuses(ledger, Record) == [RecordStatus.ANCHORED] * 20
    with ledger.engine.connect() as connection:
        assert connection.exec_driver_sql(versions).all() == before


def test_pending_to_submitted_to_anchored_after_confirmations(any_chain_ledger):
    ledger = any_chain_ledger
    ledger.settings.confirmations = 3
    fill(ledger, 4)
    report = ledger.anchoring.anchor_once(force=True)
    assert report.closed and report.submitted and not report.anchored
    assert statuses(ledger, Batch) == [BatchStatus.SUBMITTED]
    assert statuses(ledger, Record) == [RecordStatus.PENDING] * 4, "records are pending until anchored"
    ledger.chain.mine(1)
    assert not ledger.anchoring.anchor_once().anchored, "two confirmations are not three"
    ledger.chain.mine(1)
    assert ledger.anchoring.anchor_once().anchored
    assert statuses(ledger, Record) == [RecordStatus.ANCHORED] * 4
    with ledger.session() as session:
        batch = session.exec(select(Batch)).one()
        assert batch.anchored_at == ledger.chain.anchored_at(bytes.fromhex(batch.root[2:])) > 0
        assert batch.gas_used and batch.tx_hash and batch.block_number and batch.contract == ledger.chain.address


def test_a_reorged_root_is_detected_and_anchored_again(any_chain_ledger):
    ledger = any_chain_ledger
    fill(ledger, 2)
    snapshot = ledger.chain.snapshot()
    ledger.anchoring.anchor_now()
    assert statuses(ledger, Batch) == [BatchStatus.ANCHORED]
    ledger.chain.revert(snapshot)  # the block holding our anchor is gone
    report = ledger.anchoring.anchor_once()
    assert report.reorged and statuses(ledger, Record) == [RecordStatus.PENDING] * 2
    ledger.anchoring.anchor_now()
    assert statuses(ledger, Batch) == [BatchStatus.ANCHORED]
    with ledger.session() as session:
        root = bytes.fromhex(session.exec(select(Batch)).one().root[2:])
    assert ledger.chain.anchored_at(root) > 0


def test_a_root_already_on_chain_is_adopted_not_sent_twice(any_chain_ledger):
    """The crash window: the transaction went out but its hash never reached the database."""
    ledger = any_chain_ledger
    fill(ledger, 3)
    with ledger.session() as session:
        (batch,) = close_batches(session, batch_size=16, batch_age=3600, force=True)
    root = bytes.fromhex(batch.root[2:])
    sent = ledger.chain.send(ledger.chain.prepare_anchor(root=root, leaf_count=3))
    ledger.anchoring.anchor_now()
    with ledger.session() as session:
        batch = session.exec(select(Batch)).one()
    assert batch.status == BatchStatus.ANCHORED and batch.tx_hash == "0x" + sent.hex()
    assert len(ledger.chain.contract.events.Anchored.get_logs(from_block=0)) == 1


def test_a_failing_transaction_is_retried_with_backoff(ledger):
    fill(ledger, 2)
    ledger.chain.revoke_anchorer(ledger.chain.sender)
    report = ledger.anchoring.anchor_once(force=True)
    assert report.errors and "AccessControlUnauthorizedAccount" in report.errors[0]
    with ledger.session() as session:
        batch = session.exec(select(Batch)).one()
        assert batch.status == BatchStatus.PENDING and batch.attempts == 1 and batch.retry_after is not None
    ledger.chain.grant_anchorer(ledger.chain.sender)
    assert not ledger.anchoring.anchor_once().submitted, "the retry waits for its backoff"
    assert ledger.anchoring.anchor_once(force=True).anchored


class DownChain:
    """A chain whose every call fails as if the node were unreachable."""

    def __getattr__(self, name):
        def fail(*args, **kwargs):
            raise ChainUnavailable("connection refused")

        return fail


def test_a_chain_that_is_down_leaves_records_pending(ledger):
    fill(ledger, 3)
    with ledger.session() as session:
        report = anchor_pass(session, DownChain(), batch_size=16, batch_age=3600, confirmations=1, force=True)
    assert report.chain_down and report.errors
    assert statuses(ledger, Batch) == [BatchStatus.PENDING]
    assert statuses(ledger, Record) == [RecordStatus.PENDING] * 3
    ledger.anchoring.anchor_now()
    assert statuses(ledger, Record) == [RecordStatus.ANCHORED] * 3


def test_unreachable_rpc_node_raises_chain_unavailable(tmp_path):
    with pytest.raises(ChainUnavailable):
        Chain.connect(url="http://127.0.0.1:9", state_dir=tmp_path, private_key=None).block_number()


ANVIL_SECOND_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"  # anvil's public dev key #1


@pytest.mark.anvil
def test_a_configured_private_key_signs_locally_on_an_rpc_node(tmp_path, anvil_url):
    settings = Settings(data_dir=tmp_path / "data", chain_url=anvil_url, private_key=ANVIL_SECOND_KEY, batch_age=3600)
    migrate(settings)
    ledger = Runtime(settings)
    try:
        signer = Account.from_key(ANVIL_SECOND_KEY).address
        assert ledger.chain.sender == signer != ledger.chain.w3.eth.accounts[0]
        prepared = ledger.chain.prepare_anchor(root=b"\x01" * 32, leaf_count=1)
        assert prepared.tx_hash is not None and prepared.raw is not None, "signed here, hash known before sending"
        fill(ledger, 2)
        ledger.anchoring.anchor_now()
        (event,) = ledger.chain.contract.events.Anchored.get_logs(from_block=0)
        assert event["args"]["anchorer"] == signer
        assert statuses(ledger, Batch) == [BatchStatus.ANCHORED]
    finally:
        ledger.close()
