"""A new deployment of TraceAnchor on the same chain: what the old one anchored stays verified.

Each batch is asked of the contract that anchored it (``batch.contract``), so pointing
``TRACEANCHOR_CONTRACT_ADDRESS`` at a new deployment neither makes older records read
``not_on_chain`` nor sends their batches to be anchored again.
"""

from support.records import fill
from sqlmodel import select

from service.anchor.chain import Chain
from service.anchor.compiler import load_artifact
from service.anchor.releases import load_releases
from service.runtime import Runtime
from service.verify.bundle import check_bundle
from service.verify.verification import proof_bundle
from service.models import Batch, Record
from service.verify.audit import BatchAuditStatus, audit_batches
from service.verify.verification import VerificationStatus, verify_record


def batches(ledger: Runtime) -> dict[int, tuple[str, str, str]]:
    """(contract, transaction, status) of every batch, by id."""
    with ledger.session() as session:
        return {batch.id: (batch.contract, batch.tx_hash, batch.status) for batch in session.exec(select(Batch))}


def test_records_anchored_on_two_deployments_all_verify_and_nothing_is_anchored_again(settings):
    first = Runtime(settings)
    try:
        old_ids = fill(first, 3)
        first.anchoring.anchor_now()
        old_contract = first.chain.address
        new_contract = first.chain.deploy()  # a second deployment on the same chain
        anchored_on_old = batches(first)
    finally:
        first.close()
    assert new_contract != old_contract

    ledger = Runtime(settings.model_copy(update={"contract_address": new_contract}))
    try:
        assert ledger.chain.address == new_contract
        reports = ledger.anchoring.anchor_now()  # its first pass re-checks recent batches for reorgs
        assert not any(report.reorged or report.errors for report in reports)
        assert batches(ledger) == anchored_on_old  # same contract, same transaction, still anchored
        new_ids = fill(ledger, 3, start=3)
        ledger.anchoring.anchor_now()
        assert {contract for contract, _, _ in batches(ledger).values()} == {old_contract, new_contract}
        assert not ledger.anchoring.anchor_once(check_reorgs=True).reorged

        with ledger.session() as session:
            results = [verify_record(session, ledger.chain, session.get(Record, i)) for i in old_ids + new_ids]
            audits = list(audit_batches(session, ledger.chain))
        assert {result.status for result in results} == {VerificationStatus.VERIFIED}, [r.reason for r in results]
        assert [audit.status for audit in audits] == [BatchAuditStatus.COMPLETE] * 2, [a.reason for a in audits]
    finally:
        ledger.close()


def test_a_batch_whose_root_its_contract_does_not_know_is_not_on_chain(ledger):
    (record_id,) = fill(ledger, 1)
    ledger.anchoring.anchor_now()
    used = ledger.chain.address
    other = ledger.chain.deploy()  # knows no root
    ledger.chain.attach(used)  # the contract in use knows it: the batch's own contract must be asked
    with ledger.session() as session:
        batch = session.exec(select(Batch)).one()
        batch.contract = other
        session.add(batch)
    with ledger.session() as session:
        result = verify_record(session, ledger.chain, session.get(Record, record_id))
    assert result.status == VerificationStatus.NOT_ON_CHAIN and other in result.reason


def test_a_deployment_of_the_first_release_still_attaches_anchors_and_verifies(settings):
    first_release = load_releases()[0]
    artifact = load_artifact(first_release.artifact)
    with Chain.connect(url=None, state_dir=settings.chain_state_path, private_key=None) as chain:
        factory = chain.w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
        tx_hash = factory.constructor(chain.sender).transact({"from": chain.sender})  # 1.0.0 took only the admin
        old = chain.w3.eth.wait_for_transaction_receipt(tx_hash)["contractAddress"]
    ledger = Runtime(settings.model_copy(update={"contract_address": old}))
    try:
        ids = fill(ledger, 3)
        ledger.anchoring.anchor_now()
        with ledger.session() as session:
            assert {verify_record(session, ledger.chain, session.get(Record, i)).status for i in ids} == {VerificationStatus.VERIFIED}
            bundle = proof_bundle(session, ledger.chain, session.get(Record, ids[0])).as_json()
        result = check_bundle(bundle, w3=ledger.chain.w3, contract=old)
        assert result.valid, result.lines()
        printed = "\n".join(result.lines())
        assert f"{old} runs TraceAnchor {first_release.version}" in printed
        assert "verifyInclusion(root, leaf, proof)" in printed  # 1.0.0 has no verifyRecord
    finally:
        ledger.close()
