"""An in-process Ethereum chain (eth-tester + py-evm) whose state survives restarts.

eth-tester keeps py-evm's key/value database in memory. Here the same chain runs on
:class:`JournalledSQLiteDB`: writes collect in memory and reach a SQLite file in ONE transaction
after each mined block (or snapshot revert), so the file always holds the chain as of a whole block,
whenever the process is killed; a block lost that way never happened, as on a real node that crashed
before gossiping it. Only one process may open a state directory: a ``flock`` on ``LOCK`` guards it
(the kernel drops it when the process dies, so no stale lock survives a crash).

Accounts are eth-tester's ten well-known development keys, funded at genesis: this chain is a
local stand-in for a node, never a place for value.
"""

import ast
import fcntl
import os
import sqlite3
import threading
from pathlib import Path
from typing import Any

from eth.abc import BlockHeaderAPI
from eth.chains.base import MiningChain
from eth.db.atomic import AtomicDB
from eth.db.backends.base import BaseDB
from eth.db.chain import ChainDB
from eth.exceptions import CanonicalHeadNotFound
from eth.vm.forks import PragueVM
from eth._utils.headers import new_timestamp_from_parent
from eth_tester import EthereumTester
from eth_tester.exceptions import TransactionFailed
from eth_tester.backends.pyevm.main import (
    PyEVMBackend,
    generate_genesis_state_for_keys,
    get_default_account_keys,
    get_default_genesis_params,
)
from toolz import assoc
from web3.providers.eth_tester import EthereumTesterProvider

from service.errors import ChainError

# The chain id web3's EthereumTesterProvider reports for eth_chainId; signatures must match it.
TESTER_CHAIN_ID = 131277322940537
DATABASE_FILE = "chain.sqlite"
LOCK_FILE = "LOCK"


class ChainStateLocked(ChainError):
    """Another process (or another open handle) is using this embedded chain state."""

    status_code = 409


class JournalledSQLiteDB(BaseDB):
    """py-evm key/value store on SQLite whose writes become durable only at :meth:`commit`."""

    def __init__(self, path: Path) -> None:
        # check_same_thread=False: the provider serialises every request under one lock.
        self._connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._connection.execute("PRAGMA journal_mode=WAL")
        self._connection.execute("PRAGMA synchronous=FULL")
        self._connection.execute("CREATE TABLE IF NOT EXISTS kv (key BLOB PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID")
        self._journal: dict[bytes, bytes | None] = {}  # None marks a deletion

    def __getitem__(self, key: bytes) -> bytes:
        if key in self._journal:
            value = self._journal[key]
        else:
            row = self._connection.execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
            value = None if row is None else row[0]
        if value is None:
            raise KeyError(key)
        return value

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self._journal[key] = value

    def __delitem__(self, key: bytes) -> None:
        if not self._exists(key):
            raise KeyError(key)
        self._journal[key] = None

    def _exists(self, key: bytes) -> bool:
        try:
            self[key]
        except KeyError:
            return False
        return True

    def commit(self) -> None:
        """Write every change since the last commit in one SQLite transaction."""
        if not self._journal:
            return
        upserts = [(key, value) for key, value in self._journal.items() if value is not None]
        deletions = [(key,) for key, value in self._journal.items() if value is None]
        with self._connection:
            self._connection.execute("BEGIN IMMEDIATE")
            self._connection.executemany("INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)", upserts)
            self._connection.executemany("DELETE FROM kv WHERE key = ?", deletions)
        self._journal.clear()

    def close(self) -> None:
        """Drop uncommitted changes (they belong to no mined block) and close the file."""
        self._journal.clear()
        self._connection.close()


class PersistentTesterChain(MiningChain):
    """eth-tester's post-merge chain (same fork, chain id and constant gas limit) on any database."""

    chain_id = TESTER_CHAIN_ID
    vm_configuration = ((0, PragueVM),)

    def create_header_from_parent(self, parent_header: BlockHeaderAPI, **header_params: Any) -> BlockHeaderAPI:
        return super().create_header_from_parent(parent_header, **assoc(header_params, "gas_limit", parent_header.gas_limit))

    def get_transaction_builder(self):
        return super().get_vm().get_transaction_builder()


class PersistentPyEVMBackend(PyEVMBackend):
    """PyEVMBackend over a :class:`JournalledSQLiteDB`, committing after every state change.

    Also keeps block timestamps honest: eth-tester stamps the pending block when the previous one is
    mined, so after an idle hour the next anchor would carry an hour-old timestamp. Before a
    transaction enters an empty pending block, its timestamp moves forward to now.

    ``__init__`` does not call the parent's, which would build a throwaway in-memory chain: it
    opens the chain already in ``database``, or writes a genesis (eth-tester's) into it.
    """

    def __init__(self, database: JournalledSQLiteDB) -> None:
        self.database = database
        self.account_keys = get_default_account_keys()
        atomic_db = AtomicDB(database)
        try:
            ChainDB(atomic_db).get_canonical_head()
        except CanonicalHeadNotFound:
            genesis_state = dict(generate_genesis_state_for_keys(self.account_keys))
            self.chain = PersistentTesterChain.from_genesis(atomic_db, get_default_genesis_params(), genesis_state)
            database.commit()
        else:
            self.chain = PersistentTesterChain(atomic_db)

    def reset_to_genesis(self, *args: Any, **kwargs: Any) -> None:
        raise ChainError("the embedded chain keeps its history; delete its state directory to start over")

    def _refresh_pending_timestamp(self) -> None:
        if self.chain.get_block().transactions:
            return
        now = new_timestamp_from_parent(self.chain.get_canonical_head())
        if now > self.chain.header.timestamp:
            self.chain.set_header_timestamp(now)

    def send_raw_transaction(self, raw_transaction):
        self._refresh_pending_timestamp()
        return super().send_raw_transaction(raw_transaction)

    def send_signed_transaction(self, signed_transaction, block_number="latest"):
        self._refresh_pending_timestamp()
        return super().send_signed_transaction(signed_transaction, block_number)

    def send_transaction(self, transaction):
        self._refresh_pending_timestamp()
        return super().send_transaction(transaction)

    def mine_blocks(self, num_blocks=1, coinbase=b"\x00" * 20):
        block_hashes = []
        for _ in range(num_blocks):
            self._refresh_pending_timestamp()
            block_hashes.extend(super().mine_blocks(1, coinbase))
            self.database.commit()
        return tuple(block_hashes)

    def revert_to_snapshot(self, snapshot):
        super().revert_to_snapshot(snapshot)
        self.database.commit()


class SerialisedEthereumTesterProvider(EthereumTesterProvider):
    """web3's eth-tester provider made to behave like a node where it matters to us.

    Requests are serialised (py-evm is not thread-safe; the API's worker threads and the anchoring
    loop share one chain), and a revert is answered as a node does, with the revert data in a
    JSON-RPC error, so web3 raises the same ContractCustomError as with anvil; web3's provider
    would otherwise turn the data into the text of a TransactionFailed.
    """

    def __init__(self, ethereum_tester: EthereumTester) -> None:
        super().__init__(ethereum_tester)
        self.request_lock = threading.RLock()

    def make_request(self, method, params):
        with self.request_lock:
            try:
                return super().make_request(method, params)
            except TransactionFailed as error:
                revert_data = _revert_data(error)
                if revert_data is None:
                    raise
                message = "execution reverted"
                return {"jsonrpc": "2.0", "id": None, "error": {"code": 3, "message": message, "data": "0x" + revert_data.hex()}}


def _revert_data(error: TransactionFailed) -> bytes | None:
    """The revert data that web3's provider formatted into text, recovered from eth-tester's error.

    eth-tester reports it as bytes (gas estimation), as an exception holding them, or, for
    ``eth_call``, as the ``repr`` of those bytes; a decoded ``Error(string)`` reason is not data.
    """
    original = error.__context__
    if not isinstance(original, TransactionFailed) or not original.args:
        return None
    data = original.args[0]
    if isinstance(data, Exception) and data.args:
        data = data.args[0]
    if isinstance(data, str) and data.startswith(("b'", 'b"')):
        data = ast.literal_eval(data)
    return data if isinstance(data, bytes) else None


class EmbeddedNode:
    """A persistent embedded chain opened from ``state_dir``; :meth:`close` releases it."""

    def __init__(self, state_dir: Path) -> None:
        state_dir.mkdir(parents=True, exist_ok=True)
        self._lock_fd = _acquire_lock(state_dir / LOCK_FILE)
        try:
            self._database = JournalledSQLiteDB(state_dir / DATABASE_FILE)
        except BaseException:
            os.close(self._lock_fd)
            raise
        try:
            self.backend = PersistentPyEVMBackend(self._database)
        except BaseException:
            self._database.close()
            os.close(self._lock_fd)
            raise
        self.provider = SerialisedEthereumTesterProvider(EthereumTester(backend=self.backend, auto_mine_transactions=True))

    @property
    def account_keys(self):
        """The funded development keys, first one first."""
        return self.backend.account_keys

    def close(self) -> None:
        """Close the database and release the lock (waiting for a request in flight)."""
        with self.provider.request_lock:
            self._database.close()
            os.close(self._lock_fd)


def _acquire_lock(path: Path) -> int:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise ChainStateLocked(
            f"the embedded chain in {path.parent} is in use by another process; "
            "stop it or point TRACEANCHOR_DATA_DIR elsewhere"
        ) from None
    return fd
