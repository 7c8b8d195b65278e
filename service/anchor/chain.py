"""One adapter over web3.py for the TraceAnchor contract, on the embedded chain or any JSON-RPC node.

Every failure leaves this module as :class:`~service.errors.ChainUnavailable` (the node cannot be
reached: retry later) or :class:`~service.errors.ChainError` (it answered, but not as hoped); a
revert by the contract is a :class:`ContractReverted` naming the custom error and its arguments,
a refused nonce a :class:`NonceConflict`.

Nonces are managed here and only here: every transaction is built, signed and sent under one lock,
with the next nonce tracked locally and taken again from the node's pending count whenever the
node may know better (a refused nonce, a failed send, a transaction it forgot, a reverted chain).
"""

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import eth_tester.exceptions
import eth_utils
import requests
from eth_abi import decode as abi_decode
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import HTTPProvider, Web3
from web3.exceptions import ContractLogicError, TransactionNotFound, Web3Exception
from web3.providers.rpc.utils import ExceptionRetryConfiguration

from service.anchor.compiler import load_artifact
from service.anchor.embedded_chain import EmbeddedNode
from service.anchor.releases import load_releases, release_of
from service.errors import ChainError, ChainUnavailable

RECEIPT_TIMEOUT = 120.0  # seconds to wait for deploy/role transactions: a few blocks on any chain
#: Head room on the measured gas of ``anchor``. Every call writes one new storage slot and emits one
#: event, so its gas varies only with the calldata's zero bytes (a few hundred gas at most).
ANCHOR_GAS_MARGIN = 1.25
#: Seconds between scheduling a transfer of the admin role and its acceptance, on new deployments:
#: two days for the admin to notice a transfer started with a stolen key, and cancel it.
ADMIN_TRANSFER_DELAY = 2 * 24 * 3600
_UNAVAILABLE = (requests.ConnectionError, requests.Timeout, ConnectionError, TimeoutError)
_FAILED = (
    Web3Exception,
    requests.RequestException,
    ValueError,  # eth-utils/eth-account validation, malformed addresses
    eth_tester.exceptions.ValidationError,
    eth_tester.exceptions.TransactionFailed,
    eth_utils.ValidationError,  # py-evm's refusals on the embedded chain (a stale nonce, too little gas)
)
#: How nodes word a refused nonce: anvil and geth "nonce too low/high", geth "replacement transaction
#: underpriced" (our nonce is taken by a pending transaction), py-evm "Invalid transaction nonce".
_NONCE_REFUSALS = ("nonce", "replacement transaction underpriced")


class ContractReverted(ChainError):
    """The contract reverted with one of its custom errors (or OpenZeppelin's)."""

    def __init__(self, *, error_name: str, error_args: dict[str, Any]) -> None:
        rendered = ", ".join(f"{name}={_render(value)}" for name, value in error_args.items())
        super().__init__(f"contract reverted: {error_name}({rendered})")
        self.error_name = error_name
        self.error_args = error_args


class NonceConflict(ChainError):
    """The node refused a transaction's nonce (another transaction of our account took it).

    Nothing was sent; the adapter has taken the nonce from the node again, so a retry goes through.
    """


@dataclass(frozen=True)
class PreparedTx:
    """A transaction ready to broadcast; ``tx_hash``/``raw`` are None when the node signs it."""

    tx_hash: bytes | None
    raw: bytes | None
    tx: dict[str, Any] = field(repr=False)


def decode_custom_error(data: str | bytes) -> ContractReverted | None:
    """The custom error encoded in revert ``data``, if the TraceAnchor ABI declares it."""
    payload = eth_utils.to_bytes(hexstr=data) if isinstance(data, str) else data
    for entry in load_artifact()["abi"]:
        if entry["type"] != "error":
            continue
        types = [item["type"] for item in entry["inputs"]]
        selector = eth_utils.function_signature_to_4byte_selector(f"{entry['name']}({','.join(types)})")
        if payload[:4] == selector:
            values = [
                eth_utils.to_checksum_address(value) if kind == "address" else value
                for kind, value in zip(types, abi_decode(types, payload[4:]), strict=True)
            ]
            return ContractReverted(
                error_name=entry["name"],
                error_args={item["name"]: value for item, value in zip(entry["inputs"], values, strict=True)},
            )
    return None


def _render(value: Any) -> str:
    return "0x" + value.hex() if isinstance(value, bytes) else str(value)


@contextmanager
def _translated_errors(action: str) -> Iterator[None]:
    """Re-raise library exceptions as the domain's chain errors."""
    try:
        yield
    except _UNAVAILABLE as error:
        raise ChainUnavailable(f"{action}: chain node unreachable ({error.__class__.__name__})") from error
    except ContractLogicError as error:
        decoded = decode_custom_error(error.data) if isinstance(error.data, str) else None
        raise (decoded or ChainError(f"{action}: {error.message}")) from error
    except _FAILED as error:
        raise ChainError(f"{action}: {error}") from error


class Chain:
    """TraceAnchor on one chain, sending as one account (see :meth:`connect`)."""

    def __init__(self, *, w3: Web3, sender: str, signer: LocalAccount | None, node: EmbeddedNode | None) -> None:
        self.w3 = w3
        self.sender = sender
        self._signer = signer
        self._node = node
        self._artifact = load_artifact()
        self._releases = load_releases()
        self._contract = None
        self._readers: dict[str, Any] = {}  # web3 contracts by checksummed address, code checked once
        self._anchor_gas: int | None = None
        self._tx_lock = threading.RLock()
        self._next_nonce: int | None = None  # None: ask the node (its pending count) before the next transaction
        self.address: str | None = None
        with _translated_errors("reading the chain id"):
            self.chain_id: int = w3.eth.chain_id

    @classmethod
    def connect(cls, *, url: str | None, state_dir: Path, private_key: str | None, timeout: float = 10.0) -> "Chain":
        """Open the embedded chain in ``state_dir`` (``url`` None) or reach the node at ``url``.

        Signing: ``private_key`` if given (on the embedded chain, only its funded development keys
        can pay for gas); else the embedded chain's first funded key, or on a node its first
        unlocked account (``eth_accounts[0]``, which the node signs for).
        ``timeout`` bounds each request to a node, in seconds.
        """
        if url is None:
            node = EmbeddedNode(state_dir)
            try:
                with _translated_errors("loading TRACEANCHOR_PRIVATE_KEY"):
                    signer = Account.from_key(private_key or node.account_keys[0].to_bytes())
                return cls(w3=Web3(node.provider), sender=signer.address, signer=signer, node=node)
            except BaseException:
                node.close()
                raise
        retries = ExceptionRetryConfiguration(errors=_UNAVAILABLE, retries=3, backoff_factor=0.1)
        w3 = Web3(HTTPProvider(url, request_kwargs={"timeout": timeout}, exception_retry_configuration=retries))
        if private_key is not None:
            with _translated_errors("loading TRACEANCHOR_PRIVATE_KEY"):
                signer = Account.from_key(private_key)
            return cls(w3=w3, sender=signer.address, signer=signer, node=None)
        with _translated_errors(f"listing the accounts of {url}"):
            accounts = w3.eth.accounts
        if not accounts:
            raise ChainError(f"{url} has no unlocked account: set TRACEANCHOR_PRIVATE_KEY")
        return cls(w3=w3, sender=accounts[0], signer=None, node=None)

    @property
    def embedded(self) -> bool:
        """True on the in-process chain, where nothing mines blocks unless we do."""
        return self._node is not None

    def close(self) -> None:
        """Release the embedded chain (its lock and database); a no-op for a node."""
        if self._node is not None:
            self._node.close()
            self._node = None

    def __enter__(self) -> "Chain":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- contract ---------------------------------------------------------------------------------

    def deploy(self, *, admin_delay: int = ADMIN_TRANSFER_DELAY) -> str:
        """Deploy TraceAnchor with the sender as admin and anchorer (an admin transfer takes
        ``admin_delay`` seconds); attach to it and return its address."""
        factory = self.w3.eth.contract(abi=self._artifact["abi"], bytecode=self._artifact["bytecode"])
        constructor = factory.constructor(admin_delay, self.sender)
        receipt = self._transact(constructor.build_transaction, action="deploying TraceAnchor")
        self.attach(receipt["contractAddress"])
        return self.address

    def attach(self, address: str) -> None:
        """Use the TraceAnchor at ``address``; ChainError unless the code there is a known release
        (contracts/releases.json), so a new build does not strand an older deployment."""
        self._contract = self._reader(address)
        self.address = self._contract.address

    def _reader(self, address: str):
        """The web3 contract at ``address``, once its code was found to be a TraceAnchor release (cached
        per address: a deployment's code never changes while it is there). Every release's functions
        and events are the current ABI's too (tests/test_compiler.py), so it reads them all."""
        with _translated_errors(f"reading the code at {address}"):
            checksummed = Web3.to_checksum_address(address)
        if checksummed not in self._readers:
            with _translated_errors(f"reading the code at {checksummed}"):
                code = self.w3.eth.get_code(checksummed)
            if release_of(code, self._releases) is None:
                found = "no code" if not code else f"{len(code)} bytes of code of no TraceAnchor release"
                raise ChainError(f"{checksummed} on chain {self.chain_id} is not a TraceAnchor ({found})")
            self._readers[checksummed] = self.w3.eth.contract(address=checksummed, abi=self._artifact["abi"])
        return self._readers[checksummed]

    def contract_present(self) -> bool:
        """Whether the attached contract's code is still at its address (a node restarted without its
        state has none): without it nothing can be anchored or verified."""
        with _translated_errors(f"reading the code at {self.contract.address}"):
            return release_of(self.w3.eth.get_code(self.contract.address), self._releases) is not None

    @property
    def contract(self):
        """The attached web3 contract; ChainError before :meth:`deploy` or :meth:`attach`."""
        if self._contract is None:
            raise ChainError("no TraceAnchor attached: deploy() or attach() first")
        return self._contract

    def anchored_at(self, root: bytes, *, contract: str | None = None) -> int:
        """Block timestamp at which ``root`` was anchored, 0 if never: by the attached contract, or by
        the TraceAnchor at ``contract`` on this chain (the one that anchored an older batch)."""
        reader = self.contract if contract is None else self._reader(contract)
        with _translated_errors("reading anchoredAt"):
            return reader.functions.anchoredAt(root).call({"from": self.sender})

    def verify_inclusion(self, *, root: bytes, leaf: bytes, proof: list[bytes]) -> bool:
        """The contract's own verdict (an eth_call) on a Merkle proof of ``leaf`` under ``root``."""
        with _translated_errors("calling verifyInclusion"):
            return self.contract.functions.verifyInclusion(root, leaf, proof).call({"from": self.sender})

    def prepare_anchor(self, *, root: bytes, leaf_count: int) -> PreparedTx:
        """Build (and sign, when we hold the key) ``anchor(root, leafCount)`` without sending it.

        The hash is known before broadcasting so the caller can record it first: after a crash it
        looks for exactly that transaction. The call is simulated first (one ``eth_call``), so a
        revert raises now with its decoded custom error. Gas is estimated once per connection and
        reused with a margin: estimation is a binary search of a dozen executions, and on the
        embedded chain it cost half of each anchoring pass.
        """
        function = self.contract.functions.anchor(root, leaf_count)
        with self._tx_lock, self._nonce_checked("preparing anchor"):
            function.call({"from": self.sender})
            if self._anchor_gas is None:
                self._anchor_gas = int(function.estimate_gas({"from": self.sender}) * ANCHOR_GAS_MARGIN)
            tx = function.build_transaction({**self._defaults(), "gas": self._anchor_gas})
            return self._prepared(tx)

    @contextmanager
    def sending(self) -> Iterator[None]:
        """Hold the transaction lock from :meth:`prepare_anchor` to :meth:`send`, so that no other
        transaction of this adapter takes the prepared one's nonce in between."""
        with self._tx_lock:
            yield

    def send(self, prepared: PreparedTx) -> bytes:
        """Broadcast a prepared transaction; returns its hash. NonceConflict if the node refused its
        nonce (then nothing was sent, and the next transaction asks the node for its nonce)."""
        with self._tx_lock, self._nonce_checked("sending a transaction"):
            if prepared.raw is not None:
                tx_hash = bytes(self.w3.eth.send_raw_transaction(prepared.raw))
            else:
                tx_hash = bytes(self.w3.eth.send_transaction(prepared.tx))
            if "nonce" in prepared.tx:
                self._next_nonce = prepared.tx["nonce"] + 1
            return tx_hash

    def resync_nonce(self) -> None:
        """Take the next nonce from the node again: it lost a transaction of ours (dropped from its
        pool, or its block reorganised away), so the locally tracked one may leave a gap."""
        with self._tx_lock:
            self._next_nonce = None

    def grant_anchorer(self, account: str) -> None:
        """Let ``account`` anchor (the sender must be an admin)."""
        self._set_anchorer(account, grant=True)

    def revoke_anchorer(self, account: str) -> None:
        """Stop ``account`` from anchoring (the sender must be an admin)."""
        self._set_anchorer(account, grant=False)

    def anchorers(self) -> list[str]:
        """The accounts that may anchor now, in the order they were first granted the role: those the
        role's RoleGranted events name and that still hold it. The events are read from block 0,
        which a public node may refuse on a long chain (it caps the range of a log query)."""
        with _translated_errors("listing the anchorers"):
            role = self.contract.functions.ANCHORER_ROLE().call()
            granted = self.contract.events.RoleGranted.get_logs(argument_filters={"role": role}, from_block=0)
            accounts = dict.fromkeys(log["args"]["account"] for log in granted)
            return [account for account in accounts if self.contract.functions.hasRole(role, account).call()]

    def find_anchor(self, root: bytes) -> tuple[bytes, int] | None:
        """(transaction hash, block number) of the Anchored event for ``root``, None if there is none.

        The contract stores when a root was anchored (the block timestamp), so the blocks with that
        timestamp are found by bisection over block headers (timestamps never decrease), and only
        they are searched for the event: a few dozen header reads on a long chain, where a log
        query from block 0 is slow or refused by public nodes (they cap the block range).
        """
        anchored_at = self.anchored_at(root)
        if anchored_at == 0:
            return None
        with _translated_errors("searching Anchored events"):
            head = self.w3.eth.block_number
            first = self._first_block_after(anchored_at - 1, head=head)
            last = self._first_block_after(anchored_at, head=head) - 1
            logs = self.contract.events.Anchored.get_logs(argument_filters={"root": root}, from_block=first, to_block=last)
        if not logs:
            return None
        found = logs[-1]
        return bytes(found["transactionHash"]), found["blockNumber"]

    def _first_block_after(self, timestamp: int, *, head: int) -> int:
        """The lowest block number whose timestamp exceeds ``timestamp`` (``head + 1`` if none)."""
        low, high = 0, head + 1
        while low < high:
            middle = (low + high) // 2
            if self.w3.eth.get_block(middle)["timestamp"] > timestamp:
                high = middle
            else:
                low = middle + 1
        return low

    # -- signatures -------------------------------------------------------------------------------

    def sign_typed_data(self, full_message: dict[str, Any], *, digest: bytes | None = None) -> bytes:
        """The sender's EIP-712 signature of ``full_message`` (a complete typed-data dict): with the
        key we hold, or else by the node that holds the unlocked account (``eth_signTypedData_v4``,
        which anvil and geth answer; a node that does not is a ChainError). ``digest``: the message's
        EIP-712 hash, when the caller computes it faster than the generic encoder."""
        if self._signer is not None:
            with _translated_errors("signing typed data"):
                if digest is not None:
                    return bytes(self._signer.unsafe_sign_hash(digest).signature)
                return bytes(self._signer.sign_typed_data(full_message=full_message).signature)
        with _translated_errors("signing typed data with the node's account"):
            signature = self.w3.manager.request_blocking("eth_signTypedData_v4", [self.sender, json.dumps(full_message)])
        return eth_utils.to_bytes(hexstr=signature) if isinstance(signature, str) else bytes(signature)

    # -- transactions and blocks ------------------------------------------------------------------

    def transaction_known(self, tx_hash: bytes) -> bool:
        """Whether the node knows the transaction (pending or mined)."""
        with _translated_errors("looking up a transaction"):
            try:
                self.w3.eth.get_transaction(tx_hash)
            except TransactionNotFound:
                return False
        return True

    def receipt(self, tx_hash: bytes) -> dict[str, Any] | None:
        """The receipt (status, blockNumber, gasUsed, logs, ...) or None while not mined."""
        with _translated_errors("reading a receipt"):
            try:
                return dict(self.w3.eth.get_transaction_receipt(tx_hash))
            except TransactionNotFound:
                return None

    def block_number(self) -> int:
        """Number of the latest block."""
        with _translated_errors("reading the block number"):
            return self.w3.eth.block_number

    def snapshot(self) -> object:
        """Mark the chain state to come back to with :meth:`revert` (eth-tester and anvil)."""
        with _translated_errors("taking a snapshot"):
            return self.w3.manager.request_blocking("evm_snapshot", [])

    def revert(self, snapshot_id: object) -> None:
        """Return to a :meth:`snapshot`, forgetting every block since."""
        with _translated_errors("reverting to a snapshot"):
            reverted = self.w3.manager.request_blocking("evm_revert", [snapshot_id])
        self.resync_nonce()
        if reverted is False:
            raise ChainError(f"the node refused to revert to snapshot {snapshot_id!r}")

    def mine(self, blocks: int = 1) -> None:
        """Mine ``blocks`` empty blocks (confirmations in tests and development)."""
        with _translated_errors("mining"):
            for _ in range(blocks):
                self.w3.manager.request_blocking("evm_mine", [])

    # -- internals --------------------------------------------------------------------------------

    @contextmanager
    def _nonce_checked(self, action: str) -> Iterator[None]:
        """Translate errors as everywhere, and look after the nonce: when building or sending fails,
        the next transaction asks the node for its nonce, and a refused nonce is a NonceConflict."""
        try:
            with _translated_errors(action):
                yield
        except ContractReverted:
            raise
        except ChainError as error:
            self._next_nonce = None
            if not isinstance(error, ChainUnavailable) and any(word in error.message.lower() for word in _NONCE_REFUSALS):
                raise NonceConflict(f"{error.message} (nonce taken again from the node; retry)") from error
            raise

    def _defaults(self) -> dict[str, Any]:
        """Sender and nonce of the next transaction (call under the transaction lock)."""
        if self._next_nonce is None:
            self._next_nonce = self.w3.eth.get_transaction_count(self.sender, "pending")
        return {"from": self.sender, "nonce": self._next_nonce}

    def _set_anchorer(self, account: str, *, grant: bool) -> None:
        action = f"{'granting' if grant else 'revoking'} the anchorer role of {account}"
        with _translated_errors(action):
            role = self.contract.functions.ANCHORER_ROLE().call()
            function = self.contract.functions.grantRole if grant else self.contract.functions.revokeRole
        self._transact(function(role, Web3.to_checksum_address(account)).build_transaction, action=action)

    def _transact(self, build: Callable[[dict[str, Any]], dict[str, Any]], *, action: str) -> dict[str, Any]:
        """Build the transaction (``build`` gets sender and nonce), send it and wait for its receipt;
        ChainError if it reverted. A refused nonce is retried once, with the node's nonce."""
        for attempt in range(2):
            with self._tx_lock:
                try:
                    with self._nonce_checked(action):
                        tx = build(self._defaults())
                    tx_hash = self.send(self._prepared(tx))
                    break
                except NonceConflict:
                    if attempt:
                        raise
        with _translated_errors(action):
            receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=RECEIPT_TIMEOUT, poll_latency=0.1)
        if receipt["status"] != 1:
            raise ChainError(f"{action}: transaction 0x{tx_hash.hex()} reverted")
        return dict(receipt)

    def _prepared(self, tx: dict[str, Any]) -> PreparedTx:
        """Wrap a built transaction, signing it when we hold the key."""
        if self._signer is None:
            return PreparedTx(tx_hash=None, raw=None, tx=tx)
        with _translated_errors("signing a transaction"):
            signed = self._signer.sign_transaction(tx)
        return PreparedTx(tx_hash=bytes(signed.hash), raw=bytes(signed.raw_transaction), tx=tx)
