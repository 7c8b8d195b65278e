"""The process container: settings, database engine, chain connection, writer, capture workers,
the anchoring loop, the webhook delivery loop and the caches of one process, opened together and closed together.

Library functions take a session and a chain explicitly; this class only wires them up and decides
which contract to use. The anchoring passes and their loop live in ``service.anchor.loop``.
"""

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from service.access.keys import KeyCache, authenticate
from service.access.rate_limit import RateLimiter
from service.anchor.chain import Chain
from service.anchor.loop import AnchoringLoop
from service.anchor.receipts import anchor_deadline, sign_receipt
from service.db import open_engine, session_scope
from service.errors import ChainError
from service.hashing.company_prefixes import CompanyPrefixLengths
from service.ingest.capture import CapturePool
from service.ingest.capture_jobs import CaptureJobRunner
from service.ingest.group_commit import GroupCommitWriter
from service.ingest.candidates import Submission
from service.ingest.records import keep_receipt, store_submissions
from service.models import ApiKey, Deployment, Receipt
from service.notify.loop import DeliveryLoop
from service.verify.integrity import Derivations
from service.settings import Settings
from service.timeutil import utcnow

if TYPE_CHECKING:
    from service.insights.baskets import MiningCache
    from service.insights.fraud import LoadedModels

log = logging.getLogger(__name__)

CHAIN_CHECK_SECONDS = 5.0
"""How long health trusts its last look at the chain (block number, contract code): load balancers
ask often, and each look is two requests to the node."""
MINING_CACHE_ENTRIES = 64  # mined basket selections kept per process (see service.insights.baskets.MiningCache)


@dataclass(frozen=True)
class ChainStatus:
    """The chain as health saw it: reachable, and our contract's code still at its address."""

    ok: bool
    detail: str
    checked_at: datetime
    chain_id: int | None = None
    block_number: int | None = None
    contract: str | None = None
    contract_present: bool | None = None


class Runtime:
    """Open once per process, on a migrated database (``service.db.migrate``); close at exit (the
    embedded chain holds a lock on its directory)."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()
        self.engine = open_engine(self.settings)
        self._chain: Chain | None = None
        self._chain_lock = threading.Lock()
        self._writer: GroupCommitWriter | None = None
        self._writer_lock = threading.Lock()
        self._chain_status: tuple[float, ChainStatus] | None = None
        self._chain_status_lock = threading.Lock()
        self.anchoring = AnchoringLoop(self.settings, self.engine, chain=lambda: self.chain)
        self.deliveries = DeliveryLoop(self.settings, self.engine)
        self.keys = KeyCache(ttl=self.settings.key_cache_seconds)
        self.capture = CapturePool(self.settings.capture_processes)
        self.capture_jobs = CaptureJobRunner(self.engine, max_events=self.settings.max_events, on_captured=self._job_receipt)
        self.derivations = Derivations()
        self._insights: tuple[MiningCache, LoadedModels] | None = None
        self._insights_lock = threading.Lock()
        self.company_prefixes = (CompanyPrefixLengths.load(self.settings.gcp_length_table) if self.settings.gcp_length_table
                                 else CompanyPrefixLengths())
        self.rate_limits = RateLimiter(rate=self.settings.rate_limit, burst=self.settings.rate_limit_burst)

    @property
    def chain(self) -> Chain:
        """The chain connection, attached to our contract (deployed on first use).

        Connected lazily and once, under a lock: API threads and the anchoring loop share it,
        and a chain that is down at start-up must not stop the service from accepting records.
        """
        with self._chain_lock:
            if self._chain is None:
                chain = Chain.connect(
                    url=self.settings.chain_url,
                    state_dir=self.settings.chain_state_path,
                    private_key=self.settings.private_key,
                )
                try:
                    with self.session() as session:
                        _attach_contract(session, chain, configured=self.settings.contract_address)
                except BaseException:
                    chain.close()
                    raise
                self._chain = chain
            return self._chain

    def connect(self) -> Chain:
        """Connect to the chain (deploying the contract if needed) now rather than on first use."""
        return self.chain

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A database session committed on success."""
        with session_scope(self.engine) as session:
            yield session

    @property
    def writer(self) -> GroupCommitWriter:
        """The group-commit writer of this process (its threads start on first use); suppliers take
        turns in it, and on PostgreSQL documents over its row bound have a writer thread of their own."""
        with self._writer_lock:
            if self._writer is None:
                self._writer = GroupCommitWriter(
                    self.engine, store=store_submissions, key=_submitter, weight=_rows,
                    bulk_lane=self.engine.dialect.name == "postgresql",
                )
            return self._writer

    @property
    def mining(self) -> "MiningCache":
        """The basket mining results of this process."""
        return self._insight_state()[0]

    @property
    def fraud_models(self) -> "LoadedModels":
        """The fraud model this process last loaded."""
        return self._insight_state()[1]

    def _insight_state(self) -> "tuple[MiningCache, LoadedModels]":
        """Made on first use: the analytics behind them load pandas and scikit-learn, seconds that
        the CLI's anchor and audit commands need not spend."""
        with self._insights_lock:
            if self._insights is None:
                from service.insights.baskets import MiningCache
                from service.insights.fraud import LoadedModels

                self._insights = (MiningCache(max_entries=MINING_CACHE_ENTRIES), LoadedModels())
            return self._insights

    def authenticate(self, token: str) -> ApiKey | None:
        """The live API key for ``token``, from the key cache or else the database."""
        key = self.keys.get(token)
        if key is None:
            with self.session() as session:
                key = authenticate(session, token=token)
            if key is not None:
                self.keys.put(token, key)
        return key

    def with_receipt(self, submission: Submission) -> Submission:
        """``submission`` with the operator's signed receipt, which the writer keeps with its records
        (so it costs no transaction of its own); unchanged while the chain is unreachable or its
        contract gone (health's cached view, so a node that is down costs capture one look every few
        seconds, not one per submission), or when the account cannot sign typed data: the records
        are stored all the same, without a receipt. A submission of no records has none: a receipt
        covers one record at least (its root is that of a Merkle tree)."""
        if not submission.candidates:
            return submission
        receipt = self._sign_receipt(submission.party, [candidate.derived.content_hash for candidate in submission.candidates])
        return submission if receipt is None else replace(submission, receipt=receipt)

    def _job_receipt(self, session: Session, party: str, capture_id: str, captured: list[tuple[int, str]]) -> None:
        """A capture job's receipt for the events it stored, committed with them (shown with the job).
        Only on a chain already connected (the API connects at start): connecting would open a
        session of its own while the job's holds the database's write lock (SQLite)."""
        with self._chain_lock:
            if self._chain is None:
                log.warning("capture job %s: no receipt, the chain is not connected", capture_id)
                return
        receipt = self._sign_receipt(party, [content for _, content in captured], capture_id=capture_id)
        if receipt is not None:
            keep_receipt(session, receipt, record_ids=[record_id for record_id, _ in captured])

    def _sign_receipt(self, party: str, content_hashes: list[str], *, capture_id: str | None = None) -> Receipt | None:
        if not self.chain_status().ok:
            return None
        received_at = int(time.time())
        anchor_by = anchor_deadline(received_at, batch_age=self.settings.batch_age, margin=self.settings.receipt_margin)
        try:
            return sign_receipt(self.chain, party=party, content_hashes=content_hashes, received_at=received_at,
                                anchor_by=anchor_by, capture_id=capture_id)
        except ChainError as error:
            log.warning("no receipt for a submission of %s: %s", party, error.message)
            return None

    def chain_status(self) -> ChainStatus:
        """Whether the chain answers and our contract is still there, looked at most every few seconds."""
        with self._chain_status_lock:
            if self._chain_status is None or time.monotonic() >= self._chain_status[0]:
                self._chain_status = (time.monotonic() + CHAIN_CHECK_SECONDS, self._check_chain())
            return self._chain_status[1]

    def _check_chain(self) -> ChainStatus:
        detail = self.settings.chain_url or "embedded"
        try:
            chain = self.chain
            block_number = chain.block_number()
            present = chain.contract_present()
        except Exception as error:  # health must report, not fail
            detail = error.message if isinstance(error, ChainError) else f"{type(error).__name__}: {error}"
            return ChainStatus(ok=False, detail=detail, checked_at=utcnow())
        if not present:
            detail = (
                f"the TraceAnchor contract {chain.address} is no longer on chain {chain.chain_id} at {detail} "
                "(did the node lose its state?): nothing can be anchored or verified until it is back"
            )
        return ChainStatus(
            ok=present, detail=detail, checked_at=utcnow(), chain_id=chain.chain_id,
            block_number=block_number, contract=chain.address, contract_present=present,
        )

    def close(self) -> None:
        """Stop the capture workers and jobs, finish queued writes, release the chain (and its lock) and the connection pool."""
        self.capture.stop()
        self.capture_jobs.stop()
        with self._writer_lock:
            if self._writer is not None:
                self._writer.close()
                self._writer = None
        with self._chain_lock:
            if self._chain is not None:
                self._chain.close()
                self._chain = None
        self.engine.dispose()


def _submitter(submission: Submission) -> str:
    """Whose turn a submission waits for in the group-commit writer."""
    return submission.party


def _rows(submission: Submission) -> int:
    return len(submission.candidates)


def _attach_contract(session: Session, chain: Chain, *, configured: str | None) -> None:
    """Use the configured contract, else the one this database recorded for the chain, else deploy one."""
    recorded = session.get(Deployment, chain.chain_id)
    address = configured or (recorded.address if recorded else None)
    if address is not None:
        chain.attach(address)
    else:
        address = chain.deploy()
        log.info("deployed TraceAnchor at %s on chain %s", address, chain.chain_id)
    if recorded is None:
        session.add(Deployment(chain_id=chain.chain_id, address=address))
        try:
            session.commit()
        except IntegrityError:  # another worker recorded its deployment first: use that one
            session.rollback()
            chain.attach(session.get(Deployment, chain.chain_id).address)
