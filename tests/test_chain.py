"""The chain adapter on the embedded chain and on a real anvil node."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import eth._utils.headers
import pytest

from support.servers import free_loopback_port
from service.anchor.chain import Chain, ContractReverted, NonceConflict
from service.anchor.embedded_chain import ChainStateLocked
from service.errors import ChainError, ChainUnavailable

ROOT = Path(__file__).resolve().parents[1]
GAS_BUDGET_PER_ANCHOR = 100_000  # benchmark target: <= 100 gas per record at 1024 records a batch
ANVIL_FIRST_DEV_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"  # anvil's public test key


def anchor(chain: Chain, root: bytes, leaf_count: int = 1024) -> dict:
    """Prepare, send and return the receipt of an anchor transaction."""
    prepared = chain.prepare_anchor(root=root, leaf_count=leaf_count)
    tx_hash = chain.send(prepared)
    if prepared.tx_hash is not None:
        assert tx_hash == prepared.tx_hash  # the hash recorded before broadcasting is the real one
    receipt = mined(chain, tx_hash)
    assert receipt["status"] == 1
    return receipt


def mined(chain: Chain, tx_hash: bytes) -> dict:
    """The receipt, once there: anvil may answer a send before the block holding it is sealed."""
    deadline = time.monotonic() + 10
    while (receipt := chain.receipt(tx_hash)) is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert receipt is not None, "not mined within 10 s"
    return receipt


def run_python(code: str, *, timeout: float = 60) -> str:
    """Run ``code`` in a new interpreter from the project root and return its stdout."""
    completed = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=timeout,
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout


# -- both chains -------------------------------------------------------------------------------------


def test_an_anchor_is_readable_findable_and_within_the_gas_budget(deployed_chain):
    root = os.urandom(32)
    receipt = anchor(deployed_chain, root)
    block = deployed_chain.w3.eth.get_block(receipt["blockNumber"])
    assert deployed_chain.anchored_at(root) == block["timestamp"]
    assert deployed_chain.find_anchor(root) == (bytes(receipt["transactionHash"]), receipt["blockNumber"])
    assert deployed_chain.transaction_known(bytes(receipt["transactionHash"]))
    assert receipt["gasUsed"] <= GAS_BUDGET_PER_ANCHOR
    assert anchor(deployed_chain, os.urandom(32))["gasUsed"] <= GAS_BUDGET_PER_ANCHOR


def test_an_anchor_is_found_by_searching_only_the_blocks_of_its_timestamp(deployed_chain, monkeypatch):
    old, new = os.urandom(32), os.urandom(32)
    receipt = anchor(deployed_chain, old)
    deployed_chain.mine(200)
    anchor(deployed_chain, new)
    ranges = []
    get_logs = deployed_chain.w3.eth.get_logs

    def spy(params):
        ranges.append((int(params["fromBlock"]), int(params["toBlock"])))
        return get_logs(params)

    monkeypatch.setattr(deployed_chain.w3.eth, "get_logs", spy)
    assert deployed_chain.find_anchor(old) == (bytes(receipt["transactionHash"]), receipt["blockNumber"])
    same_time = [n for n in range(deployed_chain.block_number() + 1)  # dev chains mine several blocks a second
                 if deployed_chain.w3.eth.get_block(n)["timestamp"] == deployed_chain.anchored_at(old)]
    assert ranges == [(same_time[0], same_time[-1])], "exactly the blocks of the anchor's timestamp"


def test_unknown_roots_and_transactions_read_as_absent(deployed_chain):
    assert deployed_chain.anchored_at(os.urandom(32)) == 0
    assert deployed_chain.find_anchor(os.urandom(32)) is None
    assert not deployed_chain.transaction_known(os.urandom(32))
    assert deployed_chain.receipt(os.urandom(32)) is None


def test_anchoring_a_root_twice_is_refused_with_the_decoded_custom_error(deployed_chain):
    root = os.urandom(32)
    anchor(deployed_chain, root)
    with pytest.raises(ContractReverted) as raised:
        deployed_chain.prepare_anchor(root=root, leaf_count=1)
    assert raised.value.error_name == "RootAlreadyAnchored"
    assert raised.value.error_args == {"root": root, "anchoredAt": deployed_chain.anchored_at(root)}


def test_verify_inclusion_is_the_contracts_verdict(deployed_chain):
    leaf = os.urandom(32)
    anchor(deployed_chain, leaf, leaf_count=1)  # a one-record tree: the root is the leaf, the proof empty
    assert deployed_chain.verify_inclusion(root=leaf, leaf=leaf, proof=[])
    assert not deployed_chain.verify_inclusion(root=leaf, leaf=os.urandom(32), proof=[])


def test_reverting_to_a_snapshot_forgets_the_anchor(deployed_chain):
    snapshot = deployed_chain.snapshot()
    height = deployed_chain.block_number()
    root = os.urandom(32)
    anchor(deployed_chain, root)
    assert deployed_chain.anchored_at(root) > 0
    deployed_chain.revert(snapshot)
    assert deployed_chain.anchored_at(root) == 0
    assert deployed_chain.block_number() == height
    anchor(deployed_chain, root)  # and the chain goes on from there
    assert deployed_chain.anchored_at(root) > 0


def test_mine_adds_blocks(deployed_chain):
    height = deployed_chain.block_number()
    deployed_chain.mine(3)
    assert deployed_chain.block_number() == height + 3


def test_the_admin_grants_and_revokes_the_anchorer_role(deployed_chain):
    account = deployed_chain.w3.eth.accounts[1]
    role = deployed_chain.contract.functions.ANCHORER_ROLE().call()
    deployed_chain.grant_anchorer(account)
    assert deployed_chain.contract.functions.hasRole(role, account).call()
    assert deployed_chain.anchorers() == [deployed_chain.sender, account]
    deployed_chain.revoke_anchorer(account)
    assert not deployed_chain.contract.functions.hasRole(role, account).call()
    assert deployed_chain.anchorers() == [deployed_chain.sender]


def test_a_refused_nonce_is_a_nonce_conflict_and_the_next_transaction_goes_through(deployed_chain):
    first = deployed_chain.prepare_anchor(root=os.urandom(32), leaf_count=1)
    second = deployed_chain.prepare_anchor(root=os.urandom(32), leaf_count=1)  # the same nonce: nothing sent in between
    assert first.tx["nonce"] == second.tx["nonce"]
    mined(deployed_chain, deployed_chain.send(first))
    with pytest.raises(NonceConflict):
        deployed_chain.send(second)
    anchor(deployed_chain, os.urandom(32))


def test_a_nonce_taken_behind_the_adapters_back_is_taken_again_from_the_node(deployed_chain):
    """Another sender of the same account (an operator's wallet, a second adapter) took our next nonce."""
    account = deployed_chain.w3.eth.accounts[1]
    spend_next_nonce(deployed_chain)
    deployed_chain.grant_anchorer(account)  # refused once, then sent again with the node's nonce
    assert deployed_chain.contract.functions.hasRole(deployed_chain.contract.functions.ANCHORER_ROLE().call(), account).call()
    spend_next_nonce(deployed_chain)
    prepared = deployed_chain.prepare_anchor(root=os.urandom(32), leaf_count=1)
    with pytest.raises(NonceConflict):  # an anchor's hash is recorded before it is sent: the pass retries it, not the adapter
        deployed_chain.send(prepared)
    anchor(deployed_chain, os.urandom(32))


def spend_next_nonce(chain: Chain) -> None:
    """Send a transaction of the adapter's account without the adapter."""
    nonce = chain.w3.eth.get_transaction_count(chain.sender, "pending")
    mined(chain, bytes(chain.w3.eth.send_transaction({"from": chain.sender, "to": chain.sender, "value": 0, "nonce": nonce})))


def test_attach_refuses_an_address_without_the_traceanchor_code(deployed_chain):
    with pytest.raises(ChainError, match="not a TraceAnchor"):
        deployed_chain.attach(deployed_chain.sender)


# -- the embedded chain ------------------------------------------------------------------------------


def test_embedded_state_survives_the_process_and_new_blocks_build_on_it(tmp_path):
    state_dir = tmp_path / "chain"
    root = os.urandom(32)
    with Chain.connect(url=None, state_dir=state_dir, private_key=None) as chain:
        address = chain.deploy()
        anchor(chain, root)
        anchored_at, height = chain.anchored_at(root), chain.block_number()

    later_root = os.urandom(32)
    child = run_python(f"""
        import json
        from pathlib import Path
        from service.anchor.chain import Chain
        with Chain.connect(url=None, state_dir=Path({str(state_dir)!r}), private_key=None) as chain:
            chain.attach({address!r})
            before = chain.anchored_at(bytes.fromhex({root.hex()!r}))
            prepared = chain.prepare_anchor(root=bytes.fromhex({later_root.hex()!r}), leaf_count=7)
            chain.send(prepared)
            print(json.dumps({{"before": before, "height": chain.block_number()}}))
    """)
    assert json.loads(child) == {"before": anchored_at, "height": height + 1}

    with Chain.connect(url=None, state_dir=state_dir, private_key=None) as chain:
        chain.attach(address)
        assert chain.anchored_at(root) == anchored_at
        assert chain.anchored_at(later_root) > 0
        assert chain.block_number() == height + 1


def test_a_process_killed_while_anchoring_leaves_a_consistent_chain(tmp_path):
    state_dir = tmp_path / "chain"
    with Chain.connect(url=None, state_dir=state_dir, private_key=None) as chain:
        address = chain.deploy()
    # The child anchors as fast as it can and reports each root once send() returned.
    child = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import os
            from pathlib import Path
            from service.anchor.chain import Chain
            chain = Chain.connect(url=None, state_dir=Path({str(state_dir)!r}), private_key=None)
            chain.attach({address!r})
            for _ in range(10_000):
                root = os.urandom(32)
                chain.send(chain.prepare_anchor(root=root, leaf_count=1))
                print(root.hex(), flush=True)
        """)],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE, text=True,
    )
    confirmed = [child.stdout.readline().strip() for _ in range(3)]
    time.sleep(0.3)  # let it get somewhere inside its next transactions
    child.send_signal(signal.SIGKILL)
    confirmed += child.stdout.read().split()
    child.wait(timeout=10)
    assert all(confirmed[:3]), "the child died before anchoring"

    with Chain.connect(url=None, state_dir=state_dir, private_key=None) as chain:  # the lock died with it
        chain.attach(address)
        assert all(chain.anchored_at(bytes.fromhex(root)) > 0 for root in confirmed)
        assert chain.block_number() in (1 + len(confirmed), 2 + len(confirmed))  # deploy + each, maybe one unreported
        anchor(chain, os.urandom(32))


def test_a_second_handle_on_the_same_state_is_refused_until_the_first_closes(tmp_path):
    state_dir = tmp_path / "chain"
    first = Chain.connect(url=None, state_dir=state_dir, private_key=None)
    with pytest.raises(ChainStateLocked, match="in use"):
        Chain.connect(url=None, state_dir=state_dir, private_key=None)
    first.close()
    Chain.connect(url=None, state_dir=state_dir, private_key=None).close()


def test_embedded_blocks_carry_the_time_of_the_transaction_not_of_the_previous_block(embedded_chain, monkeypatch):
    embedded_chain.deploy()
    an_hour_later = int(time.time()) + 3600
    monkeypatch.setattr(eth._utils.headers, "eth_now", lambda: an_hour_later)
    root = os.urandom(32)
    anchor(embedded_chain, root)
    assert embedded_chain.anchored_at(root) == an_hour_later


def test_embedded_chain_signs_locally_so_the_hash_is_known_before_sending(embedded_chain):
    embedded_chain.deploy()
    prepared = embedded_chain.prepare_anchor(root=os.urandom(32), leaf_count=1)
    assert prepared.tx_hash is not None and prepared.raw is not None
    assert not embedded_chain.transaction_known(prepared.tx_hash)
    assert embedded_chain.send(prepared) == prepared.tx_hash


# -- JSON-RPC nodes ----------------------------------------------------------------------------------


def test_a_closed_port_is_chain_unavailable_quickly(tmp_path):
    started = time.monotonic()
    with pytest.raises(ChainUnavailable):
        Chain.connect(url=f"http://127.0.0.1:{free_loopback_port()}", state_dir=tmp_path, private_key=None, timeout=2.0)
    assert time.monotonic() - started < 5.0


@pytest.mark.anvil
def test_on_a_node_the_unlocked_account_signs(anvil_url, tmp_path):
    chain = Chain.connect(url=anvil_url, state_dir=tmp_path, private_key=None)
    chain.deploy()
    prepared = chain.prepare_anchor(root=os.urandom(32), leaf_count=1)
    assert (prepared.tx_hash, prepared.raw) == (None, None)
    assert mined(chain, chain.send(prepared))["status"] == 1


@pytest.mark.anvil
def test_on_a_node_a_private_key_signs_and_a_second_adapter_attaches(anvil_url, tmp_path):
    owner = Chain.connect(url=anvil_url, state_dir=tmp_path, private_key=ANVIL_FIRST_DEV_KEY)
    address = owner.deploy()
    root = os.urandom(32)
    prepared = owner.prepare_anchor(root=root, leaf_count=4)
    assert prepared.tx_hash is not None
    assert owner.send(prepared) == prepared.tx_hash

    reader = Chain.connect(url=anvil_url, state_dir=tmp_path, private_key=None)
    reader.attach(address)
    assert reader.anchored_at(root) == owner.anchored_at(root) > 0
